"""Events between services: envelopes, who subscribes to what, the outbox and the inbox.

A service never calls another. It records a fact as an event in its own database, in the same
transaction as the change (the outbox); a relay in its worker publishes the event afterwards to
each subscribing service's queue as the task `<service>.handle_event`. A broker outage delays
events but loses none. Consumers record each event id they have handled in the same transaction
as the handling (the inbox), so a redelivered event is a no-op.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import MetaData, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database
from shared.logs import correlation_id
from shared.messages import check_payload, load_payload

log = logging.getLogger(__name__)

# Event type → services whose `<service>.handle_event` task receives it. One table for the whole
# system, so a reader sees every flow at a glance; adding a subscriber is a one-line change here
# plus a handler in that service. Payloads: docs/events.md and shared/messages/.
SUBSCRIPTIONS: Mapping[str, tuple[str, ...]] = {
    # intake
    "account.saved": ("notify",),  # also emitted by review for experts
    "account.invited": ("notify",),
    "cycle.saved": ("documents", "review", "notify"),
    "document.uploaded": ("documents",),
    "document.deleted": ("documents",),
    "packet.submitted": ("documents", "notify"),
    "packet.returned": ("notify",),
    "packet.recommended": ("notify",),
    "packet.accepted": ("review", "notify"),
    "packet.rejected": ("notify",),
    "acceptance.published": ("review", "notify"),
    # documents
    "document.inspected": ("intake", "notify"),
    "packet.checked": ("intake", "notify"),
    "requirements.published": ("intake", "review"),
    # review
    "assignment.made": ("notify",),
    "assignment.requested": ("review",),  # a panel's assignment job, run on review's worker
    "recusal.recorded": ("notify",),
    "objection.received": ("notify",),
    "opinions.completed": ("notify",),
    "list.published": ("intake", "notify"),  # intake: the applicant's timeline
    "award.decided": ("intake", "notify"),
    "award.revoked": ("intake", "notify"),
}


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    source: str
    occurred_at: str
    payload: dict[str, Any]
    correlation_id: str = "-"

    def envelope(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "source": self.source,
                "occurred_at": self.occurred_at, "payload": self.payload,
                "correlation_id": self.correlation_id}

    @classmethod
    def from_envelope(cls, data: Mapping[str, Any]) -> Event:
        return cls(id=str(data["id"]), type=str(data["type"]), source=str(data["source"]),
                   occurred_at=str(data["occurred_at"]), payload=dict(data["payload"]),
                   correlation_id=str(data.get("correlation_id") or "-"))


class Publisher(Protocol):
    """What the relay needs from Celery: send a task by name to a queue."""

    def send_task(self, name: str, args: Sequence[Any] | None = ..., *,
                  queue: str | None = ..., **options: Any) -> Any: ...


class Outbox:
    """Writes events beside the change that caused them and relays them afterwards."""

    def __init__(self, metadata: MetaData, source: str) -> None:
        self.table = metadata.tables["outbox"]
        self.source = source
        self.broker_failing = False  # set by the last relay round; the relay backs off on it

    def emit(self, session: Session, type_: str, payload: dict[str, Any]) -> Event:
        if type_ not in SUBSCRIPTIONS:
            # A typo here would silently drop a flow; make it loud at the first test instead.
            raise ValueError(f"unknown event type {type_!r}; declare it in SUBSCRIPTIONS")
        check_payload(type_, payload)
        event = Event(id=str(uuid.uuid4()), type=type_, source=self.source,
                      occurred_at=datetime.now(UTC).isoformat(), payload=payload,
                      correlation_id=correlation_id.get())
        session.execute(self.table.insert().values(
            event_id=event.id, type=event.type, payload=event.envelope(),
            occurred_at=datetime.now(UTC), attempts=0,
        ))
        return event

    def pending(self, session: Session, limit: int) -> list[Any]:
        query = (select(self.table).where(self.table.c.published_at.is_(None))
                 .order_by(self.table.c.seq).limit(limit))
        return list(session.execute(query))

    def relay_once(self, db: Database, publisher: Publisher, limit: int = 500) -> int:
        """Publish up to `limit` pending events; returns how many went out.

        Read, publish, then record, each apart: no transaction is open while the broker is
        called (on SQLite it would hold the file's write lock). Stops at the first failure (the
        broker is most likely down) and leaves that event and the rest pending, in order, for
        the next round. A crash between publishing and recording publishes again; the inbox
        makes that a no-op.
        """
        with self._one_relay(db) as mine:
            if not mine:
                return 0  # another relay of this service is in its round
            with db.reader() as session:
                rows = self.pending(session, limit)
            if not rows:
                return 0
            published, failed = self._publish(rows, publisher)
            self.broker_failing = failed is not None
            # Recorded before the next relay may read: it must not find these still pending.
            with db.session() as session:
                if published:
                    session.execute(update(self.table).where(self.table.c.seq.in_(published))
                                    .values(published_at=datetime.now(UTC),
                                            attempts=self.table.c.attempts + 1,
                                            last_error=None))
                if failed is not None:
                    row, exc = failed
                    session.execute(update(self.table).where(self.table.c.seq == row.seq)
                                    .values(attempts=row.attempts + 1,
                                            last_error=str(exc)[:2000]))
        if failed is not None:
            log.warning("outbox: publishing %s failed (%s); will retry", failed[0].event_id,
                        failed[1])
        return len(published)

    @staticmethod
    def _publish(rows: list[Any], publisher: Publisher
                 ) -> tuple[list[int], tuple[Any, Exception] | None]:
        published: list[int] = []
        try:
            # One producer (one connection) for the whole batch.
            acquire = getattr(publisher, "producer_or_acquire", None)
            with acquire() if acquire else contextlib.nullcontext() as producer:
                extra = {"producer": producer} if producer is not None else {}
                for row in rows:
                    try:
                        for service in SUBSCRIPTIONS.get(row.type, ()):
                            publisher.send_task(f"{service}.handle_event", args=[row.payload],
                                                queue=service, retry=False, **extra)
                    except Exception as exc:  # any broker failure: keep the row pending
                        return published, (row, exc)
                    published.append(row.seq)
        except Exception as exc:  # the producer itself could not be had
            return published, (rows[len(published)], exc)
        return published, None

    @contextlib.contextmanager
    def _one_relay(self, db: Database) -> Iterator[bool]:
        """On PostgreSQL, where scaled workers each run a relay, one of them at a time per
        service: a session-level advisory lock on an autocommit connection, so it holds no
        transaction (and no row) while the round publishes. SQLite runs one worker per
        service; a rare double publish there is absorbed by the inbox."""
        if db.dialect != "postgresql":
            yield True
            return
        key = {"k": f"dossier-outbox:{self.source}"}
        with db.engine.connect() as conn:
            # Not a writer: in autocommit mode nothing stays open between statements.
            conn.execution_options(isolation_level="AUTOCOMMIT", dossier_readonly=True)
            mine = bool(conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"),
                                     key).scalar())
            try:
                yield mine
            finally:
                if mine:
                    conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), key)


class OutboxRelay(threading.Thread):
    """Background loop in a worker's main process that drains the outbox."""

    def __init__(self, outbox: Outbox, db: Database, publisher: Publisher,
                 poll_seconds: float) -> None:
        super().__init__(name=f"outbox-relay-{outbox.source}", daemon=True)
        self.outbox = outbox
        self.db = db
        self.publisher = publisher
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()

    def run(self) -> None:
        backoff = self.poll_seconds
        while not self._stopping.is_set():
            try:
                sent = self.outbox.relay_once(self.db, self.publisher)
                if self.outbox.broker_failing:
                    backoff = min(max(backoff, self.poll_seconds) * 2, 10.0)
                else:
                    backoff = self.poll_seconds
                    if sent:
                        continue  # more may be waiting; don't sleep between full batches
            except Exception:
                log.exception("outbox relay round failed")
                backoff = min(backoff * 2, 10.0)
            self._stopping.wait(backoff)

    def stop(self) -> None:
        self._stopping.set()


Handler = Callable[..., None]  # (session, event) or, after a slow step, (session, event, result)
SlowStep = Callable[[Event], Any]


@dataclass(frozen=True)
class Subscription:
    handler: Handler
    slow: SlowStep | None = None


Step = Callable[[Session, dict[str, Any]], None]  # a domain function: (session, payload)
# A service's events in one table (its `tasks.events(ctx)`): event type → the handler that calls
# the domain, or a Subscription when the handler has a slow step to run first.
EventTable = Mapping[str, Handler | Subscription]


def with_payload(*steps: Step) -> Handler:
    """A handler that hands the event's payload, as its schema loads it, to each domain step in
    turn, in the one transaction that marks the event handled."""
    def handle(session: Session, event: Event) -> None:
        payload = load_payload(event.type, event.payload)
        for step in steps:
            step(session, payload)

    return handle


class Inbox:
    """Dispatches incoming events to handlers, exactly once per event id per service.

    One pattern for every service, so that no transaction spans slow work: (1) a read without
    any lock: already handled? then stop; (2) the handler's slow step, if it has one
    (download, inspection, render, any network call), with no transaction open; (3) one short
    writer transaction that checks again, applies the result and records the event id.
    """

    def __init__(self, metadata: MetaData) -> None:
        self.table = metadata.tables["processed_events"]
        self.handlers: dict[str, Subscription] = {}

    def on(self, type_: str, *, slow: SlowStep | None = None) -> Callable[[Handler], Handler]:
        """Register `handler(session, event)`; with `slow`, `slow(event)` runs first outside
        any transaction and the handler gets its result: `handler(session, event, result)`."""
        def register(fn: Handler) -> Handler:
            self.handlers[type_] = Subscription(fn, slow)
            return fn
        return register

    def subscribe(self, table: EventTable) -> None:
        """Register a service's whole event table (see `EventTable`)."""
        for type_, entry in table.items():
            sub = entry if isinstance(entry, Subscription) else Subscription(entry)
            self.on(type_, slow=sub.slow)(sub.handler)

    def handle(self, db: Database, envelope: Mapping[str, Any]) -> bool:
        """Handle one delivery; False if the event was already handled."""
        event = Event.from_envelope(envelope)
        token = correlation_id.set(event.correlation_id)
        try:
            return self._handle(db, event)
        finally:
            correlation_id.reset(token)

    def _done(self, session: Session, event: Event) -> bool:
        return session.execute(
            select(self.table.c.event_id).where(self.table.c.event_id == event.id)
        ).first() is not None

    def _handle(self, db: Database, event: Event) -> bool:
        sub = self.handlers.get(event.type)
        log.info("event %s %s from %s", event.type, event.id, event.source)
        with db.reader() as session:
            if self._done(session, event):
                return False
        result = sub.slow(event) if sub is not None and sub.slow is not None else None

        def apply(session: Session) -> bool:
            if self._done(session, event):
                return False  # a concurrent delivery finished while we worked
            if sub is not None:
                if sub.slow is not None:
                    sub.handler(session, event, result)
                else:
                    sub.handler(session, event)
            session.execute(self.table.insert().values(
                event_id=event.id, type=event.type, processed_at=datetime.now(UTC)))
            return True

        try:
            return db.transact(apply)
        except IntegrityError:
            with db.reader() as session:
                done = self._done(session, event)
            if not done:
                raise  # the handler's own constraint failed: a real error
            # A concurrent redelivery won the race and committed first: that is success.
            log.info("event %s already processed by a concurrent delivery", event.id)
            return False
