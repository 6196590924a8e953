"""Many files in one request (`POST …/documents/batch`): every file recorded, or none.

Each file part is checked as a single upload is (its fields, the document it replaces, its type
from its first bytes, the per-file and packet caps) and against the cycle's requirement list,
and is streamed to the store as it arrives. Once a part has failed, the later parts are still
read and checked but no longer stored, so the refusal names every part to correct; then every
object already written is deleted again. When all pass, `material.save_versions` records them
in one short transaction (and deletes them all if that fails). No transaction is open while
bytes travel: the checks read in short reader sessions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from services.intake.applications import ensure_editable, get_application
from services.intake.checklist import Catalogue, catalogue_of
from services.intake.filetypes import SNIFF_BYTES, check_upload
from services.intake.material import (
    NewVersion,
    PacketTooLarge,
    Stored,
    check_requirement,
    choose_slot,
    discard_stored,
    find_by_idempotency_key,
    packet_size,
    save_versions,
    stream_to_store,
    validate_fields,
)
from services.intake.models import Application, DocumentVersion
from services.intake.uploads import CHUNK, IncomingFile, UploadTooLarge
from shared.audit import AuditLog
from shared.auth import Principal
from shared.db import Database
from shared.errors import DossierError
from shared.events import Outbox
from shared.storage import ObjectStore

# Fields a query string may give for every file of the batch (a part's own field wins). Not
# `document_id`: one target for several files would be refused for every file but one.
DEFAULT_FIELDS = ("requirement", "confidentiality", "secret_pages")


class BatchRefused(DossierError):
    code = "upload.batch_refused"
    status = 422
    zh = ("批量上传未被接受：有 {count} 个文件未通过检查，本次的文件均未保存。"
          "请按各文件的说明改正后重新上传。")
    en = ("The batch was refused: {count} file(s) failed the checks and none of the files was "
          "kept. Correct them as each says and send the batch again.")

    def __init__(self, refused: list[ItemError]) -> None:
        super().__init__(count=len(refused))
        self.refused = refused

    def problem_errors(self) -> list[dict[str, Any]]:
        return [item.as_dict() for item in self.refused]


class BatchTooLarge(DossierError):
    code = "upload.batch_too_large"
    status = 413
    zh = "本次上传的文件合计超过上限（{limit} 字节），均未保存；请分几次上传。"
    en = ("The files of this request exceed {limit} bytes together; none was kept. Send them "
          "in several requests.")


class BatchTooManyFiles(DossierError):
    code = "upload.batch_too_many_files"
    status = 413
    zh = "一次最多上传 {limit} 个文件，本次的文件均未保存；请分几次上传。"
    en = "At most {limit} files per request; none was kept. Send them in several requests."


class BatchEmpty(DossierError):
    code = "upload.batch_empty"
    status = 422
    zh = "请求中没有文件。"
    en = "The request holds no file."


class SameDocumentTwice(DossierError):
    code = "upload.batch_same_document"
    status = 422
    zh = "本次上传中已有该文件的新版本；同一文件一次只能上传一个新版本。"
    en = "This batch already holds a new version of that document; send one per request."


@dataclass(frozen=True)
class BatchLimits:
    max_files: int  # file parts per request
    max_bytes: int  # bytes of all files of the request together
    max_file: int  # bytes of one file (as for a single upload)
    packet: int  # bytes of the packet's current material


@dataclass(frozen=True)
class ItemError:
    """Why one file of the batch was refused (`index` counts file parts from 0)."""

    index: int
    filename: str
    error: DossierError

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "filename": self.filename,
                               "code": self.error.code,
                               "messages": {"zh-CN": self.error.zh, "en": self.error.en}}
        if self.error.detail:
            out["detail"] = self.error.detail
        if self.error.errors:
            out["errors"] = self.error.errors
        return out


@dataclass
class _Batch:
    """What the files read so far came to."""

    app: Application
    catalogue: Catalogue | None
    known: set[str]  # requirements the packet's documents already use
    used: int  # bytes of the packet before this request
    limits: BatchLimits
    defaults: Mapping[str, str]
    key: str | None
    items: list[NewVersion] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    targets: set[str] = field(default_factory=set)
    total: int = 0
    stopped: bool = False

    @property
    def stored(self) -> list[Stored]:
        return [item.stored for item in self.items]

    def room(self) -> int:
        return max(0, min(self.limits.max_file, self.limits.max_bytes - self.total,
                          self.limits.packet - self.used - self.total))

    def too_large(self, room: int) -> DossierError:
        """The limit that stopped the file, in the words a single upload would use."""
        if room == self.limits.max_bytes - self.total:
            raise BatchTooLarge(limit=self.limits.max_bytes)
        if room == self.limits.max_file:
            return UploadTooLarge(limit=self.limits.max_file)
        return PacketTooLarge(limit=self.limits.packet)


def upload_batch(db: Database, store: ObjectStore, outbox: Outbox, audit: AuditLog,
                 who: Principal, application_id: str, files: Iterable[IncomingFile],
                 limits: BatchLimits, *, defaults: Mapping[str, str],
                 idempotency_key: str | None) -> tuple[list[DocumentVersion], bool]:
    """Store and record every file, or none; (versions, True), or (the first request's
    versions, False) for a retry with the same idempotency key."""
    with db.reader() as session:
        app = get_application(session, who, application_id)
        if idempotency_key:
            replay = _replay(session, app.id, idempotency_key)
            if replay:
                return replay, False
        ensure_editable(app)
        batch = _Batch(app, catalogue_of(session, app.cycle),
                       {d.requirement for d in app.documents}, packet_size(session, app.id),
                       limits, {k: v for k, v in defaults.items() if k in DEFAULT_FIELDS},
                       idempotency_key)
    try:
        for index, incoming in enumerate(files):
            if index >= limits.max_files:
                raise BatchTooManyFiles(limit=limits.max_files)
            _take(db, store, batch, index, incoming)
            if batch.stopped:
                break
    except BaseException:
        discard_stored(store, batch.stored)
        raise
    if batch.errors:
        discard_stored(store, batch.stored)
        raise BatchRefused(batch.errors)
    if not batch.items:
        raise BatchEmpty()
    return save_versions(db, store, outbox, audit, who, application_id, batch.items)


def _take(db: Database, store: ObjectStore, batch: _Batch, index: int,
          incoming: IncomingFile) -> None:
    """Check one file part; store it while the batch is clean, else only read it through."""
    room = batch.room()
    incoming.reader.limit_to(room)
    try:
        fields = {**batch.defaults, **incoming.fields}
        requirement, confidentiality, pages, document_id = validate_fields(fields)
        check_requirement(batch.catalogue, batch.app.kind, requirement, batch.known)
        if document_id is not None and document_id in batch.targets:
            raise SameDocumentTwice()
        with db.reader() as session:
            slot = choose_slot(session, batch.app, requirement, document_id)
        batch.targets.add(slot.document_id)
        if batch.errors:
            check_upload(incoming.filename, incoming.reader.peek(SNIFF_BYTES))
            while incoming.reader.read(CHUNK):
                pass
        else:
            stored = stream_to_store(store, batch.app, slot, incoming, confidentiality,
                                     requirement, pages)
            key = f"{batch.key[:100]}:{index}" if batch.key else None
            batch.items.append(NewVersion(slot, requirement, confidentiality, pages,
                                          incoming.filename, stored, key))
        batch.total += incoming.reader.size
    except UploadTooLarge:
        # The rest of the body is not read: its size is past what this request may hold.
        batch.stopped = True
        batch.errors.append(ItemError(index, incoming.filename, batch.too_large(room)))
    except DossierError as exc:
        batch.errors.append(ItemError(index, incoming.filename, exc))
    finally:
        incoming.reader.close()


def _replay(session: Session, application_id: str, key: str) -> list[DocumentVersion]:
    """The versions a batch with this idempotency key recorded, in file order."""
    found: list[DocumentVersion] = []
    while (version := find_by_idempotency_key(session, application_id,
                                              f"{key[:100]}:{len(found)}")) is not None:
        found.append(version)
    return found
