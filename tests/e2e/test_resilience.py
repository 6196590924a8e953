"""Nothing is lost when a worker dies mid-task or the broker goes away mid-upload."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from award_cycle import ensure_open_cycle
from samples import blank_pdf, sha256, text_pdf
from sqlalchemy import create_engine, text
from waiting import poll

from dossier.localstack import AppStack, BackingServers, Proc, free_port_block
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


DIGEST = "上传的材料已检查完毕"  # one message once an upload's inspections settle, none per file


def digests(stack: AppStack, me: dict[str, str]) -> list[dict[str, Any]]:
    return [m for m in inbox(stack, me) if m["title"] == DIGEST]


def inspected_events(stack: AppStack, version_id: str) -> int:
    """How many `document.inspected` events documents emitted for the version: one, however
    often its task was delivered (the digest alone would hide a second one, as notify brings
    an unread digest up to date)."""
    engine = create_engine(stack.env()["DOSSIER_DOCUMENTS_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM outbox WHERE type = 'document.inspected' "
                "AND CAST(payload AS TEXT) LIKE :v"), {"v": f"%{version_id}%"}).scalar() or 0)
    finally:
        engine.dispose()


def wait_for_cycle_in_documents(stack: AppStack) -> None:
    documents = create_engine(stack.env()["DOSSIER_DOCUMENTS_DATABASE_URL"])

    def cycle_seen() -> bool:
        with documents.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM processed_events WHERE type = 'cycle.saved'")).scalar())

    poll(cycle_seen, 30)
    documents.dispose()


@pytest.fixture
def killable_stack(backing: BackingServers, workdir: Path) -> Iterator[AppStack]:
    # A short visibility timeout so the test need not wait an hour for redelivery.
    apps = AppStack(backing, workdir / "killable", database="sqlite", redis_db=1,
                    extra_env={"DOSSIER_TASK_LEASE_SECONDS": "6"})
    try:
        apps.start()
        # The cycle's event reaches documents now, not in the middle of a test's kill.
        ensure_open_cycle(apps.url("intake"), apps.secret_key)
        wait_for_cycle_in_documents(apps)
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
    messages = poll(lambda: digests(stack, me), 60)
    time.sleep(2)  # a duplicate delivery would show up by now
    assert len(digests(stack, me)) == len(messages) == 1
    assert inspected_events(stack, version["id"]) == 1


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
    client = redis.Redis.from_url(servers.redis_url, socket_timeout=2)
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
        assert refused.json()["code"] == "dependency.broker_unavailable"
        assert int(refused.headers["Retry-After"]) > 0

        own_redis.start_redis(port=own_redis.redis_port)  # same port, same AOF folder
        poll(lambda: digests(stack, me), 120)
        done = poll(lambda: inspection(stack, me, r.json()["id"]), 30)
        assert done["pages"] == 4
        assert inspected_events(stack, r.json()["id"]) == 1
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


def task_log(worker: Proc) -> str:
    return worker.log.read_bytes()[worker.log_offset:].decode("utf-8", "replace")


def handled_events(worker: Proc, outcome: str) -> list[str]:
    """Ids of the `documents.handle_event` tasks the worker logged as `received`/`succeeded`."""
    return re.findall(r"documents\.handle_event\[([0-9a-f-]+)\] " + outcome, task_log(worker))


def broker_holds(stack: AppStack, task_id: str) -> bool:
    """Whether Redis still has the task anywhere: waiting in its queue or handed out."""
    client = redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"])
    try:
        waiting = client.lrange("documents", 0, -1)
        out = client.hvals("unacked")
        return any(task_id.encode() in item for item in [*waiting, *out])
    finally:
        client.close()


def test_a_task_running_far_longer_than_its_lease_is_not_handed_out_again(
        killable_stack: AppStack) -> None:
    stack = killable_stack  # leases of 6 s: this task runs over three of them
    worker = restart_documents_worker(stack, {"DOSSIER_TASK_START_DELAY": "20"})
    me = headers(stack, "applicant-long-task")
    version = upload_pdf(stack, me, "长任务.pdf", pages=2)

    done = poll(lambda: inspection(stack, me, version["id"]), 90)
    assert done["pages"] == 2
    [task_id] = poll(lambda: handled_events(worker, "succeeded"), 30)
    # Had its lease lapsed while it ran, the same task would now be received a second time,
    # waiting in the queue, or handed out again (the worker takes one task at a time).
    assert handled_events(worker, "received").count(task_id) == 1
    assert not broker_holds(stack, task_id)
    restart_documents_worker(stack)


def test_tasks_of_a_worker_whose_main_process_was_killed_come_back_within_a_lease(
        killable_stack: AppStack) -> None:
    stack = killable_stack
    worker = restart_documents_worker(stack, {"DOSSIER_TASK_START_DELAY": "60"})
    me = headers(stack, "applicant-main-killed")
    version = upload_pdf(stack, me, "主进程.pdf", pages=2)
    poll(lambda: handled_events(worker, "received"), 30, 0.2)
    os.kill(worker.pid, signal.SIGKILL)  # the main process only, as a crash or OOM kill would
    worker.popen.wait(10)  # type: ignore[union-attr]
    try:
        back = stack.start_worker("documents")
        stack.wait_worker("documents")
        returned = time.monotonic()
        done = poll(lambda: inspection(stack, me, version["id"]), 60)
        assert time.monotonic() - returned < 6 + 10 + 5  # a lease, a restore scan, the work
        assert done["pages"] == 2
        messages = poll(lambda: digests(stack, me), 30)
        assert len(messages) == 1
        assert inspected_events(stack, version["id"]) == 1
        [task_id] = handled_events(back, "succeeded")
        assert not broker_holds(stack, task_id)
    finally:
        worker.kill()  # its orphaned pool child, still waiting out the injected delay


def pool_children(worker: Proc) -> list[int]:
    path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    return [int(pid) for pid in path.read_text().split()]


def test_a_pool_child_killed_mid_task_has_its_task_run_again_once(
        killable_stack: AppStack) -> None:
    stack = killable_stack
    worker = restart_documents_worker(stack, {"DOSSIER_TASK_START_DELAY": "4"})
    me = headers(stack, "applicant-child-killed")
    version = upload_pdf(stack, me, "子进程.pdf", pages=3)
    poll(lambda: handled_events(worker, "received"), 30, 0.2)
    [child] = pool_children(worker)
    os.kill(child, signal.SIGKILL)  # the main process lives on and sees its child lost

    done = poll(lambda: inspection(stack, me, version["id"]), 60)
    assert done["pages"] == 3
    assert "WorkerLostError" in task_log(worker)
    messages = poll(lambda: digests(stack, me), 30)
    assert len(messages) == 1
    assert inspected_events(stack, version["id"]) == 1
    assert dead_letters_for(stack, version["id"]) == []
    restart_documents_worker(stack)


def test_a_task_failing_while_redis_is_down_is_retried_once_redis_is_back(
        own_redis: BackingServers, workdir: Path) -> None:
    stack = AppStack(own_redis, workdir / "retry-outage-apps", database="sqlite",
                     extra_env={"DOSSIER_TASK_LEASE_SECONDS": "6"})
    try:
        stack.start()
        me = headers(stack, "applicant-retry-outage")
        app_id = new_application(stack, me)
        wait_for_cycle_in_documents(stack)  # the next task the worker takes is the upload's
        # This worker cannot reach the object store, so its task fails and asks for a retry,
        # which cannot be queued: the broker stops while the task waits to start.
        dead_s3 = f"127.0.0.1:{free_port_block(1)}"
        worker = restart_documents_worker(stack, {"DOSSIER_TASK_START_DELAY": "3",
                                                  "DOSSIER_S3_ENDPOINT": dead_s3})
        r = requests.post(f"{stack.url('intake')}/api/applications/{app_id}/documents",
                          headers=me, data={"requirement": "overview"},
                          files={"file": ("重试.pdf", blank_pdf(2), "application/pdf")})
        assert r.status_code == 201, r.text
        version = r.json()
        poll(lambda: handled_events(worker, "received"), 30, 0.2)
        own_redis.stop_redis()
        poll(lambda: "could not be queued" in task_log(worker), 60, 0.2)

        own_redis.start_redis(port=own_redis.redis_port)  # same port, same append-only file
        restart_documents_worker(stack)  # and the object store is reachable again
        done = poll(lambda: inspection(stack, me, version["id"]), 90)
        assert done["pages"] == 2
        assert dead_letters_for(stack, version["id"]) == []
        messages = poll(lambda: digests(stack, me), 60)
        assert len(messages) == 1
        assert inspected_events(stack, version["id"]) == 1
    finally:
        stack.stop()


def inspector_busy(worker: Proc) -> int | None:
    """The pid of the worker's inspector child while it has an upload open, if it has."""
    def tree(pid: int) -> list[int]:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [pid, *(p for kid in kids for p in tree(int(kid)))]

    for pid in tree(worker.pid):
        try:
            if b"sandbox_child" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            if any("dossier-inspect-" in os.readlink(fd)
                   for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
        except OSError:
            continue
    return None


def checklist_status(stack: AppStack, me: dict[str, str], app_id: str, requirement: str
                     ) -> str | None:
    r = requests.get(f"{stack.url('documents')}/api/applications/{app_id}/completeness",
                     headers=me)
    if r.status_code != 200:
        return None
    return next((i["status"] for i in r.json()["items"] if i["requirement"] == requirement),
                None)


def test_while_a_dead_workers_inspection_waits_both_services_call_the_version_pending(
        killable_stack: AppStack) -> None:
    stack = killable_stack
    worker = restart_documents_worker(stack)
    me = headers(stack, "applicant-agree")
    app_id = new_application(stack, me)
    # Enough text that reading it takes seconds: the crash lands mid-inspection.
    pdf = text_pdf([f"第{i}页 组织概述 overview page {i} " * 6 for i in range(300)])
    r = requests.post(f"{stack.url('intake')}/api/applications/{app_id}/documents",
                      headers=me, data={"requirement": "overview"},
                      files={"file": ("组织概述.pdf", pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    poll(lambda: inspector_busy(worker), 60, 0.02)
    worker.kill()  # the machine the worker ran on is gone
    worker.popen.wait(10)  # type: ignore[union-attr]

    [document] = requests.get(f"{stack.url('intake')}/api/applications/{app_id}",
                              headers=me).json()["documents"]
    assert document["versions"][0]["inspection"] is None  # intake: being inspected
    assert checklist_status(stack, me, app_id, "overview") == "pending"  # documents agrees

    stack.start_worker("documents")
    stack.wait_worker("documents")
    done = poll(lambda: inspection(stack, me, r.json()["id"]), 60)
    assert done["pages"] == 300
    settled = poll(lambda: (status := checklist_status(stack, me, app_id, "overview"))
                   not in (None, "pending") and status, 30)
    assert settled in ("met", "attention", "invalid")  # judged now, whatever the verdict
