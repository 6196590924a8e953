"""One expert's score sheet for one application in one stage: who may write it, when it is
locked, submitting and drafting. Shared by the API and the expert's pages."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review import bulk, dossiers, drafts
from services.review.models import Application, Expert, Panel, PublicList, Score, ScoreDraft
from services.review.programme import Programme
from services.review.registry import now
from services.review.registry import serving as serving_on
from services.review.scoring import Rubric
from shared.audit import AuditLog
from shared.auth import Principal
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


@dataclass(frozen=True)
class ScoreEntry:
    """One application's scores in a batch (`submit_many`)."""

    application_id: str
    items: Mapping[str, Any]
    comment: str | None = None


@dataclass(frozen=True)
class _Checked:
    expert: Expert
    application: Application
    rubric: Rubric
    clean: dict[str, float]


def _check(session: Session, programme: Programme, subject: str, panel_id: str,
           application_id: str, items: Mapping[str, Any]) -> _Checked:
    """Everything a submission must pass, with nothing changed: the expert serves on the stage
    conflict-free, scores are not locked, every item fits the rubric."""
    expert, app, _panel = open_sheet(session, subject, panel_id, application_id)
    check_unlocked(session, app.cycle)
    rubric = programme.rubric(app.kind, app.cycle)
    return _Checked(expert, app, rubric, rubric.validate(items))


def _store(session: Session, panel_id: str, checked: _Checked, comment: str | None
           ) -> tuple[Score, float | None]:
    expert, app, rubric, clean = checked.expert, checked.application, checked.rubric, \
        checked.clean
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


def submit(session: Session, programme: Programme, subject: str, panel_id: str,
           application_id: str, items: Mapping[str, Any], comment: str | None
           ) -> tuple[Score, float | None]:
    """Validate every item against the rubric and store the score; returns it with the
    earlier total (None for a first submission). The draft, if any, is discarded."""
    checked = _check(session, programme, subject, panel_id, application_id, items)
    return _store(session, panel_id, checked, comment)


def submit_many(session: Session, programme: Programme, audit: AuditLog, who: Principal,
                panel_id: str, entries: Sequence[ScoreEntry]) -> list[Score]:
    """An expert's scores of several applications in one stage, all or none: every entry
    passes `submit`'s own checks before any is stored (else `bulk.BulkRejected` with a problem
    per failing entry); each stored score is audited as a single submission is."""
    def name(entry: ScoreEntry) -> str | None:
        # Only an applicant the expert serves on is named: a refusal must not reveal others.
        try:
            return open_sheet(session, who.subject, panel_id, entry.application_id)[1] \
                .applicant_name
        except NotFound:
            return None

    describe = bulk.Describe(application_id=lambda e: e.application_id, applicant_name=name,
                             key=lambda e: e.application_id)
    checked = bulk.check_all("scores", entries, lambda e: _check(
        session, programme, who.subject, panel_id, e.application_id, e.items), describe)
    stored = []
    for entry, ok in zip(entries, checked, strict=True):
        score, previous = _store(session, panel_id, ok, entry.comment)
        audit.append(session, actor=who.subject, role=who.role, action="score.submitted",
                     target=f"score:{score.id}",
                     detail={"total": score.total, "previous": previous, "batch": len(entries)})
        stored.append(score)
    return stored


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
