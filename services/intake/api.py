"""Intake's HTTP API: thin views over `applications`."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.http import parse_options_header

from services.intake import applications as domain
from services.intake.models import Application
from services.intake.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationQuery,
    UploadQuery,
    VersionOut,
)
from services.intake.uploads import IncomingFile, MalformedUpload, multipart_upload, raw_upload
from shared.errors import DossierError
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, page_schema, paginate

blp = Blueprint("intake", __name__, url_prefix="/api", description="Applications and material")
ApplicationPage = page_schema(ApplicationOut, "ApplicationPage")
STAFF = ("operator", "supervisor", "admin", "recommender")


@blp.post("/applications")
@blp.arguments(ApplicationIn)
@blp.response(201, ApplicationOut)
@roles("applicant")
def create_application(body: dict[str, Any]) -> Application:
    ctx = service_context()
    with ctx.db.session() as session:
        app = domain.create_application(session, ctx.audit, current_principal(), **body)
        app.documents = []  # loaded (empty) while the session is open
    return app


@blp.get("/applications")
@blp.arguments(ApplicationQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, ApplicationPage)
@roles("applicant", *STAFF)
def list_applications(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    ctx = service_context()
    query = domain.visible_applications(current_principal()).options(
        selectinload(Application.documents).selectinload(domain.Document.versions))
    for name, value in filters.items():
        query = query.where(getattr(Application, name) == value)
    with ctx.db.reader() as session:
        return paginate(session, query, page, per_page)


@blp.get("/applications/<application_id>")
@blp.response(200, ApplicationOut)
@roles("applicant", *STAFF)
def get_application(application_id: str) -> Application:
    ctx = service_context()
    with ctx.db.reader() as session:
        app = domain.get_application(session, current_principal(), application_id)
        for document in app.documents:
            _ = document.versions  # load inside the session
        return app


@blp.post("/applications/<application_id>/documents")
@blp.arguments(UploadQuery, location="query")
@blp.response(201, VersionOut)
@blp.alt_response(200, schema=VersionOut, description="Replay of an Idempotency-Key")
@roles("applicant")
def upload_document(query: dict[str, Any], application_id: str) -> Any:
    """Upload one file: `multipart/form-data` (fields before the file) or the raw file body.

    A raw body names the file in `?filename=` or `Content-Disposition`.

    Fields `requirement` and `confidentiality` (public | internal | trade-secret) come from the
    form or the query string. An `Idempotency-Key` header makes a retried upload return the
    first result instead of storing a second version.
    """
    ctx = service_context()
    who = current_principal()
    key = request.headers.get("Idempotency-Key", "").strip() or None
    with ctx.db.reader() as session:
        app = domain.get_application(session, who, application_id)
        domain.ensure_draft(app)
        if key:
            replay = domain.find_by_idempotency_key(session, app.id, key)
            if replay is not None:
                return replay, 200
    request.max_content_length = ctx.settings.max_upload_bytes + 1024 * 1024
    incoming = _incoming_file(query, ctx.settings.max_upload_bytes)
    requirement, confidentiality = domain.validate_upload_fields(incoming.fields)
    document_id = str(uuid.uuid4())
    stored = domain.stream_to_store(ctx.store, app, document_id, 1, incoming, confidentiality,
                                    requirement)
    try:
        with ctx.db.session() as session:
            app = domain.get_application(session, who, application_id)
            version = domain.record_version(
                session, ctx.outbox, ctx.audit, who, app, document_id=document_id, is_new=True,
                number=1, requirement=requirement, confidentiality=confidentiality,
                filename=incoming.filename, stored=stored, idempotency_key=key)
    except IntegrityError:
        # Lost a race with the same Idempotency-Key: drop our copy, answer with the winner's.
        ctx.store.delete(stored.key, stored.object_version)
        with ctx.db.reader() as session:
            replay = domain.find_by_idempotency_key(session, application_id, key or "")
            if replay is None:
                raise
            return replay, 200
    except BaseException:
        # No half records: the object goes if its record could not be written.
        ctx.store.delete(stored.key, stored.object_version)
        raise
    return version


def _incoming_file(query: dict[str, Any], limit: int) -> IncomingFile:
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        boundary = request.mimetype_params.get("boundary")
        if not boundary:
            raise MalformedUpload(why="multipart body without a boundary")
        incoming = multipart_upload(request.stream, boundary, limit)
        for name in ("requirement", "confidentiality"):
            if name in query and name not in incoming.fields:
                incoming.fields[name] = query[name]
        return incoming
    if not mimetype or mimetype.startswith(("application/x-www-form-urlencoded", "text/")):
        raise DossierError("http.unsupported_media_type",
                           detail="send multipart/form-data or the file body itself")
    # The name comes from the query or, as for any HTTP body, Content-Disposition (RFC 6266,
    # with filename*=UTF-8'' for Chinese names).
    disposition = parse_options_header(request.headers.get("Content-Disposition", ""))[1]
    filename = query.get("filename") or disposition.get("filename", "")
    fields = {k: v for k, v in query.items() if k in ("requirement", "confidentiality")}
    return raw_upload(request.stream, filename, mimetype, fields, limit)
