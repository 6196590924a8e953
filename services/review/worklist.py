"""An expert's work list: every active, conflict-free assignment with where its scoring stands.

Read in a fixed handful of queries whatever the number of assignments, selecting plain columns
only: an expert may carry hundreds of dossiers, and loading whole rows would also decode each
panel's JSON lists and each application's documents once per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.dossiers import pledged_dossiers
from services.review.models import (
    Acknowledgement,
    Application,
    Assignment,
    ConflictRecord,
    Expert,
    Panel,
    Score,
    ScoreDraft,
    SessionPledge,
)
from shared.changes import on_rows, on_table


@dataclass(frozen=True)
class WorkItem:
    stage: str
    panel_id: str
    application_id: str
    applicant_name: str
    kind: str
    deadline: date | None
    overdue: bool
    acknowledged: bool
    state: str  # scored / draft / open


def worklist(session: Session, expert_id: str, today: date) -> dict[str, list[WorkItem]]:
    """Work items by stage, each stage's items by deadline then applicant name."""
    rows = session.execute(
        select(Panel.stage, Panel.id, Panel.deadline, Application.id,
               Application.applicant_name, Application.kind)
        .select_from(Assignment)
        .join(Panel, Panel.id == Assignment.panel_id)
        .join(Application, Application.id == Assignment.application_id)
        .where(Assignment.expert_id == expert_id, Assignment.status == "active")
        .order_by(Panel.deadline, Application.applicant_name)).all()
    conflicted = set(session.scalars(select(ConflictRecord.application_id).where(
        ConflictRecord.expert_id == expert_id, ConflictRecord.withdrawn_at.is_(None))))
    scored = set(session.execute(select(Score.panel_id, Score.application_id).where(
        Score.expert_id == expert_id)).tuples())
    drafted = set(session.execute(select(ScoreDraft.panel_id, ScoreDraft.application_id)
                                  .where(ScoreDraft.expert_id == expert_id)).tuples())
    pledged = pledged_dossiers(session, expert_id)
    stages: dict[str, list[WorkItem]] = {}
    for stage, panel_id, deadline, app_id, name, kind in rows:
        if app_id in conflicted:
            continue
        key = (panel_id, app_id)
        stages.setdefault(stage, []).append(WorkItem(
            stage=stage, panel_id=panel_id, application_id=app_id, applicant_name=name,
            kind=kind, deadline=deadline,
            overdue=bool(deadline and deadline < today and key not in scored),
            acknowledged=app_id in pledged,
            state="scored" if key in scored else "draft" if key in drafted else "open"))
    return stages


def depends_on(expert_id: str) -> list[str]:
    """The change tags of everything `worklist` reads for this expert (shared.changes)."""
    mine = [on_rows(model, expert_id=expert_id)
            for model in (Assignment, ConflictRecord, Score, ScoreDraft, Acknowledgement,
                          SessionPledge)]
    return [*on_table(Expert), *on_table(Panel), *on_table(Application),
            *(tag for tags in mine for tag in tags)]
