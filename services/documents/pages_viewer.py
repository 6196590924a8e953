"""Reading a packet's documents in the browser: the material viewer.

`/packets/<application_id>/documents/<document_id>`: a PDF page by page as pictures (drawn in
the limited render process, `shared.pagerender`), a DOCX as a text preview with a download.
Who may open what, and which version, is `viewer.open_document` (the completeness report's
readers: the owner, the recommender of the unit once submitted, operators, supervisors and
admins); anyone else gets 404, audited as a denied access. Every page, picture and download
someone other than the owner opens is written to the audit log; trade-secret pages they see
carry their name and the Beijing time.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Response, request

from services.documents import access, viewer
from services.documents.access import READERS
from services.documents.signatures import words
from shared import pagerender
from shared.auth import Principal
from shared.errors import DossierError, NotFound
from shared.filenames import content_disposition
from shared.http import current_principal, roles, service_context
from shared.pagerender import ViewLimits
from shared.watermark import reading_stamp
from shared.web.blueprint import PageBlueprint
from shared.web.browser import browser_session
from shared.web.language import _, language
from shared.web.rendering import problem_text, render

blp = PageBlueprint("documents_viewer_pages", __name__)
CHUNK = 256 * 1024


def _limits() -> ViewLimits:
    return ViewLimits.from_settings(service_context().settings)


def _stamp(who: Principal) -> str:
    session = browser_session()
    name = session.name if session is not None and session.name else who.subject
    return reading_stamp(name, who.subject, datetime.now(UTC))


def _back(who: Principal, application_id: str) -> tuple[str, str]:
    """Where the reader came from: the page that lists this packet's documents for them."""
    if who.role == "applicant":
        return f"/intake/packets/{application_id}", _("Back to my application")
    if who.role == "recommender":
        return f"/intake/queue/{application_id}", _("Back to the application")
    return f"/intake/office/applications/{application_id}", _("Back to the application")


def _page_number(pages: int | None) -> int:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return min(max(page, 1), pages) if pages else 1


def _local(title: dict[str, str] | None) -> str:
    if not title:
        return ""
    if language() == "en":
        return title.get("en") or title.get("zh-CN") or ""
    return title.get("zh-CN") or title.get("en") or ""


@blp.get("/packets/<application_id>/documents/<document_id>")
@roles(*READERS)
def document_page(application_id: str, document_id: str) -> Any:
    """One document: its pages one at a time (PDF) or its text (DOCX), and a download."""
    ctx, who = service_context(), current_principal()
    opened = viewer.open_document(ctx, who, application_id, document_id)
    stamped = viewer.watermarked(ctx, who, opened)
    refused: DossierError | None = None
    pages = None
    if opened.is_pdf and opened.readable:
        # From the inspection's record first: a file above the limits is refused once, here.
        refused = pagerender.refusal(opened.source, _limits(), ctx.redis)
        if refused is None:
            pages = pagerender.pages_of(ctx.store, opened.source, _limits(), ctx.redis)
    access.audit_read(ctx, who, "document.viewed", f"document:{document_id}", application_id,
                      opened.owner, version=opened.number, watermarked=stamped)
    back_url, back_text = _back(who, application_id)
    return render("documents/viewer.html", opened=opened, pages=pages,
                  page=_page_number(pages), watermarked=stamped,
                  owner=viewer.is_owner(who, opened),
                  refused=problem_text(refused) if refused else None,
                  requirement=_local(opened.requirement_title),
                  signatures=[words(s, language()) for s in opened.signatures],
                  back_url=back_url, back_text=back_text)


@blp.get("/packets/<application_id>/documents/<document_id>/pages/<int:number>.png")
@roles(*READERS)
def page_image(application_id: str, document_id: str, number: int) -> Response:
    """One page drawn as PNG; a trade secret watermarked for anyone but its owner."""
    ctx, who = service_context(), current_principal()
    opened = viewer.open_document(ctx, who, application_id, document_id)
    if not (opened.is_pdf and opened.readable):
        raise NotFound(detail="not a readable PDF")
    stamp = _stamp(who) if viewer.watermarked(ctx, who, opened) else None
    access.audit_read(ctx, who, "document.page_viewed", f"document:{document_id}",
                      application_id, opened.owner, version=opened.number, page=number,
                      watermarked=stamp is not None)
    png = pagerender.render_page(ctx.store, opened.source, number, stamp,
                                 ctx.settings.review_watermark_font, _limits(), ctx.redis)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


def _streamed(path: Path, folder: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@blp.get("/packets/<application_id>/documents/<document_id>/file")
@roles(*READERS)
def download(application_id: str, document_id: str) -> Response:
    """The file itself, as an attachment; a trade-secret PDF watermarked like its pages."""
    ctx, who = service_context(), current_principal()
    opened = viewer.open_document(ctx, who, application_id, document_id)
    if not opened.readable:
        raise NotFound(detail="not inspected, or failed inspection")
    source = opened.source
    stamp = _stamp(who) if viewer.watermarked(ctx, who, opened) else None
    access.audit_read(ctx, who, "document.downloaded", f"document:{document_id}",
                      application_id, opened.owner, version=opened.number,
                      watermarked=stamp is not None and opened.is_pdf)
    if stamp is not None and opened.is_pdf:
        # Stamped before the response starts: a file too large to stamp is a clear 422.
        folder = Path(tempfile.mkdtemp(prefix="dossier-stamp-"))
        try:
            original, stamped = folder / "source.pdf", folder / "stamped.pdf"
            with original.open("wb") as out:
                for chunk in ctx.store.open(source["object_key"], source.get("object_version")):
                    out.write(chunk)
            pagerender.stamp_file(original, stamped, source, stamp,
                                  ctx.settings.review_watermark_font, _limits(), ctx.redis)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        body: Iterator[bytes] = _streamed(stamped, folder)
    else:
        body = ctx.store.open(source["object_key"], source.get("object_version"))
    response = Response(body,
                        mimetype=source.get("content_type") or "application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition(opened.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
