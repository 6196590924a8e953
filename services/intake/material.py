"""A packet's material: versions streamed to the store, confidentiality, deletion in draft."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.intake.applications import ensure_editable, get_application, now
from services.intake.checklist import Catalogue
from services.intake.filetypes import SNIFF_BYTES, check_upload
from services.intake.models import Application, Document, DocumentVersion
from services.intake.uploads import IncomingFile, UploadTooLarge
from shared.audit import AuditLog
from shared.auth import Principal
from shared.db import Database
from shared.errors import Conflict, DossierError, NotFound
from shared.events import Outbox
from shared.storage import ObjectStore

log = logging.getLogger(__name__)

CONFIDENTIALITY = ("public", "internal", "trade-secret")
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


class PacketTooLarge(DossierError):
    code = "upload.packet_too_large"
    status = 413
    zh = "申报材料总量超过上限（{limit} 字节）。"
    en = "The packet's material exceeds the limit of {limit} bytes."


@dataclass(frozen=True)
class Stored:
    key: str
    object_version: str | None
    sha256: str
    size: int
    content_type: str


@dataclass(frozen=True)
class Slot:
    """Where an upload goes: a new document, or the next version of an existing one."""

    document_id: str
    number: int
    is_new: bool


def parse_pages(raw: Any) -> list[list[int]]:
    """`"1-3, 7"` or `[[1, 3], [7, 7]]` → `[[1, 3], [7, 7]]`; 422 on anything else."""
    if raw in (None, "", []):
        return []
    ranges: list[list[int]] = []
    items = raw.split(",") if isinstance(raw, str) else raw
    for item in items:
        if isinstance(item, str):
            m = _RANGE.match(item)
            if not m:
                raise _bad_pages(raw)
            first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        elif isinstance(item, list | tuple) and len(item) == 2:
            first, last = int(item[0]), int(item[1])
        else:
            raise _bad_pages(raw)
        if first < 1 or last < first:
            raise _bad_pages(raw)
        ranges.append([first, last])
    return sorted(ranges)


def _bad_pages(raw: Any) -> DossierError:
    return DossierError("document.secret_pages_invalid", status=422,
                        zh="商业秘密页码范围无效：{raw}（示例：1-3,7）。",
                        en="Invalid trade-secret page ranges: {raw} (e.g. 1-3,7).", raw=raw)


def validate_fields(fields: dict[str, str]) -> tuple[str, str, list[list[int]], str | None]:
    requirement = (fields.get("requirement") or "").strip()
    confidentiality = (fields.get("confidentiality") or "internal").strip()
    errors: dict[str, list[str]] = {}
    if not requirement or len(requirement) > 80:
        errors["requirement"] = ["required, at most 80 characters"]
    if confidentiality not in CONFIDENTIALITY:
        errors["confidentiality"] = [f"one of {', '.join(CONFIDENTIALITY)}"]
    if errors:
        raise DossierError("validation.failed", errors=errors)
    pages = parse_pages(fields.get("secret_pages"))
    if pages and confidentiality != "trade-secret":
        raise _pages_need_secret()
    return requirement, confidentiality, pages, (fields.get("document_id") or None)


def _pages_need_secret() -> DossierError:
    return DossierError("document.secret_pages_need_trade_secret", status=422,
                        zh="只有标为商业秘密的文件才能标注商业秘密页码。",
                        en="Page ranges can only be given for a trade-secret document.")


class RequirementUnknown(DossierError):
    code = "upload.requirement_unknown"
    status = 422
    zh = "本届材料目录中没有所选的材料项（对此类申报人），请从材料目录中选择。"
    en = "This cycle's list of requirements has no such item for this kind of applicant."


def check_requirement(catalogue: Catalogue | None, kind: str, requirement: str,
                      known: set[str]) -> None:
    """Once the cycle's list has arrived, a file answers one of its items for the applicant's
    kind, or an item the packet's documents already use (a new version keeps its item, as the
    upload form offers). Before the list arrives any item is taken, as the form lets one type
    it."""
    if catalogue is None or requirement in known or catalogue.find(kind, requirement):
        return
    raise RequirementUnknown(detail=f"requirement {requirement!r}, applicant kind {kind!r}")


def packet_size(session: Session, application_id: str) -> int:
    """Bytes of the current (latest) version of every document."""
    latest = (select(DocumentVersion.document_id, func.max(DocumentVersion.number).label("n"))
              .where(DocumentVersion.application_id == application_id)
              .group_by(DocumentVersion.document_id).subquery())
    total = session.execute(
        select(func.coalesce(func.sum(DocumentVersion.size), 0)).join(
            latest, (DocumentVersion.document_id == latest.c.document_id)
            & (DocumentVersion.number == latest.c.n))).scalar_one()
    return int(total)


def choose_slot(session: Session, app: Application, requirement: str,
                document_id: str | None) -> Slot:
    """A re-upload names its document (`document_id`); otherwise a new document is started."""
    if document_id is None:
        return Slot(str(uuid.uuid4()), 1, True)
    document = session.get(Document, document_id)
    if document is None or document.application_id != app.id:
        raise NotFound("document.unknown", zh="该申报中没有此文件。",
                       en="No such document in this application.")
    if document.requirement != requirement:
        # Never filed under the other item: the two choices disagree, the person decides.
        raise DossierError("document.requirement_mismatch", status=422,
                           zh="所选的“上传为”文件属于另一材料项：新版本必须与原文件属于同一"
                              "材料项。请重新选择材料项，或选择“作为新文件上传”。",
                           en="The file chosen under \u201cupload as\u201d belongs to another "
                              "requirement: a new version must be for the same requirement as "
                              "the file it replaces. Choose the requirement again, or upload "
                              "it as a new document.",
                           requirement=document.requirement)
    current = session.execute(select(func.max(DocumentVersion.number)).where(
        DocumentVersion.document_id == document_id)).scalar()
    return Slot(document_id, int(current or 0) + 1, False)


def find_by_idempotency_key(session: Session, application_id: str,
                            key: str) -> DocumentVersion | None:
    return session.execute(select(DocumentVersion).where(
        DocumentVersion.application_id == application_id,
        DocumentVersion.idempotency_key == key)).scalar_one_or_none()


def object_tags(confidentiality: str, requirement: str, pages: list[list[int]],
                sha256: str | None = None) -> dict[str, str]:
    tags = {"confidentiality": confidentiality, "kind": requirement}
    if pages:
        # S3 tag values allow digits, spaces and '-', not ',' everywhere: "1-3 7-7".
        tags["secret-pages"] = " ".join(f"{a}-{b}" for a, b in pages)
    if sha256:
        tags["sha256"] = sha256
    return tags


def stream_to_store(store: ObjectStore, app: Application, slot: Slot, incoming: IncomingFile,
                    confidentiality: str, requirement: str, pages: list[list[int]]) -> Stored:
    """Check the first bytes, then stream the rest to the store, hashing on the way."""
    content_type = check_upload(incoming.filename, incoming.reader.peek(SNIFF_BYTES))
    key = f"{app.cycle}/{app.id}/{slot.document_id}/v{slot.number}"
    stored = store.put(
        key, incoming.reader,  # type: ignore[arg-type]
        content_type=content_type,
        # S3 metadata is ASCII-only: keep the exact (Chinese) name percent-encoded.
        metadata={"filename": quote(incoming.filename), "uploaded-as": incoming.declared_type},
        tags=object_tags(confidentiality, requirement, pages),
    )
    reader = incoming.reader
    # The hash is known only at the end of the stream; tags can be set afterwards, metadata not.
    store.set_tags(key, object_tags(confidentiality, requirement, pages, reader.sha256),
                   version_id=stored.version_id)
    return Stored(key, stored.version_id, reader.sha256, reader.size, content_type)


def record_version(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
                   app: Application, *, slot: Slot, requirement: str, confidentiality: str,
                   pages: list[list[int]], filename: str, stored: Stored,
                   idempotency_key: str | None) -> DocumentVersion:
    """Write the version and its event in one transaction (the caller commits)."""
    ensure_editable(app)  # re-checked inside the writing transaction
    if slot.is_new:
        session.add(Document(id=slot.document_id, application_id=app.id,
                             requirement=requirement, created_at=now()))
    version = DocumentVersion(
        id=str(uuid.uuid4()), document_id=slot.document_id, application_id=app.id,
        number=slot.number, object_key=stored.key, object_version=stored.object_version,
        sha256=stored.sha256, size=stored.size, content_type=stored.content_type,
        filename=filename, confidentiality=confidentiality, secret_pages=pages,
        idempotency_key=idempotency_key, uploaded_by=who.subject, created_at=now())
    session.add(version)
    app.updated_at = now()
    session.flush()
    if app.flagged:
        refresh_flag(session, app.id)  # the marked version may just have been replaced
    outbox.emit(session, "document.uploaded", {
        "application_id": app.id, "document_id": slot.document_id, "version_id": version.id,
        "number": slot.number, "cycle": app.cycle, "kind": app.kind, "owner": app.owner,
        "requirement": requirement, "confidentiality": confidentiality, "secret_pages": pages,
        "filename": filename, "object_key": stored.key, "object_version": stored.object_version,
        "sha256": stored.sha256, "size": stored.size, "content_type": stored.content_type,
    })
    audit.append(session, actor=who.subject, role=who.role, action="document.uploaded",
                 target=f"document-version:{version.id}",
                 detail={"application": app.id, "sha256": stored.sha256, "size": stored.size,
                         "confidentiality": confidentiality, "number": slot.number})
    return version


@dataclass(frozen=True)
class NewVersion:
    """An object already in the store, to be recorded as a version (the command every upload
    form ends with: single, resumable and batch)."""

    slot: Slot
    requirement: str
    confidentiality: str
    pages: list[list[int]]
    filename: str
    stored: Stored
    idempotency_key: str | None


def discard_stored(store: ObjectStore, objects: Sequence[Stored]) -> None:
    """Delete objects no record will name. Every one is tried even if one fails, and a failure
    is logged, never raised: the caller is already answering with the reason it undoes."""
    for stored in objects:
        try:
            store.delete(stored.key, stored.object_version)
        except Exception:
            log.warning("could not remove unrecorded object %s", stored.key, exc_info=True)


def save_versions(db: Database, store: ObjectStore, outbox: Outbox, audit: AuditLog,
                  who: Principal, application_id: str, items: Sequence[NewVersion]
                  ) -> tuple[list[DocumentVersion], bool]:
    """Record stored objects as versions, all in one short transaction, or undo every object:
    no half records and no unnamed objects. (versions, True) when recorded; (the first
    versions, False) when a retry with the same idempotency keys lost the race. Every upload
    ends here: the API's single and batch uploads and the resumable upload of the page."""

    def record(session: Session) -> list[DocumentVersion]:
        app = get_application(session, who, application_id, lock=True)
        return [record_version(session, outbox, audit, who, app, slot=item.slot,
                               requirement=item.requirement,
                               confidentiality=item.confidentiality, pages=item.pages,
                               filename=item.filename, stored=item.stored,
                               idempotency_key=item.idempotency_key) for item in items]

    try:
        return db.transact(record), True
    except IntegrityError:
        # Lost a race (same idempotency key, or the same next version number): drop our copy.
        discard_stored(store, [item.stored for item in items])
        keys = [item.idempotency_key for item in items]
        if all(keys):
            with db.reader() as session:
                replay = [find_by_idempotency_key(session, application_id, k or "")
                          for k in keys]
            if all(v is not None for v in replay):
                return [v for v in replay if v is not None], False
        raise DossierError("upload.concurrent", status=409,
                           zh="同一文件正被同时上传，请刷新后重试。",
                           en="Another upload of this document won; reload and retry."
                           ) from None
    except BaseException:
        discard_stored(store, [item.stored for item in items])
        raise


def upload_file(db: Database, store: ObjectStore, outbox: Outbox, audit: AuditLog,
                who: Principal, application_id: str,
                open_file: Callable[[int], IncomingFile], *, max_file: int, packet: int,
                idempotency_key: str | None) -> tuple[DocumentVersion, bool]:
    """One file streamed to the store and recorded (the API's single upload). The body is
    opened (`open_file(limit)`) only once the application is known to take it: a retry with
    a known idempotency key answers with the first version (False) even if the packet has
    moved on since, before any byte of the body is read."""
    with db.reader() as session:
        app = get_application(session, who, application_id)
        if idempotency_key:
            replay = find_by_idempotency_key(session, app.id, idempotency_key)
            if replay is not None:
                return replay, False
        ensure_editable(app)
        used = packet_size(session, app.id)
    limit = max(0, min(max_file, packet - used))
    incoming = open_file(limit)
    requirement, confidentiality, pages, document_id = validate_fields(incoming.fields)
    try:
        with db.reader() as session:
            slot = choose_slot(session, app, requirement, document_id)
        stored = stream_to_store(store, app, slot, incoming, confidentiality, requirement,
                                 pages)
    except UploadTooLarge:
        if limit < max_file:
            raise PacketTooLarge(limit=packet) from None
        raise
    finally:
        incoming.reader.close()
    [version], recorded = save_versions(
        db, store, outbox, audit, who, application_id,
        [NewVersion(slot, requirement, confidentiality, pages, incoming.filename, stored,
                    idempotency_key)])
    return version, recorded


def refresh_flag(session: Session, application_id: str) -> None:
    """Flag the packet while any current version carries a classification mark."""
    app = session.get(Application, application_id)
    if app is None:
        return
    session.refresh(app, ["documents"])
    current = [d.versions[-1] for d in app.documents if d.versions]
    app.flagged = any(v.classification_marks for v in current)


def get_document(session: Session, app: Application, document_id: str) -> Document:
    document = session.get(Document, document_id)
    if document is None or document.application_id != app.id:
        raise NotFound("document.unknown", zh="该申报中没有此文件。",
                       en="No such document in this application.")
    return document


def set_confidentiality(db: Database, store: ObjectStore, audit: AuditLog, who: Principal,
                        application_id: str, document_id: str, confidentiality: str,
                        pages: list[list[int]]) -> DocumentVersion:
    """Re-tag the current version (object tags, then the database) until the packet is
    submitted. The tags are set with no transaction open; the record follows in a short
    transaction that checks everything again (and puts the old tags back if it fails)."""
    def load(session: Session) -> tuple[Application, Document, DocumentVersion]:
        app = get_application(session, who, application_id)
        document = get_document(session, app, document_id)
        return app, document, _retaggable(app, document, confidentiality, pages)

    with db.reader() as session:
        _, document, current = load(session)
        key, version_id, sha, kind = (current.object_key, current.object_version,
                                      current.sha256, document.requirement)
        old_tags = object_tags(current.confidentiality, kind, current.secret_pages or [], sha)
    store.set_tags(key, object_tags(confidentiality, kind, pages, sha), version_id=version_id)

    def apply(session: Session) -> DocumentVersion:
        app, _, current = load(session)
        if current.object_version != version_id:
            raise Conflict("document.changed", zh="该文件在此期间有了新版本，请刷新后重试。",
                           en="A newer version arrived meanwhile; reload and try again.")
        before = current.confidentiality
        current.confidentiality = confidentiality
        current.secret_pages = pages
        app.updated_at = now()
        audit.append(session, actor=who.subject, role=who.role,
                     action="document.confidentiality", target=f"document-version:{current.id}",
                     detail={"from": before, "to": confidentiality, "secret_pages": pages})
        return current

    try:
        return db.transact(apply)
    except BaseException:
        with contextlib.suppress(Exception):  # best effort: the record did not change
            store.set_tags(key, old_tags, version_id=version_id)
        raise


def _retaggable(app: Application, document: Document, confidentiality: str,
                pages: list[list[int]]) -> DocumentVersion:
    ensure_editable(app)
    current = document.versions[-1]
    if current.frozen_until is not None:
        raise Conflict("document.frozen", zh="该版本已随申报提交，不可更改；请上传新版本。",
                       en="This version was submitted and is frozen; upload a new version.")
    if pages and confidentiality != "trade-secret":
        raise _pages_need_secret()
    pages_known = (current.inspection or {}).get("pages")
    if pages and pages_known and pages[-1][1] > pages_known:
        raise DossierError("document.secret_pages_out_of_range", status=422,
                           zh="页码超出文件页数（共 {pages} 页）。",
                           en="Page range beyond the document's {pages} pages.",
                           pages=pages_known)
    return current


def delete_document(db: Database, store: ObjectStore, outbox: Outbox, audit: AuditLog,
                    who: Principal, application_id: str, document_id: str) -> None:
    """Only while in draft: once a packet went out, its material is part of the record.

    The records go in one short transaction; the objects after it, with no transaction open.
    An object the store fails to delete is left behind unreachable (logged), never a record
    without its object."""
    def apply(session: Session) -> list[tuple[str, str | None]]:
        app = get_application(session, who, application_id)
        document = get_document(session, app, document_id)
        if app.status != "draft":
            raise Conflict("document.delete_not_draft",
                           zh="只有草稿状态的申报可以删除文件。",
                           en="Documents can be deleted only while the application is a draft.")
        versions = list(document.versions)
        if any(v.frozen_until is not None for v in versions):
            raise Conflict("document.frozen", zh="该文件已随申报提交，不可删除。",
                           en="This document was submitted and is frozen.")
        for version in versions:
            session.delete(version)
        if app.publicity_document_id == document.id:
            app.publicity_document_id = None
        session.delete(document)
        app.updated_at = now()
        outbox.emit(session, "document.deleted", {
            "application_id": app.id, "document_id": document.id,
            "version_ids": [v.id for v in versions], "audience": []})
        audit.append(session, actor=who.subject, role=who.role, action="document.deleted",
                     target=f"document:{document.id}",
                     detail={"application": app.id, "versions": len(versions)})
        return [(v.object_key, v.object_version) for v in versions]

    for key, version_id in db.transact(apply):
        try:
            store.delete(key, version_id)
        except Exception:
            log.warning("document %s deleted; its object %s stays in storage", document_id, key,
                        exc_info=True)
