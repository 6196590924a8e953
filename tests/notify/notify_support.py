"""Notify's own stack (web + worker on PostgreSQL) wired to a real SMTP server (aiosmtpd) and a
real webhook receiver, both in this process, and helpers to send events as real Celery
messages through the broker, the way the other services' outbox relays do."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from celery import Celery
from sqlalchemy import Engine, create_engine, text
from waiting import poll

from dossier.localstack import AppStack, BackingServers, Proc, free_port_block, worker_argv
from shared.account_states import AccountStates
from shared.auth import issue_token
from shared.events import Event

# -- a real SMTP server ------------------------------------------------------------------------


@dataclass
class Received:
    rcpt: str
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        return str(self.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


@dataclass
class MailSink:
    """aiosmtpd with switchable misbehaviour per recipient address."""

    port: int
    received: list[Received] = field(default_factory=list)
    # address → ("slow_rcpt" | "slow_data", seconds) or ("reply", "451 …")
    behaviour: dict[str, tuple[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        action, arg = self.behaviour.get(address, ("ok", None))
        if action == "reply":
            return str(arg)
        if action == "slow_rcpt":
            del self.behaviour[address]  # once
            await asyncio.sleep(arg)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for rcpt in envelope.rcpt_tos:
            action, arg = self.behaviour.get(rcpt, ("ok", None))
            if action == "slow_data":
                # The whole message is here; the reply is what is late (once).
                del self.behaviour[rcpt]
                await asyncio.sleep(arg)
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append(Received(rcpt, msg))  # type: ignore[arg-type]
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.rcpt == address]


@pytest.fixture(scope="session")
def smtp() -> Iterator[MailSink]:
    sink = MailSink(port=free_port_block(1))
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# -- a real webhook receiver -------------------------------------------------------------------


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class HookSink:
    port: int
    received: list[Hook] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)  # path → reply status (default 200)
    delay: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Hook]:
        with self.lock:
            return [h for h in self.received if h.path == path]


@pytest.fixture(scope="session")
def webhooks() -> Iterator[HookSink]:
    sink = HookSink(port=free_port_block(1))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(sink.delay.get(self.path, 0))
            status = sink.status.get(self.path, 200)
            with sink.lock:
                sink.received.append(Hook(self.path, dict(self.headers.items()), body,
                                          time.monotonic()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", sink.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()


# -- notify's stack ----------------------------------------------------------------------------

RETRY_SECONDS = 0.4
MAX_ATTEMPTS = 3


def notify_env(smtp: MailSink) -> dict[str, str]:
    return {
        "DOSSIER_NOTIFY_SMTP_HOST": "127.0.0.1",
        "DOSSIER_NOTIFY_SMTP_PORT": str(smtp.port),
        "DOSSIER_NOTIFY_SEND_TIMEOUT": "3",
        "DOSSIER_NOTIFY_RETRY_SECONDS": str(RETRY_SECONDS),
        "DOSSIER_NOTIFY_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "DOSSIER_NOTIFY_WEBHOOK_PRIVATE": "true",  # the receiver listens on loopback
        # Short, so a task whose worker was killed comes back within seconds.
        "DOSSIER_TASK_LEASE_SECONDS": "6",
        "DOSSIER_OUTBOX_POLL_SECONDS": "0.1",
    }


@dataclass
class Notify:
    stack: AppStack
    celery: Celery
    engine: Engine

    @property
    def url(self) -> str:
        return self.stack.url("notify")

    def headers(self, role: str, subject: str, lang: str | None = None) -> dict[str, str]:
        tok = issue_token(self.stack.secret_key, subject=subject, role=role, ttl_seconds=3600)
        h = {"Authorization": f"Bearer {tok}"}
        if lang:
            h["Accept-Language"] = lang
        return h

    def send(self, type_: str, payload: dict[str, Any], event_id: str | None = None,
             source: str = "review") -> str:
        """Deliver an event to notify as the producers' relays do: a Celery message."""
        event = Event(id=event_id or str(uuid.uuid4()), type=type_, source=source,
                      occurred_at=datetime.now(UTC).isoformat(), payload=payload)
        self.celery.send_task("notify.handle_event", args=[event.envelope()], queue="notify")
        return event.id

    def processed(self, event_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM processed_events WHERE event_id = :e"),
                                {"e": event_id}).first() is not None

    def send_and_wait(self, type_: str, payload: dict[str, Any], **kw: Any) -> str:
        event_id = self.send(type_, payload, **kw)
        poll(lambda: self.processed(event_id), 30, 0.1)
        return event_id

    def account(self, subject: str, role: str = "applicant", email: str | None = None,
                language: str = "zh-CN", unit: str | None = None, active: bool = True) -> None:
        self.send_and_wait("account.saved", {
            "subject": subject, "role": role, "name": f"用户 {subject}", "email": email,
            "language": language, "unit": unit, "active": active}, source="intake")

    def inbox(self, subject: str, role: str = "applicant", lang: str | None = None,
              **params: Any) -> dict[str, Any]:
        r = requests.get(f"{self.url}/api/inbox", headers=self.headers(role, subject, lang),
                         params=params, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def deliveries(self, **params: Any) -> list[dict[str, Any]]:
        r = requests.get(f"{self.url}/api/deliveries", headers=self.headers("operator", "op"),
                         params={"per_page": 200, **params}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def preferences(self, subject: str, role: str = "applicant", **changes: Any
                    ) -> dict[str, Any]:
        r = requests.put(f"{self.url}/api/preferences", json=changes,
                         headers=self.headers(role, subject), timeout=10)
        assert r.status_code == 200, r.text
        return r.json()


def start_worker(stack: AppStack) -> Proc:
    """Notify's worker with two pool processes, as deployed (compose and `make run`), so one
    channel's slow task can be seen not to hold up the others."""
    old = stack.procs.get("notify-worker")
    if old is not None and old.alive():
        old.stop()
    proc = Proc("notify-worker", worker_argv("notify", concurrency=2),
                stack.root / "logs" / "notify-worker.log", env=stack.env()).start()
    stack.procs[proc.name] = proc
    stack.wait_worker("notify")
    return proc


def publish_no_accounts(stack: AppStack) -> None:
    client = redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"])
    try:
        AccountStates(client).publish([], complete=True)
    finally:
        client.close()


@pytest.fixture(scope="session")
def notify(backing: BackingServers, workdir: Path, smtp: MailSink) -> Iterator[Notify]:
    apps = AppStack(backing, workdir / "notify", database="postgresql", redis_db=3,
                    extra_env=notify_env(smtp))
    celery = Celery("notify-tests", broker=apps.env()["DOSSIER_REDIS_URL"], set_as_current=False)
    celery.conf.update(task_serializer="json")
    try:
        apps.start(services=("notify",))
        # No intake here to publish accounts' standing: say there is none, as an intake with
        # no accounts would, or notify's guard refuses every token (503).
        publish_no_accounts(apps)
        start_worker(apps)
        engine = create_engine(apps.env()["DOSSIER_NOTIFY_DATABASE_URL"])
        yield Notify(apps, celery, engine)
        engine.dispose()
    finally:
        apps.stop()


Unique = Callable[[str], str]


@pytest.fixture
def unique() -> Unique:
    """Names no other test uses, so tests can share one stack and one mailbox."""
    tag = uuid.uuid4().hex[:8]
    return lambda name: f"{name}-{tag}"
