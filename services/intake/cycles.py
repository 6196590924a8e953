"""Award cycles (届): window, caps, status; announced as `cycle.saved`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.models import Cycle
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import Conflict, DossierError, NotFound
from shared.events import Outbox

STATUSES = ("planned", "open", "closed", "archived")
DEFAULT_CAPS = {"awards": 3, "nominations": 10}  # Art. 4, organisations and individuals together


class CycleUnknown(DossierError):
    code = "cycle.unknown"
    status = 422
    zh = "评选届次 {cycle} 不存在。"
    en = "Award cycle {cycle} does not exist."


def save_cycle(session: Session, outbox: Outbox, audit: AuditLog, who: Principal, cycle_id: str,
               *, programme: str, fields: dict[str, Any]) -> Cycle:
    """Create or update a cycle (PUT semantics: absent optional fields keep their value)."""
    now = datetime.now(UTC)
    cycle = session.get(Cycle, cycle_id)
    created = cycle is None
    before = None if cycle is None else payload(cycle)
    if cycle is None:
        cycle = Cycle(id=cycle_id, programme=fields.get("programme") or programme,
                      status="planned", caps_awards=DEFAULT_CAPS["awards"],
                      caps_nominations=DEFAULT_CAPS["nominations"], created_at=now)
        session.add(cycle)
    for name in ("year", "title", "opens_on", "closes_on", "status", "catalogue", "programme"):
        if fields.get(name) is not None:
            setattr(cycle, name, fields[name])
    caps = fields.get("caps") or {}
    cycle.caps_awards = caps.get("awards", cycle.caps_awards)
    cycle.caps_nominations = caps.get("nominations", cycle.caps_nominations)
    if cycle.year is None or cycle.opens_on is None or cycle.closes_on is None or not cycle.title:
        raise DossierError("validation.failed", errors={
            "cycle": ["year, title, opens_on and closes_on are required for a new cycle"]})
    if cycle.closes_on < cycle.opens_on:
        raise DossierError("cycle.window_invalid", status=422,
                           zh="申报截止日期早于开始日期。",
                           en="The application window closes before it opens.")
    if before == payload(cycle):
        return cycle  # a repeated PUT changes nothing and announces nothing
    cycle.updated_at = now
    session.flush()
    outbox.emit(session, "cycle.saved", payload(cycle))
    audit.append(session, actor=who.subject, role=who.role,
                 action="cycle.created" if created else "cycle.updated",
                 target=f"cycle:{cycle.id}", detail={"status": cycle.status})
    return cycle


def payload(cycle: Cycle) -> dict[str, Any]:
    return {"cycle": cycle.id, "year": cycle.year, "title": cycle.title,
            "opens_on": cycle.opens_on.isoformat(), "closes_on": cycle.closes_on.isoformat(),
            "status": cycle.status, "programme": cycle.programme,
            "caps": {"awards": cycle.caps_awards, "nominations": cycle.caps_nominations},
            "catalogue": cycle.catalogue,
            "audience": [{"role": "operator"}, {"role": "recommender"}]}


def get_cycle(session: Session, cycle_id: str, *, missing: type[DossierError] = NotFound
              ) -> Cycle:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise missing(detail=f"cycle {cycle_id}", cycle=cycle_id)
    return cycle


def ensure_accepting(cycle: Cycle, today: date, *, check_window: bool) -> None:
    """Applications can be opened while the cycle is open, and submitted inside its window."""
    if cycle.status != "open":
        raise Conflict("cycle.not_open", zh="评选届次 {cycle} 当前未开放申报（状态：{state}）。",
                       en="Cycle {cycle} is not open for applications (status: {state}).",
                       cycle=cycle.id, state=cycle.status)
    if check_window and not cycle.opens_on <= today <= cycle.closes_on:
        raise Conflict("cycle.window_closed",
                       zh="不在申报期内（{opens} 至 {closes}）。",
                       en="Outside the application window ({opens} to {closes}).",
                       opens=cycle.opens_on.isoformat(), closes=cycle.closes_on.isoformat())


def programme_years(session: Session, programme: str) -> list[int]:
    return list(session.execute(select(Cycle.year).where(Cycle.programme == programme))
                .scalars())
