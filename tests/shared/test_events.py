"""The outbox (emit, relay) and the inbox (exactly-once handling), on SQLite and real PostgreSQL,
plus one relay through a real Celery app into the real Redis."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dossier.localstack import BackingServers
from shared.db import Database, service_metadata
from shared.events import SUBSCRIPTIONS, Event, Inbox, Outbox, OutboxRelay

DIALECTS = ("sqlite", "postgresql")
CELERY_REDIS_DB = 15  # other tests use 0 (stack) and 1 (resilience)


@pytest.fixture(autouse=True)
def _placeholder_payloads_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about delivery, not payload contracts: the producers' schemas in
    shared/messages would refuse the placeholder payloads (`{"n": 1}`) used here."""
    monkeypatch.setattr("shared.events.check_payload", lambda type_, payload: None)


def _metadata() -> MetaData:
    metadata = service_metadata()
    # A business table: the change an event is emitted beside, and a handler's side effect.
    Table("things", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(50), nullable=False, unique=True))
    return metadata


class Env:
    def __init__(self, db: Database, metadata: MetaData) -> None:
        self.db = db
        self.metadata = metadata
        self.outbox = Outbox(metadata, source="intake")
        self.inbox = Inbox(metadata)
        self.things = metadata.tables["things"]

    def rows(self) -> list[Any]:
        t = self.outbox.table
        with self.db.session() as session:
            return list(session.execute(select(t).order_by(t.c.seq)))

    def count(self, table: Table) -> int:
        with self.db.session() as session:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())

    def emit(self, *events: tuple[str, dict[str, Any]]) -> list[Event]:
        with self.db.session() as session:
            return [self.outbox.emit(session, type_, payload) for type_, payload in events]


@pytest.fixture(params=DIALECTS)
def env(request: pytest.FixtureRequest, new_database_url: Callable[[str, str], str],
        open_database: Callable[[str], Database]) -> Env:
    db = open_database(new_database_url(str(request.param), "events"))
    metadata = _metadata()
    metadata.create_all(db.engine)
    return Env(db, metadata)


class BrokerDown(ConnectionError):
    pass


class RecordingPublisher:
    """Stands in for Celery's `send_task`; fails for the event ids in `fail_ids`."""

    def __init__(self, fail_ids: set[str] | None = None) -> None:
        self.fail_ids = set(fail_ids or ())
        self.sent: list[tuple[str, str | None, str]] = []

    def send_task(self, name: str, args: Any = (), queue: str | None = None,
                  **options: Any) -> None:
        envelope = args[0]
        if envelope["id"] in self.fail_ids:
            raise BrokerDown(f"broker unreachable while sending {envelope['id']}")
        assert options.get("retry") is False  # the relay must not block retrying on its own
        self.sent.append((name, queue, envelope["id"]))


def _expected_sends(events: list[Event]) -> list[tuple[str, str, str]]:
    return [(f"{service}.handle_event", service, e.id)
            for e in events for service in SUBSCRIPTIONS[e.type]]


# -- outbox -------------------------------------------------------------------------------------

def test_emit_refuses_an_event_type_nobody_declared(env: Env) -> None:
    with pytest.raises(ValueError, match=r"document\.uplaoded"), env.db.session() as session:
        env.outbox.emit(session, "document.uplaoded", {"id": "d-1"})
    assert env.rows() == []


def test_an_event_is_stored_only_if_the_change_beside_it_commits(env: Env) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), env.db.session() as session:
        session.execute(env.things.insert().values(name="rolled back"))
        env.outbox.emit(session, "document.uploaded", {"document": "d-1"})
        raise Abort

    assert env.rows() == []
    assert env.count(env.things) == 0

    with env.db.session() as session:
        session.execute(env.things.insert().values(name="kept"))
        event = env.outbox.emit(session, "document.uploaded", {"document": "d-2"})

    rows = env.rows()
    assert [r.event_id for r in rows] == [event.id]
    assert rows[0].payload == event.envelope()
    assert rows[0].published_at is None and rows[0].attempts == 0
    assert event.source == "intake"
    assert env.count(env.things) == 1


def test_relay_publishes_pending_events_in_order_to_every_subscriber_and_marks_them(
        env: Env) -> None:
    events = env.emit(("document.uploaded", {"n": 1}), ("packet.submitted", {"n": 2}),
                      ("list.published", {"n": 3}))
    publisher = RecordingPublisher()

    sent = env.outbox.relay_once(env.db, publisher)

    assert sent == 3
    assert publisher.sent == _expected_sends(events)
    rows = env.rows()
    assert all(r.published_at is not None for r in rows)
    assert [r.attempts for r in rows] == [1, 1, 1]
    assert [r.last_error for r in rows] == [None, None, None]

    assert env.outbox.relay_once(env.db, publisher) == 0
    assert len(publisher.sent) == len(_expected_sends(events))


def test_relay_sends_at_most_its_limit_per_round(env: Env) -> None:
    events = env.emit(*[("document.uploaded", {"n": n}) for n in range(5)])
    publisher = RecordingPublisher()

    assert env.outbox.relay_once(env.db, publisher, limit=2) == 2
    assert env.outbox.relay_once(env.db, publisher, limit=2) == 2
    assert env.outbox.relay_once(env.db, publisher, limit=2) == 1

    assert [s[2] for s in publisher.sent] == [e.id for e in events]


def test_relay_stops_at_a_failure_keeps_the_rest_pending_and_resumes_in_order(
        env: Env) -> None:
    events = env.emit(*[("document.uploaded", {"n": n}) for n in range(4)])
    down = RecordingPublisher(fail_ids={events[1].id})

    assert env.outbox.relay_once(env.db, down) == 1

    assert [s[2] for s in down.sent] == [events[0].id]
    rows = {r.event_id: r for r in env.rows()}
    assert rows[events[0].id].published_at is not None
    failed = rows[events[1].id]
    assert failed.published_at is None
    assert failed.attempts == 1
    assert "broker unreachable" in failed.last_error
    for later in events[2:]:  # never tried, so untouched
        assert rows[later.id].published_at is None
        assert rows[later.id].attempts == 0
        assert rows[later.id].last_error is None

    # Still down: the same event fails again, nothing behind it jumps the queue.
    assert env.outbox.relay_once(env.db, down) == 0
    assert {r.event_id: r for r in env.rows()}[events[1].id].attempts == 2

    healthy = RecordingPublisher()
    assert env.outbox.relay_once(env.db, healthy) == 3

    assert [s[2] for s in healthy.sent] == [e.id for e in events[1:]]
    rows = {r.event_id: r for r in env.rows()}
    assert all(r.published_at is not None for r in rows.values())
    assert rows[events[1].id].attempts == 3
    assert rows[events[1].id].last_error is None


def _fresh_postgres(new_database_url: Callable[[str, str], str],
                    open_database: Callable[[str], Database], name: str
                    ) -> tuple[Database, MetaData]:
    db = open_database(new_database_url("postgresql", name))
    metadata = _metadata()
    metadata.create_all(db.engine)
    return db, metadata


def test_two_relays_on_postgresql_never_publish_the_same_event_twice(
        new_database_url: Callable[[str, str], str],
        open_database: Callable[[str], Database]) -> None:
    db, metadata = _fresh_postgres(new_database_url, open_database, "two_relays")
    outbox = Outbox(metadata, source="intake")
    with db.session() as session:
        events = [outbox.emit(session, "document.uploaded", {"n": n}) for n in range(3)]

    first_send_started = threading.Event()
    release = threading.Event()

    class SlowPublisher(RecordingPublisher):
        def send_task(self, name: str, args: Any = (), queue: str | None = None,
                      **options: Any) -> None:
            first_send_started.set()
            assert release.wait(timeout=30)
            super().send_task(name, args, queue, **options)

    slow, fast = SlowPublisher(), RecordingPublisher()
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(outbox.relay_once(db, slow)))
    first.start()
    try:
        assert first_send_started.wait(timeout=30)
        # The first relay holds its batch; a second relay must skip it, not send it again.
        assert outbox.relay_once(db, fast) == 0
    finally:
        release.set()
        first.join(timeout=60)

    assert results == [3]
    assert fast.sent == []
    assert [s[2] for s in slow.sent] == [e.id for e in events]


def _wait_for(check: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_the_relay_thread_drains_the_outbox_in_the_background_and_stops_when_asked(
        env: Env) -> None:
    events = env.emit(*[("document.uploaded", {"n": n}) for n in range(3)])
    publisher = RecordingPublisher()
    relay = OutboxRelay(env.outbox, env.db, publisher, poll_seconds=0.05)
    # One send per subscribing service: list.published goes to more than one queue.
    def sends(evs: list[Event]) -> int:
        return sum(len(SUBSCRIPTIONS[e.type]) for e in evs)

    relay.start()
    try:
        assert _wait_for(lambda: len(publisher.sent) == sends(events))
        events += env.emit(("list.published", {"n": 3}))  # it keeps polling
        assert _wait_for(lambda: len(publisher.sent) == sends(events))
    finally:
        relay.stop()
    # A stopped relay must be joinable, e.g. by a worker shutting down cleanly.
    relay.join(timeout=10)
    assert not relay.is_alive()
    assert len(publisher.sent) == sends(events)
    assert list(dict.fromkeys(s[2] for s in publisher.sent)) == [e.id for e in events]
    assert all(r.published_at is not None for r in env.rows())


# -- inbox --------------------------------------------------------------------------------------

def _envelope(type_: str = "document.uploaded", event_id: str = "e-0001",
              payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return Event(id=event_id, type=type_, source="intake", occurred_at="2026-03-02T01:30:00+00:00",
                 payload=payload or {"name": "from-event"}).envelope()


def test_the_inbox_runs_a_handler_once_per_event_id(env: Env) -> None:
    calls: list[str] = []

    @env.inbox.on("document.uploaded")
    def record(session: Session, event: Event) -> None:
        calls.append(event.id)
        session.execute(env.things.insert().values(name=event.payload["name"]))

    assert env.inbox.handle(env.db, _envelope()) is True
    assert env.inbox.handle(env.db, _envelope()) is False

    assert calls == ["e-0001"]
    assert env.count(env.things) == 1
    assert env.count(env.inbox.table) == 1

    assert env.inbox.handle(env.db, _envelope(event_id="e-0002",
                                                      payload={"name": "other"})) is True
    assert calls == ["e-0001", "e-0002"]


def test_a_handlers_own_integrity_error_is_raised_not_taken_for_a_duplicate(env: Env) -> None:
    with env.db.session() as session:
        session.execute(env.things.insert().values(name="taken"))

    @env.inbox.on("document.uploaded")
    def clash(session: Session, event: Event) -> None:
        session.execute(env.things.insert().values(name="taken"))

    with pytest.raises(IntegrityError):
        env.inbox.handle(env.db, _envelope())

    assert env.count(env.inbox.table) == 0  # not recorded: a redelivery will try again
    assert env.count(env.things) == 1


def test_a_handler_that_raises_leaves_the_event_unrecorded_and_its_changes_undone(
        env: Env) -> None:
    @env.inbox.on("document.uploaded")
    def half_done(session: Session, event: Event) -> None:
        session.execute(env.things.insert().values(name="half"))
        raise RuntimeError("storage unreachable")

    with pytest.raises(RuntimeError):
        env.inbox.handle(env.db, _envelope())

    assert env.count(env.things) == 0
    assert env.count(env.inbox.table) == 0


def test_two_concurrent_deliveries_of_one_event_take_effect_once_on_postgresql(
        new_database_url: Callable[[str, str], str],
        open_database: Callable[[str], Database]) -> None:
    db, metadata = _fresh_postgres(new_database_url, open_database, "inbox_race")
    inbox = Inbox(metadata)
    effects = Table("effects", metadata, Column("id", Integer, primary_key=True))
    effects.create(db.engine)
    both_inside = threading.Barrier(2)

    @inbox.on("document.uploaded")
    def slow(session: Session, event: Event) -> None:
        session.execute(effects.insert().values())
        both_inside.wait(timeout=30)  # both deliveries passed the "already done?" check

    results: list[bool] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            results.append(inbox.handle(db, _envelope()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [False, True]
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(effects)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(inbox.table)).scalar_one() == 1


# -- through a real Celery app and Redis --------------------------------------------------------

@pytest.fixture
def celery_redis(backing: BackingServers) -> Iterator[str]:
    """A Redis database of this test's own (queues are named after services, so a fresh
    database is the only way to read them undisturbed), emptied before and after."""
    url = backing.redis_url_for(CELERY_REDIS_DB)
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def _queued(url: str, queue: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(url)
    try:
        raw = client.lrange(queue, 0, -1)
    finally:
        client.close()
    return [json.loads(item) for item in raw]


def _task_of(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(task name, envelope) of a Celery protocol 2 message as stored by kombu's Redis."""
    assert message["properties"]["body_encoding"] == "base64"
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert kwargs == {}
    return message["headers"]["task"], args[0]


def test_the_relay_puts_each_event_on_its_subscribers_queues_in_redis(
        celery_redis: str, new_database_url: Callable[[str, str], str],
        open_database: Callable[[str], Database]) -> None:
    db = open_database(new_database_url("postgresql", "relay_celery"))
    metadata = _metadata()
    metadata.create_all(db.engine)
    outbox = Outbox(metadata, source="intake")
    with db.session() as session:
        uploaded = outbox.emit(session, "document.uploaded", {"document": "d-1"})
        submitted = outbox.emit(session, "packet.submitted", {"packet": "p-1"})
    app = Celery("relay-test", broker=celery_redis, set_as_current=False)
    try:
        assert outbox.relay_once(db, app) == 2
    finally:
        app.close()

    documents = [_task_of(m) for m in _queued(celery_redis, "documents")]
    notify = [_task_of(m) for m in _queued(celery_redis, "notify")]
    # LPUSH puts the newest at the head; consumers pop from the tail, i.e. oldest first.
    assert list(reversed(documents)) == [("documents.handle_event", uploaded.envelope()),
                                         ("documents.handle_event", submitted.envelope())]
    assert notify == [("notify.handle_event", submitted.envelope())]
    assert _queued(celery_redis, "intake") == []
    with db.session() as session:
        assert outbox.pending(session, 10) == []


def test_an_unreachable_broker_leaves_events_pending_with_the_error(
        new_database_url: Callable[[str, str], str],
        open_database: Callable[[str], Database]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    db = open_database(new_database_url("sqlite", "relay_down"))
    metadata = _metadata()
    metadata.create_all(db.engine)
    outbox = Outbox(metadata, source="intake")
    with db.session() as session:
        event = outbox.emit(session, "document.uploaded", {"document": "d-1"})
    app = Celery("relay-down", broker=f"redis://127.0.0.1:{dead_port}/0", set_as_current=False)
    started = time.monotonic()
    try:
        assert outbox.relay_once(db, app) == 0
    finally:
        app.close()

    assert time.monotonic() - started < 30  # retry=False: fail fast, do not hang the relay
    with db.session() as session:
        (row,) = outbox.pending(session, 10)
    assert row.event_id == event.id
    assert row.attempts == 1
    assert row.last_error
