"""One expert's score sheet for one application in one stage: who may write it, when it is
locked, submitting and drafting. Shared by the API and the expert's pages."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import dossiers, drafts
from services.review.models import Application, Expert, Panel, PublicList, Score, ScoreDraft
from services.review.programme import Programme
from services.review.registry import now
from services.review.registry import serving as serving_on
from shared.errors import Conflict, NotFound


def open_sheet(session: Session, subject: str, panel_id: str, application_id: str
               ) -> tuple[Expert, Application, Panel]:
    """The expert, application and stage, if the expert serves on it now, conflict-free;
    else 404 (the same answer as for a dossier the expert cannot see)."""
    expert, app = dossiers.require_access(session, subject, application_id)
    panel = session.get(Panel, panel_id)
    if panel is None or not any(a.panel_id == panel_id
                                for a in serving_on(session, expert.id, app.id)):
        raise NotFound()
    return expert, app, panel


def locked(session: Session, cycle: str) -> bool:
    """Scores may be revised until the recommendation list is published."""
    return session.scalars(select(PublicList.id).where(
        PublicList.cycle == cycle, PublicList.kind == "recommendation")).first() is not None


def check_unlocked(session: Session, cycle: str) -> None:
    if locked(session, cycle):
        raise Conflict("score.locked", zh="推荐名单已公示，评分已锁定。",
                       en="Scores are locked: the recommendation list is published.")


def submit(session: Session, programme: Programme, subject: str, panel_id: str,
           application_id: str, items: Mapping[str, Any], comment: str | None
           ) -> tuple[Score, float | None]:
    """Validate every item against the rubric and store the score; returns it with the
    earlier total (None for a first submission). The draft, if any, is discarded."""
    expert, app, _panel = open_sheet(session, subject, panel_id, application_id)
    check_unlocked(session, app.cycle)
    rubric = programme.rubric(app.kind, app.cycle)
    clean = rubric.validate(items)
    score = session.scalars(select(Score).where(
        Score.panel_id == panel_id, Score.application_id == app.id,
        Score.expert_id == expert.id)).first()
    previous = None if score is None else score.total
    if score is None:
        score = Score(id=str(uuid.uuid4()), panel_id=panel_id, application_id=app.id,
                      expert_id=expert.id)
        session.add(score)
    score.rubric, score.items, score.total = rubric.id, clean, round(sum(clean.values()), 4)
    score.comment, score.submitted_at = comment, now()
    drafts.discard(session, panel_id, app.id, expert.id)
    session.flush()
    return score, previous


def save_draft(session: Session, programme: Programme, subject: str, panel_id: str,
               application_id: str, items: Mapping[str, Any], comment: str | None
               ) -> ScoreDraft:
    expert, app, _panel = open_sheet(session, subject, panel_id, application_id)
    check_unlocked(session, app.cycle)
    return drafts.save(session, programme.rubric(app.kind, app.cycle), panel_id=panel_id,
                       application_id=app.id, expert_id=expert.id, items=items,
                       comment=comment)


def current(session: Session, expert_id: str, panel_id: str, application_id: str
            ) -> tuple[Score | None, ScoreDraft | None]:
    score = session.scalars(select(Score).where(
        Score.panel_id == panel_id, Score.application_id == application_id,
        Score.expert_id == expert_id)).first()
    return score, drafts.load(session, panel_id, application_id, expert_id)
