"""The delivery relay: a loop in the worker's main process that queues due deliveries.

Deliveries are the outbox of the outward channels: written with the inbox message, then queued
here as tasks — e-mails in batches on `notify.email`, webhooks one per task on
`notify.webhook` — so a slow SMTP server and a slow webhook never wait for each other. Rows stay
locked until the tasks are published (PostgreSQL row locks, SQLite's write lock), so a task can
never see its delivery before it is marked queued.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.notify.deliveries import due, mark_queued, recover_stale, unqueue
from shared.events import Publisher

log = logging.getLogger(__name__)

EMAIL_QUEUE = "notify.email"
WEBHOOK_QUEUE = "notify.webhook"
SWEEP_SECONDS = 30.0


def dispatch_once(session_factory: Callable[[], Any], publisher: Publisher, *, batch: int,
                  stale_after: float, limit: int = 2000) -> int:
    """Queue up to `limit` due deliveries; returns how many were queued.

    The rows are marked queued and committed before their tasks are published: a task that
    starts at once must find them queued, or it would pass them over. If publishing fails
    they go back to pending; if this process dies in between, `recover_stale` frees them, and
    a task that arrives twice finds its deliveries already taken.
    """
    now = datetime.now(UTC)
    with session_factory() as session:
        rows = due(session, now, limit)
        if not rows:
            return 0
        emails = [d.id for d in rows if d.channel == "email"]
        hooks = [d.id for d in rows if d.channel == "webhook"]
        mark_queued(session, [d.id for d in rows], stale_after, now)
    try:
        acquire = getattr(publisher, "producer_or_acquire", None)
        with acquire() if acquire else contextlib.nullcontext() as producer:
            extra = {"producer": producer} if producer is not None else {}
            for i in range(0, len(emails), batch):
                publisher.send_task("notify.send_email", args=[emails[i:i + batch]],
                                    queue=EMAIL_QUEUE, retry=False, **extra)
            for hook in hooks:
                publisher.send_task("notify.send_webhook", args=[hook], queue=WEBHOOK_QUEUE,
                                    retry=False, **extra)
    except Exception:
        with session_factory() as session:
            unqueue(session, emails + hooks)
        raise
    return len(rows)


class DeliveryRelay(threading.Thread):
    def __init__(self, session_factory: Callable[[], Any], publisher: Publisher, *,
                 batch: int, stale_after: float, poll_seconds: float) -> None:
        super().__init__(name="notify-delivery-relay", daemon=True)
        self.session_factory = session_factory
        self.publisher = publisher
        self.batch = batch
        self.stale_after = stale_after
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()

    def run(self) -> None:
        last_sweep = 0.0
        while not self._stopping.is_set():
            wait = self.poll_seconds
            try:
                if time.monotonic() - last_sweep > SWEEP_SECONDS:
                    with self.session_factory() as session:
                        recovered = recover_stale(session, datetime.now(UTC))
                    if recovered:
                        log.warning("%d orphaned deliveries put back in line", recovered)
                    last_sweep = time.monotonic()
                if dispatch_once(self.session_factory, self.publisher, batch=self.batch,
                                 stale_after=self.stale_after):
                    wait = 0.05  # more may be waiting; give the batch a moment to fill
            except Exception:
                log.exception("delivery relay round failed")
                wait = min(self.poll_seconds * 10, 10.0)
            self._stopping.wait(wait)

    def stop(self) -> None:
        self._stopping.set()
