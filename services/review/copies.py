"""Review's copies of what other services decide, kept from their events (docs/events.md): award
cycles and their dates, accepted packets (the applications review works on), and published
acceptance lists. Conflicts are counted again when a cycle's review date moves or a packet
arrives."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from services.review import panels, registry
from services.review.models import Application, Cycle, PublicList
from shared.events import Event, Outbox

log = logging.getLogger(__name__)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def record_cycle(session: Session, event: Event, rules: Any = None,
                 outbox: Outbox | None = None) -> None:
    """Keep the cycle and its dates; when its review date moves, its conflicts are counted
    again to the new date (and experts now conflicted are recused)."""
    p = event.payload
    known = session.get(Cycle, str(p["cycle"]))
    when = _moment(event.occurred_at)
    if known is not None and known.announced_at is not None and _moment(
            known.announced_at) > when:
        log.info("cycle %s: an older announcement arrived late, ignored", known.id)
        return
    before = registry.review_date(known) if known is not None else None
    cycle = known or Cycle(id=str(p["cycle"]))
    cycle.year, cycle.title = int(p["year"]), str(p.get("title") or p["cycle"])
    cycle.status = str(p.get("status") or "open")
    cycle.caps = dict(p.get("caps") or {"awards": 3, "nominations": 10})
    if p.get("closes_on"):
        cycle.closes_on = _date(p["closes_on"])
    cycle.stages = [{"stage": str(s["stage"]),
                     "starts_on": _iso(s.get("starts_on")), "ends_on": _iso(s.get("ends_on"))}
                    for s in p.get("stages") or []]
    cycle.updated_at, cycle.announced_at = datetime.now(UTC), when
    cycle = session.merge(cycle)
    session.flush()
    # A packet accepted before its cycle was heard of was counted to today: count it again.
    if before is None or registry.review_date(cycle) != before:
        found = registry.refresh_for_cycle(session, cycle.id, rules)
        log.info("cycle %s: review date moved, %d conflict(s) newly detected", cycle.id, found)
        if outbox is not None:
            panels.sweep(session, outbox)


def _moment(value: str | datetime) -> datetime:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite gives naive UTC back


def _iso(value: Any) -> str | None:
    return _date(value).isoformat() if value not in (None, "") else None


def record_accepted_packet(session: Session, event: Event, rules: Any = None,
                           outbox: Outbox | None = None) -> None:
    """An accepted packet becomes a reviewable application; conflicts are detected at once."""
    p = event.payload
    app = session.get(Application, str(p["application_id"]))
    if app is None:
        app = Application(id=str(p["application_id"]))
        session.add(app)
    profile = dict(p.get("applicant") or {})
    app.cycle, app.kind, app.owner = str(p["cycle"]), str(p["kind"]), str(p["owner"])
    app.applicant_name = str(profile.get("name") or p.get("applicant_name") or app.id)
    app.unit, app.profile = p.get("unit"), profile
    app.case_number = p.get("case_number") or app.case_number
    app.documents = list(p.get("documents") or [])
    app.accepted_at = datetime.now(UTC)
    session.flush()
    found = registry.refresh_for_application(session, app, rules=rules)
    log.info("application %s accepted: %d conflict(s) detected", app.id, found)
    if found and outbox is not None:
        panels.sweep(session, outbox)  # a re-accepted packet may reveal a conflict late


def record_acceptance_list(session: Session, event: Event) -> None:
    p = event.payload
    plist = session.get(PublicList, str(p["list_id"])) or PublicList(id=str(p["list_id"]))
    plist.cycle, plist.kind = str(p["cycle"]), "acceptance"
    plist.starts_on, plist.ends_on = _date(p["starts_on"]), _date(p["ends_on"])
    plist.entries = [dict(e) for e in p.get("entries") or []]
    plist.published_by, plist.published_at = f"{event.source}", datetime.now(UTC)
    session.merge(plist)
