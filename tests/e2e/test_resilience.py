"""Nothing is lost when a worker dies mid-task or the broker goes away mid-upload."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from award_cycle import ensure_open_cycle
from samples import blank_pdf, sha256
from sqlalchemy import create_engine, text
from waiting import poll

from dossier.localstack import AppStack, BackingServers, Proc
from shared.auth import issue_token


def headers(stack: AppStack, subject: str) -> dict[str, str]:
    tok = issue_token(stack.secret_key, subject=subject, role="applicant", ttl_seconds=3600)
    return {"Authorization": f"Bearer {tok}"}


def new_application(stack: AppStack, me: dict[str, str]) -> str:
    ensure_open_cycle(stack.url("intake"), stack.secret_key)
    r = requests.post(f"{stack.url('intake')}/api/applications", headers=me,
                      json={"cycle": "2025", "kind": "organisation", "name": "韧性测试有限公司"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def inspection(stack: AppStack, me: dict[str, str], version_id: str) -> dict[str, Any] | None:
    r = requests.get(f"{stack.url('documents')}/api/inspections/{version_id}", headers=me)
    return r.json() if r.status_code == 200 else None


def inbox(stack: AppStack, me: dict[str, str]) -> list[dict[str, Any]]:
    r = requests.get(f"{stack.url('notify')}/api/inbox", headers=me)
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.fixture
def killable_stack(backing: BackingServers, workdir: Path) -> Iterator[AppStack]:
    # A short visibility timeout so the test need not wait an hour for redelivery.
    apps = AppStack(backing, workdir / "killable", database="sqlite", redis_db=1,
                    extra_env={"DOSSIER_VISIBILITY_TIMEOUT": "6"})
    try:
        apps.start()
        # The cycle's event reaches documents now, not in the middle of a test's kill.
        ensure_open_cycle(apps.url("intake"), apps.secret_key)
        documents = create_engine(apps.env()["DOSSIER_DOCUMENTS_DATABASE_URL"])

        def cycle_seen() -> bool:
            with documents.connect() as conn:
                return bool(conn.execute(text(
                    "SELECT count(*) FROM processed_events WHERE type = 'cycle.saved'")).scalar())

        poll(cycle_seen, 30)
        documents.dispose()
        yield apps
    finally:
        apps.stop()


def restart_documents_worker(stack: AppStack, env: dict[str, str] | None = None) -> Proc:
    stack.procs["documents-worker"].stop()
    worker = stack.start_worker("documents", env=env)
    stack.wait_worker("documents")
    return worker


def upload_pdf(stack: AppStack, me: dict[str, str], filename: str, pages: int = 1
               ) -> dict[str, Any]:
    app_id = new_application(stack, me)
    pdf = blank_pdf(pages)
    r = requests.post(f"{stack.url('intake')}/api/applications/{app_id}/documents", headers=me,
                      data={"requirement": "overview"},
                      files={"file": (filename, pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == sha256(pdf)
    return r.json()


def kill_mid_task(worker: Proc) -> None:
    """SIGKILL the worker and its pool children once it has taken the task."""

    def received() -> bool:
        log = worker.log.read_bytes()[worker.log_offset:]
        return b"documents.handle_event" in log and b"received" in log

    poll(received, 30, 0.2)
    time.sleep(1.0)  # inside the (delayed) task now
    worker.kill()
    worker.popen.wait(10)  # type: ignore[union-attr]


def dead_letters_for(stack: AppStack, version_id: str) -> list[dict[str, Any]]:
    op = {"Authorization": "Bearer " + issue_token(stack.secret_key, subject="op",
                                                   role="operator", ttl_seconds=600)}
    items = requests.get(f"{stack.url('documents')}/api/ops/dead-letters",
                         headers=op).json()["items"]
    return [d for d in items if d["args"][0]["payload"].get("version_id") == version_id]


def test_task_survives_sigkill_of_its_worker_and_completes_after_restart(
        killable_stack: AppStack) -> None:
    stack = killable_stack
    # Fault injection: every task waits before starting, so the kill lands mid-task.
    worker = restart_documents_worker(stack, {"DOSSIER_TASK_START_DELAY": "60"})
    me = headers(stack, "applicant-kill")
    version = upload_pdf(stack, me, "组织概述.pdf", pages=3)
    kill_mid_task(worker)
    assert inspection(stack, me, version["id"]) is None

    stack.start_worker("documents")
    stack.wait_worker("documents")
    done = poll(lambda: inspection(stack, me, version["id"]), 90)
    assert done["pages"] == 3
    assert done["sha256"] == version["sha256"]
    messages = poll(lambda: [m for m in inbox(stack, me) if "组织概述.pdf" in m["title"]], 60)
    time.sleep(2)  # a duplicate delivery would show up by now
    assert len([m for m in inbox(stack, me) if "组织概述.pdf" in m["title"]]) == len(messages) == 1


@pytest.fixture
def own_redis(backing: BackingServers, workdir: Path) -> Iterator[BackingServers]:
    servers = BackingServers(root=workdir / "outage", access_key=backing.access_key,
                             secret_key=backing.secret_key, s3_base_port=backing.s3_base_port)
    try:
        servers.start_redis()
        yield servers
    finally:
        servers.stop()


def guard_reads(servers: BackingServers) -> int:
    """How many times the services' auth guards read account standing (their only MGET)."""
    client = redis.Redis(port=servers.redis_port, socket_timeout=2)
    try:
        return int(client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0))
    finally:
        client.close()


def test_event_of_an_upload_made_while_redis_is_down_is_delivered_once_redis_is_back(
        own_redis: BackingServers, workdir: Path) -> None:
    stack = AppStack(own_redis, workdir / "outage-apps", database="sqlite")
    try:
        stack.start()
        me = headers(stack, "applicant-outage")
        app_id = new_application(stack, me)
        engine = create_engine(stack.env()["DOSSIER_INTAKE_DATABASE_URL"])

        def pending() -> list[Any]:
            with engine.connect() as conn:
                return list(conn.execute(text(
                    "SELECT type, attempts, last_error FROM outbox WHERE published_at IS NULL")))

        poll(lambda: not pending(), 20)  # earlier events (the cycle's) are out before the outage
        pdf = blank_pdf(4)
        half = len(pdf) // 2
        stopped = threading.Event()
        checked = guard_reads(own_redis)

        def body() -> Iterator[bytes]:
            yield pdf[:half]
            # The upload's auth check reads the account's standing from Redis as the request
            # begins (fail closed once Redis is gone); the broker goes away after that check,
            # in the middle of the upload.
            poll(lambda: guard_reads(own_redis) > checked, 20, every=0.05)
            own_redis.stop_redis()
            stopped.set()
            yield pdf[half:]

        r = requests.post(
            f"{stack.url('intake')}/api/applications/{app_id}/documents",
            params={"requirement": "evidence", "filename": "证实性材料.pdf"},
            headers={**me, "Content-Type": "application/pdf"}, data=body())
        assert stopped.is_set()
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == sha256(pdf)
        ready = requests.get(f"{stack.url('intake')}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"] != "ok"

        rows = poll(lambda: [row for row in pending() if row.attempts > 0], 20)
        assert rows[0].type == "document.uploaded"
        assert rows[0].last_error
        # Whether the token's account still stands cannot be checked without Redis: refused
        # with a code and a time to retry, never trusted and never a 500.
        refused = requests.get(f"{stack.url('notify')}/api/inbox", headers=me)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "auth.accounts_unavailable"
        assert int(refused.headers["Retry-After"]) > 0

        own_redis.start_redis(port=own_redis.redis_port)  # same port, same AOF folder
        message = poll(lambda: [m for m in inbox(stack, me) if "证实性材料.pdf" in m["title"]], 120)
        assert "4 页" in message[0]["body"]
        assert pending() == []
        engine.dispose()
    finally:
        stack.stop()


def test_a_task_that_overruns_its_time_limit_is_stopped_and_parked_as_a_dead_letter(
        killable_stack: AppStack) -> None:
    stack = killable_stack
    restart_documents_worker(stack, {"DOSSIER_TASK_START_DELAY": "30",
                                     "DOSSIER_TASK_TIME_LIMIT": "2"})
    me = headers(stack, "applicant-overrun")
    version = upload_pdf(stack, me, "超时.pdf")

    [letter] = poll(lambda: dead_letters_for(stack, version["id"]), 40)
    assert "TimeLimitExceeded" in letter["error"]
    assert inspection(stack, me, version["id"]) is None


def test_a_task_that_keeps_killing_its_worker_is_parked_instead_of_looping(
        killable_stack: AppStack) -> None:
    stack = killable_stack
    # Allow a single delivery: the redelivery after the kill is one too many.
    worker = restart_documents_worker(stack, {"DOSSIER_TASK_START_DELAY": "60",
                                              "DOSSIER_TASK_MAX_RETRIES": "0"})
    me = headers(stack, "applicant-poison")
    version = upload_pdf(stack, me, "致命.pdf")
    kill_mid_task(worker)
    stack.start_worker("documents", env={"DOSSIER_TASK_MAX_RETRIES": "0"})
    stack.wait_worker("documents")

    [letter] = poll(lambda: dead_letters_for(stack, version["id"]), 60)
    assert "gave up after 1 deliveries" in letter["error"]
    assert inspection(stack, me, version["id"]) is None
