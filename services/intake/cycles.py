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
# Review stages in the order the Measures hold them (review's panels use the same names).
STAGES = ("material", "on-site", "defence")
DEFAULT_STAGES = ({"stage": "material", "starts_on": None, "ends_on": None},)
DEFAULT_CAPS = {"awards": 3, "nominations": 10}  # Art. 4, organisations and individuals together


class CycleUnknown(DossierError):
    code = "cycle.unknown"
    status = 422
    zh = "评选届次 {cycle} 不存在。"
    en = "Award cycle {cycle} does not exist."


def N_(msgid: str) -> str:
    return msgid


def save_cycle(session: Session, outbox: Outbox, audit: AuditLog, who: Principal, cycle_id: str,
               *, programme: str, fields: dict[str, Any]) -> Cycle:
    """Create or update a cycle (PUT semantics: absent optional fields keep their value).
    The cycle page and `PUT /api/cycles/{id}` both come here."""
    now = datetime.now(UTC)
    cycle = session.get(Cycle, cycle_id)
    created = cycle is None
    before = None if cycle is None else payload(cycle)
    if cycle is None:
        cycle = Cycle(id=cycle_id, programme=fields.get("programme") or programme,
                      status="planned", caps_awards=DEFAULT_CAPS["awards"],
                      caps_nominations=DEFAULT_CAPS["nominations"], created_at=now)
        session.add(cycle)
    for name in ("year", "title", "opens_on", "closes_on", "status", "programme"):
        if fields.get(name) is not None:
            setattr(cycle, name, fields[name])
    if "catalogue" in fields:  # None: the documents service's default catalogue
        cycle.catalogue = fields["catalogue"] or None
    caps = fields.get("caps") or {}
    cycle.caps_awards = caps.get("awards", cycle.caps_awards)
    cycle.caps_nominations = caps.get("nominations", cycle.caps_nominations)
    if fields.get("stages") is not None:
        cycle.stages = [_stage_row(s) for s in fields["stages"]]
    _check(cycle)
    if before == payload(cycle):
        return cycle  # a repeated PUT changes nothing and announces nothing
    cycle.updated_at = now
    session.flush()
    outbox.emit(session, "cycle.saved", payload(cycle))
    audit.append(session, actor=who.subject, role=who.role,
                 action="cycle.created" if created else "cycle.updated",
                 target=f"cycle:{cycle.id}", detail={"status": cycle.status,
                                                      "title": cycle.title})
    return cycle


def _stage_row(stage: dict[str, Any]) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if isinstance(value, date) else (value or None)

    return {"stage": stage["stage"], "starts_on": iso(stage.get("starts_on")),
            "ends_on": iso(stage.get("ends_on"))}


def _check(cycle: Cycle) -> None:
    """What the Measures and common sense ask of a cycle: every problem at once (一次性告知),
    each next to its field."""
    required = {"year": N_("Enter the year."), "title": N_("Enter the cycle's name."),
                "opens_on": N_("Enter the date applications open."),
                "closes_on": N_("Enter the date applications close.")}
    errors = {k: [v] for k, v in required.items() if getattr(cycle, k) in (None, "")}
    # Art. 4: at most 3 awards and 10 nominations per cycle, organisations and individuals
    # together.
    if not 1 <= cycle.caps_awards <= DEFAULT_CAPS["awards"]:
        errors["caps_awards"] = [N_("Between 1 and 3 awards per cycle (Art. 4 of the "
                                    "Measures).")]
    if not 0 <= cycle.caps_nominations <= DEFAULT_CAPS["nominations"]:
        errors["caps_nominations"] = [N_("Between 0 and 10 nominations per cycle (Art. 4 of "
                                         "the Measures).")]
    window = cycle.opens_on is not None and cycle.closes_on is not None
    if window and cycle.closes_on >= cycle.opens_on:
        errors.update(_stage_errors(cycle))
    if errors:
        raise DossierError("validation.failed", errors=errors)
    if cycle.closes_on < cycle.opens_on:
        raise DossierError("cycle.window_invalid", status=422,
                           zh="申报截止日期早于开始日期。",
                           en="The application window closes before it opens.",
                           errors={"closes_on": [N_("The closing date is before the opening "
                                                    "date.")]})


def _stage_errors(cycle: Cycle) -> dict[str, list[str]]:
    """Stages in their fixed order, the material review always held, each after the
    application window and after the stage before it."""
    stages = stages_of(cycle)
    names = [s["stage"] for s in stages]
    if "material" not in names:
        return {"stages": [N_("The material review is always held.")]}
    if names != [s for s in STAGES if s in names]:
        return {"stages": [N_("Stages are held in this order: material review, on-site "
                              "review, defence.")]}
    errors: dict[str, list[str]] = {}
    after = cycle.closes_on
    for stage in stages:
        starts = _day(stage.get("starts_on"))
        ends = _day(stage.get("ends_on"))
        key = f"stage_{stage['stage']}"
        if starts and ends and ends < starts:
            errors[key] = [N_("The stage ends before it starts.")]
        elif starts and starts <= after:
            errors[key] = [N_("A stage starts after the application window and after the "
                              "stage before it.")]
        after = ends or starts or after
    return errors


def stages_of(cycle: Cycle) -> list[dict[str, Any]]:
    """The cycle's stages; a cycle saved before stages were kept holds the material review."""
    return [dict(s) for s in cycle.stages or DEFAULT_STAGES]


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def new_cycle_id(session: Session, year: int) -> str:
    """A short readable id for a new cycle: its year, then 2026-2, 2026-3… (never typed)."""
    taken = set(session.execute(select(Cycle.id).where(Cycle.id.like(f"{year}%"))).scalars())
    if str(year) not in taken:
        return str(year)
    return next(f"{year}-{n}" for n in range(2, 10_000) if f"{year}-{n}" not in taken)


def payload(cycle: Cycle) -> dict[str, Any]:
    return {"cycle": cycle.id, "year": cycle.year, "title": cycle.title,
            "opens_on": cycle.opens_on.isoformat(), "closes_on": cycle.closes_on.isoformat(),
            "status": cycle.status, "programme": cycle.programme,
            "caps": {"awards": cycle.caps_awards, "nominations": cycle.caps_nominations},
            "catalogue": cycle.catalogue,
            "stages": stages_of(cycle),
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
