"""The recipient directory and the cycle calendar notify keeps from other services' events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from services.notify.messages import DEFAULT_LANGUAGE, LANGUAGES
from services.notify.models import Cycle, Recipient


def parse_day(value: Any) -> date | None:
    """A date from an ISO date or date-time string (a deadline may come with a time)."""
    if isinstance(value, date):
        return value
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def save_account(session: Session, payload: dict[str, Any], now: datetime) -> None:
    subject = str(payload["subject"])
    person = session.get(Recipient, subject) or Recipient(subject=subject)
    language = payload.get("language")
    person.role = str(payload.get("role") or "")
    person.unit = payload.get("unit") or None
    person.name = str(payload.get("name") or "")
    person.email = (payload.get("email") or None)
    person.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    person.active = bool(payload.get("active", True))
    person.updated_at = now
    session.add(person)


def save_cycle(session: Session, payload: dict[str, Any]) -> Cycle:
    cycle = session.get(Cycle, str(payload["cycle"])) or Cycle(cycle=str(payload["cycle"]))
    cycle.title = str(payload.get("title") or payload["cycle"])
    cycle.closes_on = parse_day(payload.get("closes_on"))
    session.add(cycle)
    return cycle
