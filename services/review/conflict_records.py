"""Conflict records as people make them: recorded by the operator, requested by an applicant,
declared by the expert, withdrawn with a reason; and the lists that show them.

`conflicts` detects (pure logic), `registry` stores detections; the actions here are the ones
the API, the operator's pages and the expert's pages all call, each ending the expert's access
at once, proposing a replacement and writing the audit record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services.review import panels, registry
from services.review.conflicts import Rules
from services.review.models import Application, Assignment, ConflictRecord, Expert
from shared.errors import DossierError, NotFound
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ConflictReport:
    """A conflict someone reports. An expert reports their own (`expert_id` is ignored); the
    operator names the expert and says whether the applicant asked for it in writing."""

    application_id: str
    ground: str
    reason: str
    expert_id: str | None = None
    requested_by_applicant: bool = False


@dataclass(frozen=True)
class Recorded:
    record: ConflictRecord
    replacements: list[Assignment]  # proposed, one per panel the expert left


@dataclass(frozen=True)
class ConflictFilter:
    expert_id: str | None = None
    application_id: str | None = None
    active: bool | None = None  # None: live and withdrawn alike
    source: str | None = None


def expert_of(session: Session, subject: str) -> Expert:
    """The registered expert signed in as `subject` (in service or not), else 404."""
    expert = session.scalars(select(Expert).where(Expert.subject == subject)).first()
    if expert is None:
        raise NotFound()
    return expert


def record(work: UnitOfWork, report: ConflictReport, rules: Rules) -> Recorded:
    """Record a conflict: the expert's access to the dossier ends at once and each panel they
    leave gets a replacement proposal."""
    session = work.session
    if work.who.role == "expert":
        expert, source = expert_of(session, work.who.subject), "expert"
    else:
        found = session.get(Expert, report.expert_id) if report.expert_id else None
        if found is None:
            raise DossierError("conflict.expert_unknown", status=422,
                               zh="请指定已登记的专家。", en="Name a registered expert.")
        expert = found
        source = "applicant" if report.requested_by_applicant else "operator"
    if session.get(Application, report.application_id) is None:
        raise DossierError("conflict.application_unknown", status=422,
                           zh="没有该申报。", en="There is no such application.",
                           errors={"application_id": "There is no such application."})
    stored = registry.record_conflict(session, expert=expert,
                                      application_id=report.application_id,
                                      ground=report.ground, source=source,
                                      reason=report.reason, actor=work.who.subject, rules=rules)
    proposals = panels.recuse(session, work.outbox, stored)
    work.audit("conflict.recorded", f"conflict:{stored.id}", ground=stored.ground,
               source=source, expert=expert.subject, application=stored.application_id,
               replacements=[p.id for p in proposals])
    return Recorded(stored, proposals)


def withdraw(work: UnitOfWork, conflict_id: str, reason: str) -> ConflictRecord:
    """A false conflict is withdrawn with a reason, never deleted."""
    stored = get(work.session, conflict_id)
    registry.withdraw_conflict(work.session, stored, reason=reason, actor=work.who.subject)
    work.audit("conflict.withdrawn", f"conflict:{stored.id}", reason=reason)
    return stored


# -- reads ------------------------------------------------------------------------------------

def get(session: Session, conflict_id: str) -> ConflictRecord:
    stored = session.get(ConflictRecord, conflict_id)
    if stored is None:
        raise NotFound()
    return stored


def search(wanted: ConflictFilter) -> Select[ConflictRecord]:
    query = select(ConflictRecord).order_by(ConflictRecord.recorded_at, ConflictRecord.id)
    if wanted.expert_id:
        query = query.where(ConflictRecord.expert_id == wanted.expert_id)
    if wanted.application_id:
        query = query.where(ConflictRecord.application_id == wanted.application_id)
    if wanted.active is not None:
        query = query.where(ConflictRecord.withdrawn_at.is_(None) if wanted.active
                            else ConflictRecord.withdrawn_at.is_not(None))
    if wanted.source:
        query = query.where(ConflictRecord.source == wanted.source)
    return query


def named(session: Session, records: Sequence[ConflictRecord]) -> list[dict[str, Any]]:
    """Conflicts with the expert's name and account and the applicant's name beside the ids,
    so a client needs no second lookup per row. Two queries whatever the page size."""
    experts = {e.id: e for e in session.scalars(select(Expert).where(
        Expert.id.in_({r.expert_id for r in records})))}
    applicants = {k: v for k, v in session.execute(
        select(Application.id, Application.applicant_name).where(
            Application.id.in_({r.application_id for r in records})))}
    out = []
    for r in records:
        expert = experts.get(r.expert_id)
        out.append({**{c.key: getattr(r, c.key) for c in ConflictRecord.__table__.columns},
                    "expert_name": expert.name if expert else None,
                    "expert_subject": expert.subject if expert else None,
                    "applicant_name": applicants.get(r.application_id)})
    return out
