"""Intake's Celery side: the table of events it consumes (docs/events.md), each to the domain
functions it calls (thin: load the payload, call the domain), and its worker threads."""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from sqlalchemy.orm import Session

from services.intake import awards, checklist, outcomes, resumable, standing
from shared.events import Event, EventTable, with_payload
from shared.messages import load_payload
from shared.service import ServiceContext


def events(ctx: ServiceContext) -> EventTable:
    """Each event → its domain steps, in order, in the one transaction that marks it handled."""
    return {
        "document.inspected": with_payload(awards.record_inspection),
        "packet.checked": with_payload(awards.record_completeness),
        "list.published": with_payload(outcomes.record_list),
        "award.decided": with_payload(awards.record_decision, outcomes.record_decision),
        "award.revoked": with_payload(awards.record_revocation, outcomes.record_revocation),
        "requirements.published": on_requirements_published,
    }


def on_requirements_published(session: Session, event: Event) -> None:
    # The event's time orders announcements of one cycle that arrive out of order.
    checklist.record_requirements(session, load_payload(event.type, event.payload),
                                  event.occurred_at)


def register(celery: Celery, ctx: ServiceContext) -> None:
    ctx.inbox.subscribe(events(ctx))
    standing.install(ctx)
    start_upload_sweeper(ctx)
    start_standing_republisher(ctx)


def start_standing_republisher(ctx: ServiceContext) -> None:
    """Rewrite every account's standing in Redis from the worker (`standing.start_republisher`)."""
    stopper: dict[str, Any] = {}

    @signals.worker_ready.connect(weak=False)
    def start(sender: Any = None, **_: Any) -> None:
        stopper["stop"] = standing.start_republisher(ctx)

    @signals.worker_shutdown.connect(weak=False)
    def stop(sender: Any = None, **_: Any) -> None:
        if "stop" in stopper:
            stopper["stop"].set()


def start_upload_sweeper(ctx: ServiceContext) -> None:
    """Abort resumable uploads left past their expiry (`resumable.sweep`), from the worker."""
    stopper: dict[str, Any] = {}

    @signals.worker_ready.connect(weak=False)
    def start(sender: Any = None, **_: Any) -> None:
        stopper["stop"] = resumable.start_sweeper(ctx.store, ctx.settings.redis_url)

    @signals.worker_shutdown.connect(weak=False)
    def stop(sender: Any = None, **_: Any) -> None:
        if "stop" in stopper:
            stopper["stop"].set()
