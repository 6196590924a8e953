"""SQLite (the embedded database) under parallel writers: no upload fails as 'locked'."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from award_cycle import ensure_open_cycle
from samples import blank_pdf

from dossier.localstack import AppStack, BackingServers, Proc, web_argv, worker_argv
from shared.auth import issue_token

pytestmark = pytest.mark.stack

PARALLEL = 30


@pytest.fixture
def sqlite_stack(backing: BackingServers, workdir: Path) -> Iterator[AppStack]:
    apps = AppStack(backing, workdir / "sqlite-contention", database="sqlite", redis_db=11,
                    with_proxy=False)
    try:
        apps.start(("intake", "documents"))
        # As the embedded run deploys intake (dossier/embedded.py): two web processes of eight
        # threads and a worker of two, all writing the one SQLite file.
        apps.procs.pop("intake-web").stop()
        apps.procs["intake-web"] = Proc(
            "intake-web", web_argv("intake", apps.ports["intake"], workers=2),
            apps.root / "logs" / "intake-web.log", env=apps.env()).start()
        apps.procs.pop("intake-worker").stop()
        apps.procs["intake-worker"] = Proc(
            "intake-worker", worker_argv("intake", concurrency=2),
            apps.root / "logs" / "intake-worker.log", env=apps.env()).start()
        apps.wait_web("intake")
        apps.wait_worker("intake")
        ensure_open_cycle(apps.url("intake"), apps.secret_key)
        yield apps
    finally:
        apps.stop()


def test_thirty_parallel_uploads_on_sqlite_all_succeed(sqlite_stack: AppStack) -> None:
    stack = sqlite_stack
    intake = stack.url("intake")
    people = [{"Authorization": "Bearer " + issue_token(
        stack.secret_key, subject=f"applicant-par-{i}", role="applicant", ttl_seconds=3600)}
        for i in range(PARALLEL)]
    apps = []
    for me in people:
        r = requests.post(f"{intake}/api/applications", headers=me, timeout=60, json={
            "cycle": "2025", "kind": "organisation", "name": "并发测试有限公司"})
        assert r.status_code == 201, r.text
        apps.append(r.json()["id"])
    pdf = blank_pdf(2)

    def upload(i: int) -> requests.Response:
        return requests.post(f"{intake}/api/applications/{apps[i]}/documents", headers=people[i],
                             data={"requirement": "overview"}, timeout=120,
                             files={"file": (f"概述-{i}.pdf", pdf, "application/pdf")})

    def resumable(i: int) -> requests.Response:
        # The browser's way: start (audited), one part (audited), complete (audited).
        base = f"{intake}/api/applications/{apps[i]}/uploads"
        r = requests.post(base, headers=people[i], timeout=120, json={
            "filename": f"证据-{i}.pdf", "size": len(pdf), "requirement": "evidence",
            "declared_type": "application/pdf"})
        if r.status_code != 201:
            return r
        upload_id = r.json()["id"]
        r = requests.put(f"{base}/{upload_id}/parts/1", data=pdf, timeout=120,
                         headers={**people[i], "Content-Type": "application/octet-stream"})
        if r.status_code != 200:
            return r
        return requests.post(f"{base}/{upload_id}/complete", headers=people[i], timeout=120)

    with ThreadPoolExecutor(PARALLEL) as pool:
        answers = list(pool.map(upload, range(PARALLEL)))
        answers += list(pool.map(resumable, range(PARALLEL)))
    failed = [(r.status_code, r.text[:200]) for r in answers if r.status_code != 201]
    assert failed == []
    # Each upload wrote its audit row and its event beside its version.
    rows = stack.query("intake", "SELECT count(*) FROM audit_log "
                       "WHERE action = 'document.uploaded'")
    assert rows[0][0] >= 2 * PARALLEL
    log = (stack.root / "logs" / "intake-web.log").read_text(errors="replace")
    assert "database is locked" not in log
