"""Work lists of the people who decide on packets: the recommender's queue, the operator's formal
review queue and the acceptance list in the making. Plain queries over a session, no Flask.

Scoping is `applications.visible_applications`, the API's own rule, so a page can never show a
packet the API would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, selectinload

from services.intake.applications import visible_applications
from services.intake.models import AcceptanceList, Application, Cycle, Document
from services.intake.routing import PUBLICITY_WORKDAYS, publicity_end, workdays
from shared.auth import Principal
from shared.pagination import paginate
from shared.workdays import WorkCalendar

# The status a packet waits in for each desk: the recommender acts on `submitted`, the city
# regulator's formal review on `recommended`.
WAITING = {"recommender": "submitted", "operator": "recommended", "admin": "recommended",
           "supervisor": "recommended"}
QUEUE_FILTERS = ("cycle", "status", "unit")


def queue(session: Session, who: Principal, filters: dict[str, str], page: int,
          per_page: int) -> dict[str, Any]:
    """The packets `who` may see, those waiting for its decision first (oldest first), then the
    rest by most recent submission."""
    waiting = WAITING.get(who.role, "submitted")
    query: Select[Application] = visible_applications(session, who).order_by(None)
    # Drafts never reached a desk: the queue lists what was submitted at least once.
    query = query.where(Application.submission > 0)
    for name in QUEUE_FILTERS:
        value = filters.get(name)
        if value:
            query = query.where(getattr(Application, name) == value)
    query = query.options(selectinload(Application.documents).selectinload(Document.versions))
    query = query.order_by(case((Application.status == waiting, 0), else_=1),
                           case((Application.status == waiting, Application.submitted_at),
                                else_=None).asc(),
                           Application.submitted_at.desc(), Application.id)
    return paginate(session, query, page, per_page)


def waiting_count(session: Session, who: Principal) -> int:
    query = visible_applications(session, who).where(
        Application.status == WAITING.get(who.role, "submitted"))
    return int(session.execute(select(func.count()).select_from(
        query.order_by(None).subquery())).scalar_one())


def cycles(session: Session) -> list[Cycle]:
    return list(session.execute(select(Cycle).order_by(Cycle.year.desc(), Cycle.id)).scalars())


@dataclass(frozen=True)
class Window:
    """A publicity window as the page shows it: its working days and where today falls."""

    starts_on: date
    ends_on: date
    workdays: int
    state: str  # upcoming | running | ended


def window(calendar: WorkCalendar, starts_on: date, ends_on: date, today: date) -> Window:
    state = "upcoming" if today < starts_on else "ended" if today > ends_on else "running"
    return Window(starts_on, ends_on, workdays(calendar, starts_on, ends_on), state)


def default_window(calendar: WorkCalendar, starts_on: date) -> Window:
    """What `publish_acceptance` does without an end date: 5 working days from the start."""
    end = publicity_end(calendar, starts_on)
    return Window(starts_on, end, PUBLICITY_WORKDAYS, "upcoming")


def accepted(session: Session, cycle: str) -> list[Application]:
    """The packets the next acceptance list of the cycle would carry (same rule as publishing)."""
    return list(session.execute(select(Application).where(
        Application.cycle == cycle, Application.status == "accepted")
        .order_by(Application.name)).scalars())


def published(session: Session, cycle: str) -> list[AcceptanceList]:
    return list(session.execute(select(AcceptanceList).where(AcceptanceList.cycle == cycle)
                                .order_by(AcceptanceList.published_at.desc())).scalars())
