"""Setting a panel up before its assignment runs: create it, change its settings.

The API and the operator's pages both call these; the assignment itself, its replacements and
its explanation are in `panels` and `assignment`.
"""

from __future__ import annotations

import enum
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.review import panels
from services.review.models import Assignment, Expert, Panel, Score
from shared.errors import Conflict, NotFound
from shared.unit_of_work import UnitOfWork


class Keep(enum.Enum):
    """A setting the change leaves as it is (unlike None, which clears the deadline)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class NewPanel:
    cycle: str
    stage: str  # one of panels.STAGES
    per_application: int  # K: experts per application
    max_load: int  # applications per expert at most
    require_field_match: bool = False
    weight: float = 1.0
    deadline: date | None = None
    pool: tuple[str, ...] = ()  # expert ids; empty: every active expert
    applications: tuple[str, ...] = ()  # a shortlist; empty: the whole cycle
    pledge_scope: str = "session"  # one pledge per review session, or "dossier": one each

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> NewPanel:
        return cls(**{**body, "pool": tuple(body.get("pool") or ()),
                      "applications": tuple(body.get("applications") or ())})


@dataclass(frozen=True)
class PanelChanges:
    """What may change before the assignment runs; fields left at KEEP stay as they are."""

    per_application: int | Keep = KEEP
    max_load: int | Keep = KEEP
    require_field_match: bool | Keep = KEEP
    weight: float | Keep = KEEP
    deadline: date | Keep | None = KEEP
    pool: tuple[str, ...] | Keep = KEEP
    applications: tuple[str, ...] | Keep = KEEP
    pledge_scope: str | Keep = KEEP

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> PanelChanges:
        """From a validated `PanelSettingsIn` body: the keys it has are the ones that change."""
        given: dict[str, Any] = {k: tuple(v) if k in ("pool", "applications") else v
                                 for k, v in body.items()}
        return cls(**given)

    def changed(self) -> dict[str, Any]:
        """The changed settings as the panel's columns take them (lists for JSON)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not KEEP:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def get(session: Session, panel_id: str) -> Panel:
    panel = session.get(Panel, panel_id)
    if panel is None:
        raise NotFound()
    return panel


def create(work: UnitOfWork, new: NewPanel) -> Panel:
    """A panel (one review stage of a cycle): one per stage, members known to the registry."""
    session = work.session
    if session.scalars(select(Panel.id).where(Panel.cycle == new.cycle,
                                              Panel.stage == new.stage)).first():
        raise Conflict("panel.exists", zh="该届次已设此评审阶段。",
                       en="This cycle already has a panel for this stage.")
    panels.check_members(session, new.cycle, new.pool, new.applications)
    panel = Panel(id=str(uuid.uuid4()), created_at=work.now(), cycle=new.cycle, stage=new.stage,
                  per_application=new.per_application, max_load=new.max_load,
                  require_field_match=new.require_field_match, weight=new.weight,
                  deadline=new.deadline, pool=list(new.pool),
                  applications=list(new.applications), pledge_scope=new.pledge_scope)
    session.add(panel)
    session.flush()
    work.audit("panel.created", f"panel:{panel.id}", stage=panel.stage)
    return panel


def update(work: UnitOfWork, panel_id: str, changes: PanelChanges) -> Panel:
    """Change K, the load cap, field matching, weight, deadline, pool or shortlist (the ways
    out of an infeasible set-up), or the pledge's scope; refused once the assignment has run."""
    panel = get(work.session, panel_id)
    changed = changes.changed()
    panels.update_settings(work.session, panel, changed)
    work.audit("panel.updated", f"panel:{panel.id}", changed=sorted(changed))
    return panel


@dataclass(frozen=True)
class Overview:
    """A cycle's panels in stage order, with assignments per status and scores per panel."""

    panels: list[Panel]
    assignments: dict[str, dict[str, int]]  # panel id → status → count
    scored: dict[str, int]  # panel id → scores handed in

    @property
    def free_stages(self) -> list[str]:
        """Stages the cycle has no panel for yet."""
        return [s for s in panels.STAGES if s not in {p.stage for p in self.panels}]


def overview(session: Session, cycle: str | None) -> Overview:
    rows = list(session.scalars(select(Panel).where(Panel.cycle == cycle))) if cycle else []
    rows.sort(key=lambda p: panels.STAGES.index(p.stage) if p.stage in panels.STAGES else 9)
    ids = [p.id for p in rows]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for panel_id, state, n in session.execute(
            select(Assignment.panel_id, Assignment.status, func.count()).where(
                Assignment.panel_id.in_(ids)).group_by(Assignment.panel_id, Assignment.status)):
        counts[panel_id][state] = int(n)
    scored = {k: int(v) for k, v in session.execute(select(Score.panel_id, func.count()).where(
        Score.panel_id.in_(ids)).group_by(Score.panel_id))}
    return Overview(rows, counts, scored)


def experts_to_choose(session: Session, active_only: bool) -> list[Expert]:
    """Experts a panel's pool can be picked from, by name."""
    query = select(Expert).order_by(Expert.name, Expert.subject)
    if active_only:
        query = query.where(Expert.active.is_(True))
    return list(session.scalars(query))


def listing() -> Select[Panel]:
    return select(Panel).order_by(Panel.cycle, Panel.stage)
