"""faults: how long a killed worker's tasks take to be done, against the same tasks with no fault.

Both halves upload the same number of PDFs to intake and time, from the moment the documents
worker has them, until every version has its inspection verdict. In the fault half the worker
is SIGKILLed (main process and pool children, as a crash of the machine would) while it holds
tasks, and a fresh worker is started at once: its tasks come back when their lease lapses
(`DOSSIER_TASK_LEASE_SECONDS`, default 30) plus one restore scan. The ratio is fault time ÷
no-fault time; the absolute figure that matters to an operator is `killed_to_done`, which should
stay under a minute.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import requests

from dossier.localstack import AppStack, wait_until
from shared.auth import issue_token

FILES = 8


def _headers(stack: AppStack, role: str, subject: str) -> dict[str, str]:
    token = issue_token(stack.secret_key, subject=subject, role=role, ttl_seconds=3600)
    return {"Authorization": f"Bearer {token}"}


def _pdf(n: int) -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(n):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _upload(stack: AppStack, me: dict[str, str], app_id: str, count: int) -> list[str]:
    versions = []
    for i in range(count):
        r = requests.post(f"{stack.url('intake')}/api/applications/{app_id}/documents",
                          headers=me, data={"requirement": "evidence"},
                          files={"file": (f"证实性材料{i}.pdf", _pdf(1 + i % 3),
                                          "application/pdf")}, timeout=60)
        r.raise_for_status()
        versions.append(r.json()["id"])
    return versions


def _all_inspected(stack: AppStack, me: dict[str, str], versions: list[str]) -> bool:
    url = stack.url("documents")
    return all(requests.get(f"{url}/api/inspections/{v}", headers=me, timeout=10).status_code
               == 200 for v in versions)


def _received(stack: AppStack) -> bool:
    worker = stack.procs["documents-worker"]
    return b"documents.handle_event" in worker.log.read_bytes()[worker.log_offset:]


def run(env: Any) -> list[str]:
    stack = AppStack(env.backing, env.root / "bench-faults", database="sqlite", redis_db=5)
    stack.start()
    try:
        today = date.today()
        requests.put(f"{stack.url('intake')}/api/cycles/bench-faults",
                     headers=_headers(stack, "operator", "op"),
                     json={"year": today.year, "title": "bench", "status": "open",
                           "opens_on": (today - timedelta(days=1)).isoformat(),
                           "closes_on": (today + timedelta(days=1)).isoformat()},
                     timeout=30).raise_for_status()
        me = _headers(stack, "applicant", "bench-faults")
        app = requests.post(f"{stack.url('intake')}/api/applications", headers=me, timeout=30,
                            json={"cycle": "bench-faults", "kind": "organisation",
                                  "name": "故障基准有限公司"})
        app.raise_for_status()
        app_id = app.json()["id"]
        wait_until(lambda: _received(stack), 60, "the cycle's event")

        # No fault: the worker is stopped while the uploads queue up, then takes them all.
        stack.procs["documents-worker"].stop()
        versions = _upload(stack, me, app_id, FILES)
        stack.start_worker("documents")
        stack.wait_worker("documents")
        start = time.perf_counter()
        wait_until(lambda: _all_inspected(stack, me, versions), 300, "inspections")
        no_fault = time.perf_counter() - start

        # Fault: the worker holds tasks (each waits before starting) when it is killed outright.
        stack.procs["documents-worker"].stop()
        versions = _upload(stack, me, app_id, FILES)
        doomed = stack.start_worker("documents", env={"DOSSIER_TASK_START_DELAY": "30"})
        stack.wait_worker("documents")
        wait_until(lambda: _received(stack), 60, "a task taken")
        doomed.kill()
        killed = time.perf_counter()
        doomed.popen.wait(10)  # type: ignore[union-attr]
        stack.start_worker("documents")
        wait_until(lambda: _all_inspected(stack, me, versions), 300, "inspections after kill")
        killed_to_done = time.perf_counter() - killed
    finally:
        stack.stop()
    lease = stack.env().get("DOSSIER_TASK_LEASE_SECONDS", "30")
    return [f"faults: ratio={killed_to_done / no_fault:.2f} killed_to_done={killed_to_done:.1f}s "
            f"no_fault={no_fault:.1f}s files={FILES} lease={lease}s (target: killed_to_done "
            f"< 60 s)"]
