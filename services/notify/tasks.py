"""Notify's Celery side: the table of events it consumes (docs/events.md), each to the handler
that calls the domain (thin: load, call domain, save), and its sending tasks."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from celery import Celery, Task, signals
from celery.schedules import crontab
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.notify import reminders, sending
from services.notify.audience import worth_telling
from services.notify.directory import parse_day, save_account, save_cycle
from services.notify.dispatcher import EMAIL_QUEUE, WEBHOOK_QUEUE, DeliveryRelay
from services.notify.fanout import Channels, fan_out
from shared import clock
from shared.events import SUBSCRIPTIONS, Event, EventTable, Handler
from shared.service import ServiceContext

log = logging.getLogger(__name__)


def _channels(ctx: ServiceContext) -> Channels:
    return Channels(email=ctx.settings.mail_enabled)


def today(ctx: ServiceContext, given: str | None = None) -> date:
    """The reminder run's date: an explicit argument, the setting, or the office's today."""
    day = parse_day(given or ctx.settings.notify_today)
    return day or clock.today()


def events(ctx: ServiceContext) -> EventTable:
    """Each event the contract routes to notify (`shared.events.SUBSCRIPTIONS`) → its handler:
    accounts and cycles are kept in the directory; every other event may tell people."""
    tell = partial(on_event, ctx)
    table: dict[str, Handler] = {event_type: tell for event_type, consumers
                                 in SUBSCRIPTIONS.items() if "notify" in consumers}
    table["account.saved"] = on_account_saved
    table["cycle.saved"] = partial(on_cycle_saved, ctx)
    return table


def on_account_saved(session: Session, event: Event) -> None:
    save_account(session, event.payload, datetime.now(UTC))


def on_cycle_saved(ctx: ServiceContext, session: Session, event: Event) -> None:
    save_cycle(session, event.payload)
    on_event(ctx, session, event)  # a cycle's dates are deadlines to remind people of


def on_event(ctx: ServiceContext, session: Session, event: Event) -> None:
    payload = event.payload
    now = datetime.now(UTC)
    reminders.learn(session, event.type, payload)
    if not worth_telling(event.type, payload):
        return  # kept for reminders, but nobody has to act on it (`audience.worth_telling`)
    fan_out(session, event_id=event.id, event_type=event.type, payload=payload,
            channels=_channels(ctx), now=now, template_override=ctx.settings.notify_templates)


def send_reminders(ctx: ServiceContext, day: date) -> int:
    sent = 0
    with ctx.db.session() as session:
        due = reminders.due_reminders(session, ctx.calendar, day)
    for r in due:
        # One transaction per reminder: a failure later in the list keeps the earlier ones.
        try:
            with ctx.db.session() as session:
                sent += fan_out(session, event_id=r.event_id, event_type=r.event_type,
                                payload=r.payload, channels=_channels(ctx),
                                now=datetime.now(UTC),
                                template_override=ctx.settings.notify_templates,
                                audience=r.audience)
                reminders.mark_reminded(session, r.deadline_id)
        except IntegrityError:
            # A concurrent run (a second beat, a redelivered task) wrote this one first.
            log.info("reminder %s already sent by a concurrent run", r.event_id)
    log.info("reminders for %s: %d deadlines, %d messages", day, len(due), sent)
    return sent


def register(celery: Celery, ctx: ServiceContext) -> None:
    ctx.inbox.subscribe(events(ctx))

    @celery.task(name="notify.send_email", bind=True)
    def send_email(self: Task, ids: list[int]) -> int:
        return sending.send_emails(ctx.db, ctx.settings, [int(i) for i in ids],
                                   self.request.id or "")

    @celery.task(name="notify.send_webhook", bind=True)
    def send_webhook(self: Task, delivery_id: int) -> bool:
        return sending.send_webhook(ctx.db, ctx.settings, int(delivery_id), self.request.id or "")

    @celery.task(name="notify.send_reminders", bind=True)
    def send_reminders_task(self: Task, day: str | None = None) -> int:
        return send_reminders(ctx, today(ctx, day))

    hour, _, minute = ctx.settings.notify_reminder_time.partition(":")
    celery.conf.beat_schedule = {
        "notify-reminders": {"task": "notify.send_reminders",
                             "schedule": crontab(hour=int(hour), minute=int(minute or 0))},
    }
    _wire_worker(celery, ctx)


def _wire_worker(celery: Celery, ctx: ServiceContext) -> None:
    relay: dict[str, DeliveryRelay] = {}

    @signals.celeryd_after_setup.connect(weak=False)
    def consume_channel_queues(sender: Any = None, instance: Any = None, **_: Any) -> None:
        # `-Q notify` plus the channel queues, unless the operator chose queues explicitly
        # for a dedicated channel worker (`-Q notify.email`).
        queues = instance.app.amqp.queues
        if ctx.name in queues.consume_from:
            for name in (EMAIL_QUEUE, WEBHOOK_QUEUE):
                queues.select_add(name)

    @signals.worker_ready.connect(weak=False)
    def start_relay(sender: Any = None, **_: Any) -> None:
        thread = DeliveryRelay(ctx.db.session, celery, batch=ctx.settings.notify_batch,
                               stale_after=sending.stale_after(ctx.settings),
                               poll_seconds=ctx.settings.outbox_poll_seconds)
        thread.start()
        relay["thread"] = thread

    @signals.worker_shutdown.connect(weak=False)
    def stop_relay(sender: Any = None, **_: Any) -> None:
        if "thread" in relay:
            relay["thread"].stop()

    @signals.worker_process_init.connect(weak=False)
    def fresh_connections(**_: Any) -> None:
        sending.drop_connections()
