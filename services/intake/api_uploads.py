"""Resumable uploads over intake's API: start, send parts, ask which arrived, complete, abort.

The domain is in `resumable.py`; these views only authorise, parse and call it. The browser's
upload script (`shared/web/static/upload.js`) uses them with its session cookie.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import redis
from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import validate

from services.intake import applications as domain
from services.intake import material, resumable
from services.intake.material import CONFIDENTIALITY
from services.intake.models import Application
from services.intake.schemas import VersionOut
from shared.errors import DossierError
from shared.http import current_principal, roles, service_context

blp = Blueprint("intake_uploads", __name__, url_prefix="/api",
                description="Resumable uploads: S3 multipart parts sent through intake")


class UploadStartIn(ma.Schema):
    filename = ma.fields.String(required=True, validate=validate.Length(min=1, max=255))
    size = ma.fields.Integer(required=True, validate=validate.Range(min=0),
                             metadata={"description": "Bytes of the whole file"})
    declared_type = ma.fields.String(load_default=None, validate=validate.Length(max=100),
                                     metadata={"description": "What the browser says"})
    requirement = ma.fields.String(required=True, validate=validate.Length(min=1, max=80))
    confidentiality = ma.fields.String(load_default="internal",
                                       validate=validate.OneOf(CONFIDENTIALITY))
    secret_pages = ma.fields.String(load_default=None, allow_none=True,
                                    metadata={"description": "e.g. 1-3,7"})
    document_id = ma.fields.String(load_default=None, allow_none=True,
                                   metadata={"description": "Upload a new version of it"})
    idempotency_key = ma.fields.String(load_default=None, allow_none=True,
                                       validate=validate.Length(max=120))


class PartOut(ma.Schema):
    number = ma.fields.Integer()
    size = ma.fields.Integer()
    etag = ma.fields.String()


class UploadOut(ma.Schema):
    id = ma.fields.String()
    application_id = ma.fields.String()
    filename = ma.fields.String()
    size = ma.fields.Integer()
    part_size = ma.fields.Integer()
    parts = ma.fields.Integer(metadata={"description": "How many parts make the file"})
    document_id = ma.fields.String()
    number = ma.fields.Integer(metadata={"description": "The version it will become"})
    confidentiality = ma.fields.String()
    expires_at = ma.fields.Float(metadata={"description": "Epoch seconds; pushed back by "
                                                          "every part"})
    version_id = ma.fields.String(allow_none=True)


class UploadStatusOut(UploadOut):
    received = ma.fields.List(ma.fields.Nested(PartOut),
                              metadata={"description": "Parts the store holds (ListParts)"})
    missing = ma.fields.List(ma.fields.Integer())


def pendings() -> resumable.PendingUploads:
    found = current_app.extensions.get("intake.pending_uploads")
    if found is None:
        client = redis.Redis.from_url(service_context().settings.redis_url, socket_timeout=10,
                                      socket_connect_timeout=5)
        found = current_app.extensions["intake.pending_uploads"] = \
            resumable.PendingUploads(client)
    return found


def _own(application_id: str, upload_id: str) -> tuple[Application, resumable.Pending]:
    """The application (scoped as everywhere) and the upload, both the caller's; else 404."""
    who = current_principal()
    with service_context().db.reader() as session:
        app = domain.get_application(session, who, application_id)
    return app, resumable.lookup(pendings(), who, app, upload_id)


@blp.post("/applications/<application_id>/uploads")
@blp.arguments(UploadStartIn)
@blp.response(201, UploadOut)
@roles("applicant")
def start_upload(body: dict[str, Any], application_id: str) -> resumable.Pending:
    """Start a resumable upload: checks the name, size, limits and target, opens an S3
    multipart upload and answers with its id and the part size to send."""
    ctx = service_context()
    who = current_principal()
    # Expired uploads are aborted whenever a new one starts (and by the worker's sweeper).
    resumable.sweep(ctx.store, pendings())
    with ctx.db.reader() as session:
        app = domain.get_application(session, who, application_id)
        limits = resumable.Limits(max_file=ctx.settings.max_upload_bytes,
                                  packet=ctx.settings.intake_max_packet_bytes,
                                  used=material.packet_size(session, app.id))
        # A reader holds no lock: the store and Redis calls inside do not stall any writer.
        pending = resumable.begin(session, ctx.store, pendings(), who, app, body, limits)
    ctx.db.transact(lambda session: resumable.record_start(session, ctx.audit, who, pending))
    return pending


@blp.get("/applications/<application_id>/uploads/<upload_id>")
@blp.response(200, UploadStatusOut)
@roles("applicant")
def upload_status(application_id: str, upload_id: str) -> dict[str, Any]:
    """Which parts the store holds (S3 ListParts): a resuming browser sends only the others."""
    _, pending = _own(application_id, upload_id)
    if pending.version_id:
        received: list[Any] = []
        missing: list[int] = []
    else:
        received = service_context().store.list_parts(pending.key, pending.s3_upload_id)
        missing = resumable.missing_parts(pending, received)
    return {**pending.__dict__, "parts": pending.parts, "received": received,
            "missing": missing}


@blp.put("/applications/<application_id>/uploads/<upload_id>/parts/<int:number>")
@blp.response(200, PartOut)
@roles("applicant")
def upload_part(application_id: str, upload_id: str, number: int) -> Any:
    """One part, the raw body (exactly `part_size` bytes, the last one the rest), streamed into
    one buffer and sent to the store as that part."""
    ctx = service_context()
    who = current_principal()
    app, pending = _own(application_id, upload_id)
    domain.ensure_editable(app)
    if pending.version_id:
        raise resumable.UploadUnknown(detail=f"upload {upload_id} is complete")
    length = resumable.check_part_request(pending, number, request.content_length)
    request.max_content_length = resumable.MAX_PART_SIZE
    try:
        part = resumable.receive_part(ctx.store, pendings(), pending, number, request.stream,
                                      length)
    except DossierError as exc:
        if exc.code in ("upload.type_not_allowed", "upload.type_mismatch", "upload.empty"):
            # The file itself is refused: nothing more of it is wanted.
            resumable.abort(ctx.store, pendings(), pending)
        raise
    with ctx.db.session() as session:
        ctx.audit.append(session, actor=who.subject, role=who.role, action="upload.part",
                         target=f"upload:{upload_id}",
                         detail={"application": app.id, "part": number, "size": part.size})
    return part


@blp.post("/applications/<application_id>/uploads/<upload_id>/complete")
@blp.response(201, VersionOut)
@blp.alt_response(200, schema=VersionOut, description="Already completed: the same version")
@roles("applicant")
def complete_upload(application_id: str, upload_id: str) -> Any:
    """Join the parts, hash and sniff the object, record the version as any upload is recorded
    (same event, audit and idempotency). 409 `upload.parts_missing` names the parts to send."""
    ctx = service_context()
    who = current_principal()
    _, pending = _own(application_id, upload_id)
    with ctx.db.reader() as session:
        replay = material.find_by_idempotency_key(session, application_id,
                                                  pending.idempotency_key)
        if replay is not None:
            return replay, 200
    with pendings().completing(upload_id):
        with ctx.db.reader() as session:
            app = domain.get_application(session, who, application_id)
            domain.ensure_editable(app)
            used = material.packet_size(session, app.id)
            slot = material.choose_slot(session, app, pending.requirement,
                                        None if pending.is_new else pending.document_id)
        if used + pending.size > ctx.settings.intake_max_packet_bytes:
            raise material.PacketTooLarge(limit=ctx.settings.intake_max_packet_bytes)
        if not pending.is_new and slot.number != pending.number:
            raise DossierError("upload.concurrent", status=409,
                               zh="该文件在此期间已有新版本，请刷新后重新上传。",
                               en="A newer version of this document arrived meanwhile; reload "
                                  "and upload again.")
        stored = resumable.finish(ctx.store, pending)
        [version], _recorded = material.save_versions(
            ctx.db, ctx.store, ctx.outbox, ctx.audit, who, application_id,
            [material.NewVersion(pending.slot, pending.requirement, pending.confidentiality,
                                 pending.pages, pending.filename, stored,
                                 pending.idempotency_key)])
        pendings().completed(pending, version.id)
        return version


@blp.delete("/applications/<application_id>/uploads/<upload_id>")
@blp.response(204)
@roles("applicant")
def abort_upload(application_id: str, upload_id: str) -> None:
    """Cancel: the store drops the parts received so far."""
    ctx = service_context()
    who = current_principal()
    _, pending = _own(application_id, upload_id)
    if pending.version_id:
        raise DossierError("upload.already_complete", status=409,
                           zh="该上传已完成，不能取消；如需删除请删除文件。",
                           en="This upload is complete; delete the document instead.")
    resumable.abort(ctx.store, pendings(), pending)
    with ctx.db.session() as session:
        ctx.audit.append(session, actor=who.subject, role=who.role, action="upload.aborted",
                         target=f"upload:{upload_id}",
                         detail={"application": pending.application_id})
