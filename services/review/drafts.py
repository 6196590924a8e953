"""Score drafts: an expert's scoring form saved as typed, before it is submitted.

A draft may leave items empty, but what it holds must already fit the rubric (known items,
numbers within 0..max), so the form can show the same errors next to the same items as on
submission. A draft is never counted: results read only submitted scores. Submitting a score
removes the draft, so the form then shows what was submitted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.review.models import ScoreDraft
from services.review.registry import now
from services.review.scoring import Rubric


def validate_partial(rubric: Rubric, items: Mapping[str, Any]) -> dict[str, float]:
    """The items the expert has filled in, checked against the rubric; empty ones left out."""
    return rubric.validate(items, partial=True)


def load(session: Session, panel_id: str, application_id: str, expert_id: str
         ) -> ScoreDraft | None:
    return session.scalars(select(ScoreDraft).where(
        ScoreDraft.panel_id == panel_id, ScoreDraft.application_id == application_id,
        ScoreDraft.expert_id == expert_id)).first()


def save(session: Session, rubric: Rubric, *, panel_id: str, application_id: str,
         expert_id: str, items: Mapping[str, Any], comment: str | None) -> ScoreDraft:
    clean = validate_partial(rubric, items)
    draft = load(session, panel_id, application_id, expert_id)
    if draft is None:
        draft = ScoreDraft(id=str(uuid.uuid4()), panel_id=panel_id,
                           application_id=application_id, expert_id=expert_id)
        session.add(draft)
    draft.items, draft.comment, draft.saved_at = clean, comment, now()
    session.flush()
    return draft


def discard(session: Session, panel_id: str, application_id: str, expert_id: str) -> None:
    session.execute(delete(ScoreDraft).where(
        ScoreDraft.panel_id == panel_id, ScoreDraft.application_id == application_id,
        ScoreDraft.expert_id == expert_id))
