"""Dossier pull for experts: list assigned dossiers, pledge confidentiality, download.

Files are streamed through the service (no presigned links): each request, and each entry of a
ZIP being streamed, re-checks the expert's assignment and conflicts in the database.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select

from services.review import dossiers
from services.review.models import (
    Application,
    Assignment,
    ConflictRecord,
    Panel,
    Score,
)
from services.review.schemas import AckIn, DossierOut, DossierPage, SessionPledgeOut
from services.review.ziparchive import stream_zip
from shared.errors import DossierError, NotFound
from shared.filenames import content_disposition
from shared.http import current_principal, roles, service_context
from shared.http_work import audit_caller as _audit
from shared.pagerender import ViewLimits
from shared.pagination import PageQuery

log = logging.getLogger(__name__)
blp = Blueprint("dossiers", __name__, url_prefix="/api", description="Dossier pull")


def _view(session: Any, reader: dossiers.Reader, app: Application) -> dict[str, Any]:
    ack = reader.acknowledged
    query = select(Panel).join(Assignment, Assignment.panel_id == Panel.id).where(
        Assignment.application_id == app.id, Assignment.status == "active")
    if reader.expert_id is not None:
        query = query.where(Assignment.expert_id == reader.expert_id)
    stages = sorted({p.stage for p in session.scalars(query)})
    scored: list[str] = []
    if reader.expert_id is not None:
        scored = sorted(set(session.scalars(select(Panel.stage).join(
            Score, Score.panel_id == Panel.id).where(Score.expert_id == reader.expert_id,
                                                     Score.application_id == app.id))))
    panel_ids = {p.stage: p.id for p in session.scalars(query)}
    return _shape(app, stages, scored, panel_ids, ack)


def _shape(app: Application, stages: list[str], scored: list[str], panels: dict[str, str],
           ack: bool) -> dict[str, Any]:
    docs = [{**{k: d.get(k) for k in ("document_id", "requirement", "filename", "size",
                                      "content_type", "confidentiality")},
             "trade_secret": dossiers.is_secret(d),
             "available": ack or not dossiers.is_secret(d)} for d in app.documents or []]
    return {"application_id": app.id, "cycle": app.cycle, "kind": app.kind,
            "applicant_name": app.applicant_name, "stages": stages, "scored_stages": scored,
            "panels": panels, "acknowledged": ack, "documents": docs}


@blp.get("/my/dossiers")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, DossierPage)
@roles("expert")
def my_dossiers(page: int, per_page: int) -> dict[str, Any]:
    ctx = service_context()
    with ctx.db.session() as session:
        expert = dossiers.expert_for(session, current_principal().subject)
        # The same rule as `dossiers.require_access`, for every assignment at once: serving
        # now and no conflict in force. A fixed number of queries whatever the page size.
        assigned = session.execute(
            select(Assignment.application_id, Panel.stage, Panel.id)
            .join(Panel, Panel.id == Assignment.panel_id)
            .where(Assignment.expert_id == expert.id, Assignment.status == "active")).all()
        conflicted = set(session.scalars(select(ConflictRecord.application_id).where(
            ConflictRecord.expert_id == expert.id, ConflictRecord.withdrawn_at.is_(None))))
        visible = sorted({app_id for app_id, _, _ in assigned} - conflicted)
        chunk = visible[(page - 1) * per_page: page * per_page]
        apps = {a.id: a for a in session.scalars(
            select(Application).where(Application.id.in_(chunk)))}
        acks = dossiers.pledged_dossiers(session, expert.id, chunk)
        scored = set(session.execute(
            select(Score.application_id, Panel.stage).join(Panel, Panel.id == Score.panel_id)
            .where(Score.expert_id == expert.id, Score.application_id.in_(chunk))).tuples())
        panels: dict[str, dict[str, str]] = {}
        for app_id, stage, panel_id in assigned:
            panels.setdefault(app_id, {})[stage] = panel_id
        items = [_shape(apps[app_id], sorted(panels[app_id]),
                        sorted({stage for a, stage in scored if a == app_id}),
                        panels[app_id], app_id in acks) for app_id in chunk]
        _audit(session, "dossier.listed", f"expert:{expert.id}", count=len(items))
    return {"items": items, "page": page, "per_page": per_page, "total": len(visible)}


@blp.get("/dossiers/<application_id>")
@blp.response(200, DossierOut)
@roles("expert", "supervisor")
def get_dossier(application_id: str) -> dict[str, Any]:
    ctx = service_context()
    who = current_principal()
    with ctx.db.session() as session:
        reader, app = dossiers.open_dossier(session, who.subject, who.role, application_id)
        _audit(session, "dossier.viewed", f"application:{app.id}")
        return _view(session, reader, app)


@blp.post("/dossiers/<application_id>/acknowledge")
@blp.arguments(AckIn)
@blp.response(200, DossierOut)
@roles("expert")
def acknowledge(body: dict[str, Any], application_id: str) -> dict[str, Any]:
    """The expert's confidentiality and impartiality pledge for this dossier."""
    ctx = service_context()
    with ctx.db.session() as session:
        expert, app = dossiers.require_access(session, current_principal().subject,
                                              application_id)
        if dossiers.pledge(session, expert.id, app.id):
            _audit(session, "dossier.acknowledged", f"application:{app.id}")
        return _view(session, *dossiers.open_dossier(session, expert.subject, "expert",
                                                     app.id))


@blp.post("/panels/<panel_id>/pledge")
@blp.arguments(AckIn)
@blp.response(200, SessionPledgeOut)
@roles("expert")
def pledge_session(body: dict[str, Any], panel_id: str) -> dict[str, Any]:
    """The expert's one confidentiality and impartiality pledge for a review session (this
    panel's stage): it covers every dossier the expert serves on in it, unless the panel's
    `pledge_scope` is `dossier` (409 `pledge.per_dossier`: pledge per dossier instead)."""
    ctx = service_context()
    with ctx.db.session() as session:
        made = dossiers.pledge_session(session, ctx.audit, current_principal(), panel_id)
        return {"panel_id": made.panel.id, "cycle": made.panel.cycle, "stage": made.panel.stage,
                "pledge_scope": made.panel.pledge_scope, "statement": made.pledge.statement,
                "pledged_at": made.pledge.at, "new": made.new, "dossiers": made.dossiers}


@blp.get("/dossiers/<application_id>/download")
@roles("expert", "supervisor")
def download(application_id: str) -> Response:
    """The submitted versions as one streamed ZIP; trade-secret PDFs watermarked."""
    ctx = service_context()
    subject = current_principal().subject
    role = current_principal().role
    with ctx.db.reader() as session:
        reader, app = dossiers.open_dossier(session, subject, role, application_id)
        given, held = dossiers.readable(list(app.documents or []), reader.acknowledged)
        stamp = dossiers.stamp_for(reader)
        readme = dossiers.readme(app, held, stamp)
    # Every object is reachable before the first byte goes out: a store outage answers 503,
    # never a 200 archive of placeholders.
    dossiers.check_readable(ctx.store, given)
    who = current_principal()
    delivered: list[str] = []

    def recheck(name: str) -> None:
        # A recusal recorded while the ZIP streams stops it before the next file.
        with ctx.db.reader() as check:
            dossiers.open_dossier(check, subject, role, application_id)

    def entry(d: dict[str, Any], secret: str | None) -> Iterator[bytes]:
        yield from dossiers.open_document(ctx.store, d, secret,
                                          ctx.settings.review_watermark_font,
                                          ViewLimits.from_settings(ctx.settings), ctx.redis)
        delivered.append(d["document_id"])  # reached only once the whole file was read

    entries: list[tuple[str, Any]] = [("README.txt", lambda: [readme])]
    for d in given:
        secret = stamp if dossiers.is_secret(d) else None
        entries.append((dossiers.entry_name(d), lambda d=d, s=secret: entry(d, s)))
    filename = f"{app.applicant_name}-{app.id}.zip"

    def unavailable(name: str, exc: Exception) -> tuple[str, bytes]:
        if dossiers.is_store_failure(exc):
            raise exc  # the store went away mid-stream: break the archive, no placeholder
        log.warning("dossier %s: %s could not be prepared: %s", application_id, name, exc)
        if isinstance(exc, DossierError):  # e.g. too large to watermark: say so, in words
            return f"{name}.unavailable.txt", f"{exc.zh}\n{exc.en}\n".encode()
        return (f"{name}.unavailable.txt",
                f"该文件无法加水印或读取，请联系工作人员。This file could not be watermarked or "
                f"read; please ask the operator. ({type(exc).__name__})\n".encode())

    def stream() -> Iterator[bytes]:
        complete = False
        try:
            yield from stream_zip(entries, recheck, unavailable)
            complete = True
        finally:
            # What was handed over, written after the fact (also when the stream broke or the
            # client went away): never a list of files that did not leave.
            audit = ctx.audit

            def record(session: Any) -> None:
                audit.append(session, actor=who.subject, role=who.role,
                             action="dossier.downloaded", target=f"application:{app.id}",
                             detail={"documents": delivered, "complete": complete,
                                     "watermarked": [d["document_id"] for d in given
                                                     if dossiers.is_secret(d)
                                                     and d["document_id"] in delivered],
                                     "held_back": [d["document_id"] for d in held],
                                     "not_delivered": [d["document_id"] for d in given
                                                       if d["document_id"] not in delivered]})

            ctx.db.transact(record)

    response = Response(stream(), mimetype="application/zip")
    response.headers["Content-Disposition"] = content_disposition(filename)
    return response


@blp.get("/dossiers/<application_id>/documents/<document_id>")
@roles("expert", "supervisor")
def download_document(application_id: str, document_id: str) -> Response:
    """One submitted version; trade-secret ones only after the pledge, watermarked."""
    ctx = service_context()
    who = current_principal()
    with ctx.db.session() as session:
        reader, app = dossiers.open_dossier(session, who.subject, who.role, application_id)
        found = [d for d in app.documents or [] if d.get("document_id") == document_id]
        if not found:
            raise NotFound()
        document = found[0]
        secret = dossiers.is_secret(document)
        if secret and not reader.acknowledged:
            raise dossiers.NotAcknowledged()
        stamp = dossiers.stamp_for(reader) if secret else None
        _audit(session, "document.downloaded", f"document:{document_id}",
               application=app.id, watermarked=secret)
    dossiers.check_readable(ctx.store, [document])  # 503 now, not a 200 that breaks off
    body = dossiers.open_document(ctx.store, document, stamp,
                                  ctx.settings.review_watermark_font,
                                  ViewLimits.from_settings(ctx.settings), ctx.redis)
    # Stamp before the response starts, so a file too large to watermark is a clear 422, not
    # a download cut off halfway.
    first = next(body, b"")
    body = itertools.chain([first], body)
    response = Response(body, mimetype=document.get("content_type") or
                        "application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition(
        str(document.get("filename") or document_id))
    return response
