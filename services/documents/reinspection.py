"""An operator's re-inspection of one document version (no Flask or Celery here).

Used when a verdict is doubtful (an inspector killed or short of memory, a reader fixed since):
the request is audited and the version is inspected again by `documents.reinspect`, which
replaces the verdict, announces it (`document.inspected`) and recomputes the packet's report,
exactly as a first inspection does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.documents.models import Inspection
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import NotFound

TASK = "documents.reinspect"
# Who may ask: the city regulator's operators (and admins), who answer for the formal review.
OPERATORS = ("operator", "admin")


def request_reinspection(session: Session, audit: AuditLog, who: Principal,
                         version_id: str) -> Inspection:
    """Audit the request for `version_id`; the caller then sends `TASK` with the version id."""
    inspection = session.get(Inspection, version_id)
    if inspection is None:
        raise NotFound(detail=f"inspection {version_id}")
    audit.append(session, actor=who.subject, role=who.role, action="inspection.reinspected",
                 target=f"version:{version_id}",
                 detail={"application": inspection.application_id,
                         "previous": inspection.error_code or "ok"})
    return inspection


def upload_of(inspection: Inspection) -> dict[str, Any]:
    """The `document.uploaded` facts an inspection was made from, to inspect it again."""
    return {"application_id": inspection.application_id,
            "document_id": inspection.document_id, "version_id": inspection.version_id,
            "owner": inspection.owner, "object_key": inspection.object_key,
            "object_version": inspection.object_version, "sha256": inspection.sha256,
            "size": inspection.size, "filename": inspection.filename,
            "requirement": inspection.requirement,
            # Kept since re-inspection exists; for older rows assume the strictest, so notify
            # never names a file that may be a trade secret.
            "confidentiality": (inspection.details or {}).get("upload_confidentiality")
            or "trade-secret"}
