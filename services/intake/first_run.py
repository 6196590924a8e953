"""The office's first-run checklist: what is still to do before a cycle can take applications
and be reviewed, each step answered from intake's own tables.

Experts are registered in the review service's expert registry, which intake does not read;
the step counts the expert sign-in accounts intake holds (an expert signs in with an intake
account of the same login name as the registry record) and sends the operator to the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.intake.models import Account, Cycle, Waiver
from services.intake.units import Unit, UnitList


@dataclass(frozen=True)
class Step:
    key: str  # cycle | catalogue | units | recommenders | supervisor | experts | waivers
    done: bool
    count: int = 0  # what the step's sentence counts (units, accounts, waivers)
    missing: tuple[Unit, ...] = field(default=())  # units without a recommender
    optional: bool = False


@dataclass(frozen=True)
class Checklist:
    cycle: Cycle | None
    steps: tuple[Step, ...]

    @property
    def remaining(self) -> int:
        return sum(1 for s in self.steps if not s.done and not s.optional)


def cycle_to_set_up(session: Session, cycle_id: str | None) -> Cycle | None:
    """The cycle asked for, else the newest one still to come or running."""
    if cycle_id:
        return session.get(Cycle, cycle_id)
    found = session.execute(select(Cycle).where(Cycle.status.in_(("open", "planned")))
                            .order_by(Cycle.year.desc(), Cycle.created_at.desc())).scalars()
    return next(iter(found), None)


def checklist(session: Session, units: UnitList, cycle: Cycle | None) -> Checklist:
    def active(role: str) -> int:
        return session.execute(select(func.count()).select_from(Account).where(
            Account.role == role, Account.active.is_(True))).scalar_one()

    covered = set(session.execute(select(Account.unit).where(
        Account.role == "recommender", Account.active.is_(True))).scalars())
    missing = tuple(u for u in units.units if u.code not in covered)
    waivers = 0 if cycle is None else session.execute(select(func.count()).select_from(
        Waiver).where(Waiver.cycle == cycle.id)).scalar_one()
    steps = (
        Step("cycle", cycle is not None and cycle.status == "open"),
        Step("catalogue", cycle is not None and bool(cycle.catalogue)),
        Step("units", bool(units.units), count=len(units.units)),
        Step("recommenders", bool(units.units) and not missing,
             count=len(units.units) - len(missing), missing=missing),
        Step("supervisor", active("supervisor") > 0, count=active("supervisor")),
        Step("experts", active("expert") > 0, count=active("expert")),
        Step("waivers", waivers > 0, count=waivers, optional=True),
    )
    return Checklist(cycle, steps)
