"""What became of accepted applications after review, learnt from review's events only
(`list.published`, `award.decided`, `award.revoked`; intake never reads review's code or
tables). The applicant's timeline (`timeline.py`) reads what is kept here."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import timeline
from services.intake.models import AcceptanceList, Application, Outcome
from shared import clock


def _day(value: Any, fallback: date | None = None) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else fallback
    except ValueError:
        return fallback


def _accepted(session: Session, cycle: str) -> list[Application]:
    return list(session.execute(select(Application).where(
        Application.cycle == cycle, Application.status == "accepted")).scalars())


def _row(session: Session, app_id: str, cycle: str) -> Outcome:
    row = session.get(Outcome, app_id)
    if row is None:
        row = Outcome(application_id=app_id, cycle=cycle, updated_at=clock.now())
        session.add(row)
    return row


def record_list(session: Session, payload: dict[str, Any]) -> None:
    """A recommendation list under publicity: each accepted application of the cycle is on
    it or not. The final list adds nothing the decision does not say."""
    if payload.get("kind") != "recommendation":
        return
    cycle = str(payload["cycle"])
    listed = {str(e["application_id"]) for e in payload.get("entries") or []}
    for app in _accepted(session, cycle):
        row = _row(session, app.id, cycle)
        row.listed = app.id in listed
        if row.listed:
            row.publicity_starts_on = _day(payload.get("starts_on"))
            row.publicity_ends_on = _day(payload.get("ends_on"))
        row.updated_at = clock.now()


def record_decision(session: Session, payload: dict[str, Any],
                    today: date | None = None) -> None:
    """The decision: the tier (award or nomination) of those on it, and "not awarded" for every
    other accepted application of the cycle."""
    cycle = str(payload["cycle"])
    decided_on = _day(payload.get("decided_on"),
                      today or clock.today())
    results = {str(r["application_id"]): r for r in payload.get("results") or []}
    ids = {a.id for a in _accepted(session, cycle)} | set(results)
    for app_id in sorted(ids):
        row = _row(session, app_id, cycle)
        result = results.get(app_id) or {}
        row.decided_on = decided_on
        row.tier = result.get("tier")
        row.tier_title = dict(result["tier_title"]) if result.get("tier_title") else None
        row.cycle_title = payload.get("cycle_title")
        row.decision_reference = payload.get("reference")
        row.updated_at = clock.now()


def record_revocation(session: Session, payload: dict[str, Any],
                      today: date | None = None) -> None:
    row = _row(session, str(payload["application_id"]), str(payload["cycle"]))
    row.revoked_on = today or clock.today()
    row.updated_at = clock.now()


def progress(session: Session, app: Application, today: date
             ) -> tuple[list[timeline.Stage], str, Outcome | None]:
    """The application's timeline, the stage that describes it now, and review's outcome:
    what the applicant's page and the API both show."""
    outcome = session.get(Outcome, app.id)
    acceptance = None
    for listing in session.execute(select(AcceptanceList).where(
            AcceptanceList.cycle == app.cycle).order_by(AcceptanceList.published_at)).scalars():
        if any(e.get("application_id") == app.id for e in listing.entries or []):
            acceptance = (listing.starts_on, listing.ends_on)
    stages = timeline.derive(app.status, app.history, acceptance, outcome, today)
    return stages, timeline.headline(stages), outcome
