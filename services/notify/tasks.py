"""Notify's event handlers: each event becomes inbox messages for the people concerned."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify.messages import render
from services.notify.models import Notification
from shared.events import Event
from shared.service import ServiceContext


def deliver_to_inbox(session: Session, event: Event, recipient: str) -> None:
    rendered = render(event.type, event.payload)
    if rendered is None:
        return
    exists = session.execute(select(Notification.id).where(
        Notification.event_id == event.id, Notification.recipient == recipient)).first()
    if exists:
        return
    session.add(Notification(
        id=str(uuid.uuid4()), recipient=recipient, event_id=event.id, event_type=event.type,
        title_zh=rendered.title["zh-CN"], title_en=rendered.title["en"],
        body_zh=rendered.body["zh-CN"], body_en=rendered.body["en"],
        created_at=datetime.now(UTC)))


def register(celery: Celery, ctx: ServiceContext) -> None:
    @ctx.inbox.on("document.inspected")
    def on_document_inspected(session: Session, event: Event) -> None:
        deliver_to_inbox(session, event, event.payload["owner"])
