"""One event → an inbox message per recipient and a delivery record per outward channel.

Everything here runs inside the transaction that marks the event as handled, so either the
event produced all its messages and deliveries or none; nothing is sent from here.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.notify import sealed as sealing
from services.notify.audience import addressees, resolve
from services.notify.confidentiality import references
from services.notify.messages import DEFAULT_LANGUAGE, LANGUAGES, render
from services.notify.models import Delivery, Notification, Preference, Recipient

# Events whose message differs per person: each owner reads their own result; a completeness
# check asks the applicant to complete the packet and the recommender to review it.
PERSONAL = frozenset({"award.decided", "packet.checked"})


@dataclass(frozen=True)
class Channels:
    """What the deployment offers: e-mail only where an SMTP server is configured."""

    email: bool


def delivery_key(event_id: str, recipient: str, channel: str) -> str:
    """The idempotency key of one delivery: event × recipient × channel."""
    return hashlib.sha256(f"{event_id}\x00{recipient}\x00{channel}".encode()).hexdigest()


def language_of(recipient: Recipient | None, pref: Preference | None) -> str:
    for choice in (pref.language if pref else None, recipient.language if recipient else None):
        if choice in LANGUAGES:
            return str(choice)
    return DEFAULT_LANGUAGE


def personal_references(event_type: str, payload: dict[str, Any], subject: str
                        ) -> dict[str, Any]:
    """What one person's message links to: a winner's own application (its page shows the
    decision letter and the certificate)."""
    if event_type == "award.decided":
        for result in payload.get("results") or []:
            if isinstance(result, dict) and result.get("owner") == subject:
                return {"application_id": str(result.get("application_id"))}
    return {}


def fan_out(session: Session, *, event_id: str, event_type: str, payload: dict[str, Any],
            channels: Channels, now: datetime, template_override: str | None = None,
            audience: list[dict[str, str]] | None = None) -> int:
    """Create the messages and deliveries of one event; returns how many people it reaches."""
    # A sealed credential (a set-password link) stays sealed: messages are kept with a
    # placeholder, deliveries keep the sealed value for the moment of sending.
    visible, sealed = sealing.for_rendering(event_type, payload)
    # Payload-only templates render the same for everyone: render once per event.
    shared = render(event_type, visible, template_override)
    if shared is None:
        return 0  # a fact notify keeps (directory, deadlines) but tells nobody about
    shared = sealing.redact(shared)
    subjects = resolve(session, audience if audience is not None
                       else addressees(event_type, payload))
    if not subjects:
        return 0
    done = set(session.execute(select(Notification.recipient).where(
        Notification.event_id == event_id)).scalars())
    subjects = [s for s in subjects if s not in done]
    if not subjects:
        return 0
    people = {r.subject: r for r in session.execute(
        select(Recipient).where(Recipient.subject.in_(subjects))).scalars()}
    prefs = {p.subject: p for p in session.execute(
        select(Preference).where(Preference.subject.in_(subjects))).scalars()}
    messages: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    per_person = event_type in PERSONAL
    refs = references(payload)
    digest = is_digest(event_type, payload)
    if digest:
        refs = {**refs, "digest": "uploads"}
    folded = 0
    for subject in subjects:
        person, pref = people.get(subject), prefs.get(subject)
        rendered, own_refs = shared, refs
        if per_person:
            rendered = render(event_type, visible, template_override, extra={"recipient": {
                "subject": subject, "name": person.name if person else "",
                "role": person.role if person else ""}}) or shared
            rendered = sealing.redact(rendered)
            own_refs = {**refs, **personal_references(event_type, payload, subject)}
        if digest and _fold(session, subject, event_id, own_refs, rendered, now):
            folded += 1
            continue
        message_id = str(uuid.uuid4())
        messages.append({
            "id": message_id, "recipient": subject, "event_id": event_id,
            "event_type": event_type, "title_zh": rendered.title["zh-CN"][:300],
            "title_en": rendered.title["en"][:300], "body_zh": rendered.body["zh-CN"],
            "body_en": rendered.body["en"], "created_at": now, "refs": own_refs})
        muted = event_type in (pref.muted or []) if pref else False
        if muted or (person is not None and not person.active):
            continue
        lang = language_of(person, pref)
        targets: list[tuple[str, str]] = []
        if channels.email and person is not None and person.email and (pref is None or pref.email):
            targets.append(("email", person.email))
        if pref is not None and pref.webhook and pref.webhook_url:
            targets.append(("webhook", pref.webhook_url))
        for channel, target in targets:
            deliveries.append({
                "key": delivery_key(event_id, subject, channel), "notification_id": message_id,
                "event_id": event_id, "event_type": event_type, "recipient": subject,
                "channel": channel, "target": target, "language": lang, "status": "pending",
                "attempts": 0, "next_attempt_at": now, "in_doubt": False, "created_at": now,
                "sealed": sealed})
    if messages:
        session.execute(insert(Notification), messages)
    if deliveries:
        session.execute(insert(Delivery), deliveries)
    return len(messages) + folded


def is_digest(event_type: str, payload: dict[str, Any]) -> bool:
    """A draft's checklist after its uploads' inspections settled: the owner's upload digest."""
    return event_type == "packet.checked" and payload.get("submission") == 0


def _fold(session: Session, subject: str, event_id: str, refs: dict[str, Any],
          rendered: Any, now: datetime) -> bool:
    """Bring the person's unread upload digest of this application up to date instead of adding
    another message (and another e-mail): uploading ten files one after another leaves one
    message saying where the packet stands. A digest already read is left alone."""
    unread = session.execute(select(Notification).where(
        Notification.recipient == subject, Notification.event_type == "packet.checked",
        Notification.read_at.is_(None))).scalars()
    for message in unread:
        known = message.refs or {}
        if known.get("digest") == "uploads" and \
                known.get("application_id") == refs.get("application_id"):
            message.event_id, message.created_at, message.refs = event_id, now, refs
            message.title_zh, message.title_en = (rendered.title["zh-CN"][:300],
                                                  rendered.title["en"][:300])
            message.body_zh, message.body_en = rendered.body["zh-CN"], rendered.body["en"]
            return True
    return False
