"""Intake's event handlers (thin: load the payload, call the domain)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery, signals
from sqlalchemy.orm import Session

from services.intake import awards, checklist, outcomes, resumable, standing
from shared.events import Event, Handler
from shared.messages import load_payload
from shared.service import ServiceContext

Step = Callable[[Session, dict[str, Any]], None]
# Each event's steps, in order, in the one transaction that marks the event handled.
HANDLERS: dict[str, tuple[Step, ...]] = {
    "document.inspected": (awards.record_inspection,),
    "packet.checked": (awards.record_completeness,),
    "list.published": (outcomes.record_list,),
    "award.decided": (awards.record_decision, outcomes.record_decision),
    "award.revoked": (awards.record_revocation, outcomes.record_revocation),
}


def _bind(steps: tuple[Step, ...]) -> Handler:
    def handle(session: Session, event: Event) -> None:
        payload = load_payload(event.type, event.payload)
        for step in steps:
            step(session, payload)

    return handle


def on_requirements_published(session: Session, event: Event) -> None:
    # The event's time orders announcements of one cycle that arrive out of order.
    checklist.record_requirements(session, load_payload(event.type, event.payload),
                                  event.occurred_at)


def register(celery: Celery, ctx: ServiceContext) -> None:
    for event_type, handler in HANDLERS.items():
        ctx.inbox.on(event_type)(_bind(handler))
    ctx.inbox.on("requirements.published")(on_requirements_published)
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
