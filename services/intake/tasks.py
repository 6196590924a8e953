"""Intake's event handlers (thin: load the payload, call the domain)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session

from services.intake import awards
from shared.events import Event, Handler
from shared.messages import load_payload
from shared.service import ServiceContext

HANDLERS: dict[str, Callable[[Session, dict[str, Any]], None]] = {
    "document.inspected": awards.record_inspection,
    "packet.checked": awards.record_completeness,
    "award.decided": awards.record_decision,
    "award.revoked": awards.record_revocation,
}


def _bind(handler: Callable[[Session, dict[str, Any]], None]) -> Handler:
    def handle(session: Session, event: Event) -> None:
        handler(session, load_payload(event.type, event.payload))

    return handle


def register(celery: Celery, ctx: ServiceContext) -> None:
    for event_type, handler in HANDLERS.items():
        ctx.inbox.on(event_type)(_bind(handler))
