"""Reminders: which deadlines are due today, counted in Chinese working days, and how the
deadlines are learnt from events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.notify.directory import parse_day
from services.notify.models import Cycle, Deadline
from shared.workdays import WorkCalendar

RULES = Path(__file__).parent / "templates" / "reminders.yaml"
NAMESPACE = uuid.UUID("6f1c1d0e-6a43-4c61-9d55-0d7c8e7a1f00")
OVERSIGHT = [{"role": "operator"}, {"role": "supervisor"}]


@lru_cache(maxsize=2)
def rules(path: Path = RULES) -> dict[str, dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def workdays_left(calendar: WorkCalendar, today: date, due_on: date) -> int:
    """Working days from tomorrow up to and including `due_on`."""
    return calendar.workdays_between(today + timedelta(days=1), due_on)


def is_due(calendar: WorkCalendar, today: date, due_on: date, lead: int) -> bool:
    """Remind on a working day when `lead` or fewer working days remain, or on the day
    itself if the run on the day before was missed."""
    if today > due_on or not calendar.is_workday(today):
        return False
    return workdays_left(calendar, today, due_on) <= lead


@dataclass(frozen=True)
class Reminder:
    event_id: str
    event_type: str
    payload: dict[str, Any]
    audience: list[dict[str, Any]]
    deadline_id: int


def reminder_event_id(kind: str, ref: str, due_on: date) -> str:
    # Deterministic: a second run on the same day (or a redelivered task) finds it done.
    return str(uuid.uuid5(NAMESPACE, f"{kind}\x00{ref}\x00{due_on.isoformat()}"))


def due_reminders(session: Session, calendar: WorkCalendar, today: date) -> list[Reminder]:
    found: list[Reminder] = []
    known = rules()
    rows = session.execute(select(Deadline).where(
        Deadline.active.is_(True), Deadline.due_on.is_not(None), Deadline.due_on >= today))
    for d in rows.scalars():
        rule = known.get(d.kind)
        if rule is None or d.due_on is None or d.reminded_on == d.due_on:
            continue
        if not is_due(calendar, today, d.due_on, int(rule.get("lead_workdays", 1))):
            continue
        payload = {**d.data, "due_on": d.due_on.isoformat(),
                   "workdays_left": workdays_left(calendar, today, d.due_on)}
        found.append(Reminder(reminder_event_id(d.kind, d.ref, d.due_on), f"reminder.{d.kind}",
                              payload, list(d.audience), d.id))
    return found


def mark_reminded(session: Session, deadline_id: int) -> None:
    # reminded_on records which date was announced; a moved deadline is reminded again.
    session.execute(update(Deadline).where(Deadline.id == deadline_id)
                    .values(reminded_on=Deadline.due_on))


def _upsert(session: Session, kind: str, ref: str, *, cycle: str | None, due_on: date | None,
            audience: list[dict[str, Any]], data: dict[str, Any], active: bool = True) -> None:
    row = session.execute(select(Deadline).where(Deadline.kind == kind, Deadline.ref == ref)
                          ).scalar_one_or_none()
    if row is None:
        row = Deadline(kind=kind, ref=ref)
        session.add(row)
    row.cycle, row.due_on, row.audience, row.data, row.active = (
        cycle, due_on, audience, data, active)


def _deactivate(session: Session, kind: str, ref: str) -> None:
    session.execute(update(Deadline).where(Deadline.kind == kind, Deadline.ref == ref)
                    .values(active=False))


def learn(session: Session, event_type: str, p: dict[str, Any]) -> None:
    """Record or retire the deadlines an event announces."""
    if event_type in {"acceptance.published", "list.published"} and p.get("list_id"):
        _upsert(session, "publicity_closing", str(p["list_id"]), cycle=p.get("cycle"),
                due_on=parse_day(p.get("ends_on")), audience=OVERSIGHT,
                data={"list_id": p["list_id"], "cycle": p.get("cycle"),
                      "list_kind": p.get("kind") or "acceptance",
                      "entries": len(p.get("entries") or [])})
    elif event_type == "assignment.made" and p.get("expert"):
        ref = f"{p.get('cycle')}:{p.get('stage')}:{p['expert']}"
        _upsert(session, "review_deadline", ref, cycle=p.get("cycle"),
                due_on=parse_day(p.get("deadline")), audience=[{"subject": p["expert"]}],
                data={"cycle": p.get("cycle"), "stage": p.get("stage"),
                      "applications": len(p.get("applications") or [])})
    elif event_type == "packet.checked" and p.get("application_id"):
        ref = str(p["application_id"])
        if p.get("status") == "complete":
            _deactivate(session, "documents_missing", ref)
            return
        closes = session.get(Cycle, str(p.get("cycle"))) if p.get("cycle") else None
        _upsert(session, "documents_missing", ref, cycle=p.get("cycle"),
                due_on=closes.closes_on if closes else None,
                audience=[{"subject": p.get("owner")}] if p.get("owner") else [],
                data={"application_id": ref, "cycle": p.get("cycle"),
                      "missing": list(p.get("missing") or []),
                      "missing_titles": list(p.get("missing_titles") or [])})
    elif event_type in {"packet.accepted", "packet.rejected"} and p.get("application_id"):
        _deactivate(session, "documents_missing", str(p["application_id"]))
    elif event_type == "cycle.saved" and p.get("cycle"):
        session.execute(update(Deadline).where(
            Deadline.kind == "documents_missing", Deadline.cycle == str(p["cycle"]))
            .values(due_on=parse_day(p.get("closes_on"))))
