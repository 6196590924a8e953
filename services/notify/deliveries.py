"""Delivery records: claimed before sending, marked right after, retried with backoff, parked
as dead after the last attempt.

The window of doubt is the moment between the receiver accepting a message and our record
saying so. It is kept to one round trip plus one commit per message: each delivery is marked
sent as soon as its own reply arrives, not at the end of a batch. If a worker dies inside it,
the redelivered task (same task id) takes the delivery back, flags it `in_doubt` and sends it
again with the same Message-ID / X-Dossier-Delivery id, which receivers use to drop the copy.
A different task can never take a delivery another task is sending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, bindparam, or_, select, update
from sqlalchemy.orm import Session

from services.notify.models import Delivery, Notification
from services.notify.retries import exhausted, next_attempt

CLAIMABLE = ("queued",)


def claim(session: Session, ids: Iterable[int], task_id: str, now: datetime,
          stale_after: float) -> list[tuple[Delivery, Notification]]:
    """Take the deliveries this task was sent for; returns them with their messages."""
    ids = list(ids)
    mine = (Delivery.status == "sending") & (Delivery.claimed_by == task_id)
    session.execute(update(Delivery).where(Delivery.id.in_(ids), mine)
                    .values(in_doubt=True))
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), or_(Delivery.status.in_(CLAIMABLE), mine))
        .values(status="sending", claimed_by=task_id, attempts=Delivery.attempts + 1,
                next_attempt_at=now + timedelta(seconds=stale_after)))
    rows = session.execute(
        select(Delivery, Notification)
        .join(Notification, Notification.id == Delivery.notification_id)
        .where(Delivery.id.in_(ids), Delivery.claimed_by == task_id,
               Delivery.status == "sending")
        .order_by(Delivery.id)).all()
    return [(d, n) for d, n in rows]


def mark_sent(session: Session, delivery_id: int, now: datetime) -> None:
    # A sent delivery is never sent again: its sealed credential has no more use.
    session.execute(update(Delivery).where(Delivery.id == delivery_id).values(
        status="sent", sent_at=now, last_error=None, sealed=None))


@contextmanager
def sent_marker(engine: Engine) -> Iterator[Callable[[int], None]]:
    """Marks deliveries sent one by one, each committed at once, over one connection held
    for a whole batch: the commit per message keeps the window of doubt to one message, the
    held connection keeps it cheap (a single autocommitted UPDATE on PostgreSQL)."""
    stmt = update(Delivery).where(Delivery.id == bindparam("delivery_id")).values(
        status="sent", sent_at=bindparam("at"), last_error=None, sealed=None)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")

            def mark(delivery_id: int) -> None:
                auto.execute(stmt, {"delivery_id": delivery_id, "at": datetime.now(UTC)})
        else:
            def mark(delivery_id: int) -> None:
                with conn.begin():
                    conn.execute(stmt, {"delivery_id": delivery_id, "at": datetime.now(UTC)})
        yield mark


def mark_failed(session: Session, delivery: Delivery, error: str, now: datetime, *,
                max_attempts: int, base_seconds: float, permanent: bool = False) -> str:
    """Back to pending with a later attempt time, or dead; returns the new status."""
    dead = permanent or exhausted(delivery.attempts, max_attempts)
    status = "dead" if dead else "pending"
    session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
        status=status, claimed_by=None, last_error=error[:2000],
        next_attempt_at=now if dead else next_attempt(now, delivery.attempts, base_seconds)))
    return status


def due(session: Session, now: datetime, limit: int) -> list[Delivery]:
    """Deliveries waiting to be queued, oldest first, locked against other dispatchers."""
    query = (select(Delivery).where(Delivery.status == "pending",
                                    Delivery.next_attempt_at <= now)
             .order_by(Delivery.next_attempt_at, Delivery.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


def mark_queued(session: Session, ids: list[int], stale_after: float, now: datetime) -> None:
    # next_attempt_at doubles as "give up waiting for the task at": see `recover_stale`.
    session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(
        status="queued", next_attempt_at=now + timedelta(seconds=stale_after)))


def unqueue(session: Session, ids: list[int]) -> None:
    session.execute(update(Delivery).where(Delivery.id.in_(ids), Delivery.status == "queued")
                    .values(status="pending", next_attempt_at=datetime.now(UTC)))


def recover_stale(session: Session, now: datetime) -> int:
    """Deliveries whose task vanished (parked by the poison cap, or lost) go back to pending;
    one caught mid-send is flagged in doubt."""
    stale = Delivery.status.in_(("queued", "sending")) & (Delivery.next_attempt_at < now)
    result = session.execute(update(Delivery).where(stale).values(
        in_doubt=Delivery.in_doubt | (Delivery.status == "sending"), status="pending",
        claimed_by=None, next_attempt_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def retry_dead(session: Session, delivery_id: int) -> Delivery | None:
    """An operator's retry: a fresh round of attempts."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None
    if delivery.status == "dead":
        delivery.status = "pending"
        delivery.attempts = 0
        delivery.claimed_by = None
        delivery.next_attempt_at = datetime.now(UTC)
    return delivery
