"""notify: e-mails through the broker and the notify worker (2 pool processes) to a local SMTP
server, against a bare `smtplib` loop sending the same messages over one connection.

10,000 notifications: 50 events, each addressed to a role of 200 accounts, go in as Celery
messages to `notify.handle_event`; the clock stops when the SMTP server has accepted the last
e-mail. Every message is counted at the server by Message-ID: none may be lost or duplicated.
The SMTP server runs in its own process so neither side shares a GIL with it. Target ≥ 0.5.
"""

from __future__ import annotations

import smtplib
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from sqlalchemy import create_engine, text

from dossier.localstack import AppStack, Proc, free_port_block, wait_until, worker_argv
from services.notify import mail
from shared.account_states import AccountStates
from shared.events import Event

ACCOUNTS = 200
EVENTS = 50
TOTAL = ACCOUNTS * EVENTS
SENDER = "Dossier <noreply@dossier.local>"


def _sink(port: int, out: Path) -> None:
    """The SMTP server process: appends each accepted Message-ID to `out`."""
    import asyncio
    from email.parser import BytesHeaderParser

    from aiosmtpd.controller import Controller

    handle = out.open("a", buffering=1)
    parser = BytesHeaderParser()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            headers = parser.parsebytes(envelope.original_content or envelope.content)
            for _ in envelope.rcpt_tos:
                handle.write(f"{headers['Message-ID']}\n")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    asyncio.run(asyncio.Event().wait())


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _event(type_: str, payload: dict[str, Any]) -> dict[str, Any]:
    return Event(id=str(uuid.uuid4()), type=type_, source="bench",
                 occurred_at=datetime.now(UTC).isoformat(), payload=payload).envelope()


def _bare_loop(port: int) -> float:
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    start = time.perf_counter()
    for i in range(TOTAL):
        msg = mail.build(key=uuid.uuid4().hex, sender=SENDER, to=f"bare{i % ACCOUNTS}@example.cn",
                         subject="推荐名单公示：2026 年度",
                         body="2026 年度推荐名单（30 个）公示期为 2026-03-02 至 2026-03-06。",
                         event_type="list.published", language="zh-CN")
        smtp.send_message(msg)
    elapsed = time.perf_counter() - start
    smtp.quit()
    return elapsed


def run(env: Any) -> list[str]:
    port = free_port_block(1)
    out = env.root / "notify-sink.txt"
    sink = Proc("smtp-sink", [sys.executable, "-c",
                              f"from bench.notify import _sink; from pathlib import Path; "
                              f"_sink({port}, Path({str(out)!r}))"],
                env.root / "logs" / "smtp-sink.log", cwd=Path(__file__).resolve().parents[1]
                ).start()
    stack = AppStack(env.backing, env.root / "notify-bench", database="postgresql", redis_db=8,
                     extra_env={"DOSSIER_NOTIFY_SMTP_HOST": "127.0.0.1",
                                "DOSSIER_NOTIFY_SMTP_PORT": str(port),
                                "DOSSIER_OUTBOX_POLL_SECONDS": "0.1",
                                "DOSSIER_LOG_LEVEL": "WARNING"})
    try:
        wait_until(lambda: smtplib.SMTP("127.0.0.1", port, timeout=2).quit() is not None, 20,
                   "smtp sink", sink.popen, sink.log)
        bare = _bare_loop(port)
        baseline = len(_lines(out))

        stack.start(services=("notify",))
        # No intake here to publish accounts' standing: none to check, or every token is 503.
        AccountStates(redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"])).publish(
            [], complete=True)
        stack.procs["notify-worker"].stop()
        worker = Proc("notify-worker", worker_argv("notify", concurrency=2),
                      stack.root / "logs" / "notify-worker.log", env=stack.env()).start()
        stack.procs[worker.name] = worker
        stack.wait_worker("notify")
        celery = Celery("bench-notify", broker=stack.env()["DOSSIER_REDIS_URL"],
                        set_as_current=False)
        celery.conf.update(task_serializer="json")
        with celery.producer_or_acquire() as producer:
            for i in range(ACCOUNTS):
                celery.send_task("notify.handle_event", queue="notify", producer=producer,
                                 args=[_event("account.saved", {
                                     "subject": f"bench-{i}", "role": "expert",
                                     "name": f"专家{i}", "email": f"bench{i}@example.cn",
                                     "language": "en" if i % 5 == 0 else "zh-CN",
                                     "unit": None, "active": True})])
        engine = create_engine(stack.env()["DOSSIER_NOTIFY_DATABASE_URL"])

        def count(sql: str) -> int:
            with engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar_one())

        wait_until(lambda: count("SELECT count(*) FROM recipients") == ACCOUNTS, 120,
                   "bench accounts")

        start = time.perf_counter()
        with celery.producer_or_acquire() as producer:
            for i in range(EVENTS):
                celery.send_task("notify.handle_event", queue="notify", producer=producer,
                                 args=[_event("list.published", {
                                     "list_id": f"list-{i}", "cycle": "2026",
                                     "kind": "recommendation", "starts_on": "2026-03-02",
                                     "ends_on": "2026-03-06", "entries": [],
                                     "audience": [{"role": "expert"}]})])
        wait_until(lambda: len(_lines(out)) - baseline >= TOTAL, 600, "all e-mails")
        system = time.perf_counter() - start
        time.sleep(1.0)  # a duplicate would arrive now
        received = _lines(out)[baseline:]
        sent_rows = count("SELECT count(*) FROM deliveries WHERE status = 'sent'")
        engine.dispose()
    finally:
        stack.stop()
        sink.stop()
    lost = TOTAL - len(set(received))
    duplicated = len(received) - len(set(received))
    ratio = (TOTAL / system) / (TOTAL / bare)
    return [f"notify: ratio={ratio:.2f} messages={TOTAL} system_per_s={TOTAL / system:.0f} "
            f"bare_smtplib_per_s={TOTAL / bare:.0f} lost={lost} duplicated={duplicated} "
            f"recorded_sent={sent_rows} workers=2 target>=0.5"]
