"""Accepted applications as review lists them for the office."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.review.dossiers import is_secret
from services.review.models import Application, ConflictRecord, Cycle
from shared.pagination import paginate


def listing(session: Session, page: int, per_page: int, cycle: str | None = None,
            kind: str | None = None) -> dict[str, Any]:
    """One page of accepted applications with their document and live-conflict counts (two
    queries whatever the page size)."""
    query = select(Application).order_by(Application.cycle, Application.id)
    if cycle:
        query = query.where(Application.cycle == cycle)
    if kind:
        query = query.where(Application.kind == kind)
    result = paginate(session, query, page, per_page)
    ids = [a.id for a in result["items"]]
    counts = {k: int(v) for k, v in session.execute(
        select(ConflictRecord.application_id, func.count()).where(
            ConflictRecord.application_id.in_(ids), ConflictRecord.withdrawn_at.is_(None))
        .group_by(ConflictRecord.application_id))}
    result["items"] = [{
        "id": a.id, "cycle": a.cycle, "kind": a.kind, "applicant_name": a.applicant_name,
        "unit": a.unit, "accepted_at": a.accepted_at, "documents": len(a.documents or []),
        "trade_secret_documents": sum(1 for d in a.documents or [] if is_secret(d)),
        "active_conflicts": int(counts.get(a.id, 0))} for a in result["items"]]
    return result


def cycles(session: Session) -> list[str]:
    """Cycles review knows, newest first: announced by intake, or seen on an accepted
    application."""
    known = set(session.scalars(select(Cycle.id))) | set(
        session.scalars(select(Application.cycle).distinct()))
    return sorted(known, reverse=True)


def of_cycle(session: Session, cycle: str) -> list[Application]:
    """A cycle's accepted applications by applicant name (the choices of a shortlist)."""
    return list(session.scalars(select(Application).where(
        Application.cycle == cycle).order_by(Application.applicant_name)))
