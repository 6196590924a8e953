"""Applications and their material: plain functions over a session, no Flask, no Celery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.intake.filetypes import SNIFF_BYTES, check_upload
from services.intake.models import Application, Document, DocumentVersion
from services.intake.uploads import IncomingFile
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import Conflict, DossierError, NotFound
from shared.events import Outbox
from shared.storage import ObjectStore

CONFIDENTIALITY = ("public", "internal", "trade-secret")
KINDS = ("organisation", "individual")


def now() -> datetime:
    return datetime.now(UTC)


def create_application(session: Session, audit: AuditLog, who: Principal, *, cycle: str,
                       kind: str, name: str) -> Application:
    app = Application(id=str(uuid.uuid4()), owner=who.subject, cycle=cycle, kind=kind,
                      name=name, status="draft", created_at=now(), updated_at=now())
    session.add(app)
    session.flush()
    audit.append(session, actor=who.subject, role=who.role, action="application.created",
                 target=f"application:{app.id}", detail={"cycle": cycle, "kind": kind})
    return app


def visible_applications(who: Principal) -> Select[tuple[Application]]:
    """The query of applications this caller may see: their own, or all for staff."""
    query = select(Application).order_by(Application.created_at.desc())
    if who.role == "applicant":
        query = query.where(Application.owner == who.subject)
    return query


def get_application(session: Session, who: Principal, application_id: str) -> Application:
    app = session.get(Application, application_id)
    # Someone else's application answers exactly like a missing one: no existence leak.
    if app is None or (who.role == "applicant" and app.owner != who.subject):
        raise NotFound(detail=f"application {application_id}")
    return app


def find_by_idempotency_key(session: Session, application_id: str,
                            key: str) -> DocumentVersion | None:
    return session.execute(select(DocumentVersion).where(
        DocumentVersion.application_id == application_id,
        DocumentVersion.idempotency_key == key)).scalar_one_or_none()


@dataclass(frozen=True)
class Stored:
    key: str
    object_version: str | None
    sha256: str
    size: int
    content_type: str


def stream_to_store(store: ObjectStore, app: Application, document_id: str, number: int,
                    incoming: IncomingFile, confidentiality: str, requirement: str) -> Stored:
    """Check the first bytes, then stream the rest to the store, hashing on the way."""
    content_type = check_upload(incoming.filename, incoming.reader.peek(SNIFF_BYTES))
    key = f"{app.cycle}/{app.id}/{document_id}/v{number}"
    stored = store.put(
        key, incoming.reader,  # type: ignore[arg-type]
        content_type=content_type,
        # S3 metadata is ASCII-only: keep the exact (Chinese) name percent-encoded.
        metadata={"filename": quote(incoming.filename), "uploaded-as": incoming.declared_type},
        tags={"confidentiality": confidentiality, "kind": requirement},
    )
    reader = incoming.reader
    # The hash is known only at the end of the stream; tags can be set afterwards, metadata not.
    store.set_tags(key, {"confidentiality": confidentiality, "kind": requirement,
                         "sha256": reader.sha256}, version_id=stored.version_id)
    return Stored(key, stored.version_id, reader.sha256, reader.size, content_type)


def validate_upload_fields(fields: dict[str, str]) -> tuple[str, str]:
    requirement = (fields.get("requirement") or "").strip()
    confidentiality = (fields.get("confidentiality") or "internal").strip()
    errors: dict[str, list[str]] = {}
    if not requirement or len(requirement) > 80:
        errors["requirement"] = ["required, at most 80 characters"]
    if confidentiality not in CONFIDENTIALITY:
        errors["confidentiality"] = [f"one of {', '.join(CONFIDENTIALITY)}"]
    if errors:
        raise DossierError("validation.failed", errors=errors)
    return requirement, confidentiality


def record_version(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
                   app: Application, *, document_id: str, is_new: bool, number: int,
                   requirement: str, confidentiality: str, filename: str, stored: Stored,
                   idempotency_key: str | None) -> DocumentVersion:
    """Write the version and its event in one transaction (the caller commits)."""
    if is_new:
        session.add(Document(id=document_id, application_id=app.id, requirement=requirement,
                             created_at=now()))
    version = DocumentVersion(
        id=str(uuid.uuid4()), document_id=document_id, application_id=app.id, number=number,
        object_key=stored.key, object_version=stored.object_version, sha256=stored.sha256,
        size=stored.size, content_type=stored.content_type, filename=filename,
        confidentiality=confidentiality, idempotency_key=idempotency_key,
        uploaded_by=who.subject, created_at=now())
    session.add(version)
    app.updated_at = now()
    session.flush()
    outbox.emit(session, "document.uploaded", {
        "application_id": app.id, "document_id": document_id, "version_id": version.id,
        "number": number, "cycle": app.cycle, "owner": app.owner, "requirement": requirement,
        "confidentiality": confidentiality, "filename": filename,
        "object_key": stored.key, "object_version": stored.object_version,
        "sha256": stored.sha256, "size": stored.size, "content_type": stored.content_type,
    })
    audit.append(session, actor=who.subject, role=who.role, action="document.uploaded",
                 target=f"document-version:{version.id}",
                 detail={"application": app.id, "sha256": stored.sha256, "size": stored.size,
                         "confidentiality": confidentiality})
    return version


def next_version_number(session: Session, document_id: str) -> int:
    current = session.execute(select(func.max(DocumentVersion.number)).where(
        DocumentVersion.document_id == document_id)).scalar()
    return int(current or 0) + 1


def ensure_draft(app: Application) -> None:
    if app.status != "draft":
        raise Conflict("application.not_draft", zh="申报已提交，材料不可再修改。",
                       en="The application has been submitted; its material is frozen.")
