"""What intake learns from other services: inspections, completeness, awards and revocations."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.material import refresh_flag
from services.intake.models import Application, AwardRecord, Cycle, DocumentVersion

log = logging.getLogger(__name__)
INSPECTION_FIELDS = ("ok", "format", "pages", "encrypted", "text_layer", "error")


def record_inspection(session: Session, payload: dict[str, Any]) -> None:
    version = session.execute(select(DocumentVersion).where(
        DocumentVersion.id == payload["version_id"])).scalar_one_or_none()
    if version is None:
        log.warning("inspection of unknown version %s ignored", payload.get("version_id"))
        return
    version.inspection = {k: payload.get(k) for k in INSPECTION_FIELDS}
    version.classification_marks = list(payload.get("classification_marks") or [])
    session.flush()
    refresh_flag(session, version.application_id)


def record_completeness(session: Session, payload: dict[str, Any]) -> None:
    app = session.get(Application, payload["application_id"])
    if app is None:
        log.warning("completeness of unknown application %s ignored", payload["application_id"])
        return
    submission = int(payload.get("submission") or 0)
    if submission == 0:
        # The checklist of the current versions: kept apart, so a new version uploaded after
        # a return is judged at once, while the report on the submission stays as it was.
        app.draft_checklist = {"status": payload["status"],
                               "counts": payload.get("counts") or {},
                               "items": list(payload.get("items") or []),
                               "report_id": payload.get("report_id")}
    known = int((app.completeness_report or {}).get("submission") or 0)
    if submission < known:
        return  # a late draft checklist never hides the report on a submission
    app.completeness = payload["status"]
    app.completeness_report = {"counts": payload.get("counts") or {},
                               "missing": payload.get("missing") or [],
                               "report_id": payload.get("report_id"),
                               "submission": submission}


def _programme(session: Session, cycle_id: str) -> str | None:
    cycle = session.get(Cycle, cycle_id)
    return cycle.programme if cycle else None


def _record(session: Session, cycle_id: str, application_id: str) -> AwardRecord | None:
    return session.execute(select(AwardRecord).where(
        AwardRecord.cycle == cycle_id, AwardRecord.application_id == application_id)
    ).scalar_one_or_none()


def record_decision(session: Session, payload: dict[str, Any]) -> None:
    """`award.decided`: who won or was nominated, keyed for the bans by credit code/identity."""
    programme = _programme(session, payload["cycle"])
    for result in payload.get("results") or []:
        row = _record(session, payload["cycle"], result["application_id"])
        if row is None:
            row = AwardRecord(cycle=payload["cycle"], application_id=result["application_id"])
            session.add(row)
        row.programme = programme
        row.year = int(payload["year"])
        row.owner = result.get("owner") or ""
        row.kind = result.get("kind") or ""
        row.credit_code = result.get("credit_code")
        row.id_index = result.get("id_index")
        row.tier = result["tier"]
        session.flush()


def record_revocation(session: Session, payload: dict[str, Any]) -> None:
    row = _record(session, payload["cycle"], payload["application_id"])
    if row is None:
        # Revocation of an award decided before intake kept records: keep what we are told.
        app = session.get(Application, payload["application_id"])
        cycle = session.get(Cycle, payload["cycle"])
        row = AwardRecord(cycle=payload["cycle"], application_id=payload["application_id"],
                          programme=cycle.programme if cycle else None,
                          year=cycle.year if cycle else int(payload["year"]),
                          owner=payload.get("owner") or "", tier="award",
                          kind=app.kind if app else "")
        session.add(row)
    row.credit_code = payload.get("credit_code") or row.credit_code
    row.id_index = payload.get("id_index") or row.id_index
    row.revoked_year = int(payload["year"])
    row.ground = payload.get("ground")
