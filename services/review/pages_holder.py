"""The award holder's documents, linked from the applicant's page in intake: the certificate
and the decision letter, each a PDF, only for the applicant who owns the application, every
download in the audit log."""

from __future__ import annotations

from typing import Any

from flask import Response

from services.review import holder_documents
from services.review.api_outcomes import verify_url
from services.review.programme import Programme
from shared.filenames import content_disposition
from shared.http import current_principal, roles, service_context
from shared.watermark import watermark_font
from shared.web.blueprint import PageBlueprint

blp = PageBlueprint("review_holder_pages", __name__)
NAMES = {"certificate": "荣誉证书", "decision": "表彰决定通知书"}


def _download(application_id: str, document: str) -> Any:
    ctx = service_context()
    who = current_principal()
    programme = Programme(ctx.settings.review_data_dir)
    with ctx.db.reader() as session:
        held = holder_documents.owned_award(session, programme, who.subject, application_id,
                                            verify_url)
    serial = held.certificate.serial
    # Rendered with no transaction open; the audit record written in a short one afterwards.
    data = holder_documents.render(held, document, watermark_font(
        ctx.settings.review_watermark_font))
    with ctx.db.session() as session:
        ctx.audit.append(session, actor=who.subject, role=who.role,
                         action=f"{document}.downloaded", target=f"award:{held.award_id}",
                         detail={"format": "pdf", "application_id": application_id})
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(
        f"{NAMES[document]}-{serial}.pdf", "inline")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.get("/my/applications/<application_id>/certificate.pdf")
@roles("applicant")
def certificate(application_id: str) -> Any:
    return _download(application_id, "certificate")


@blp.get("/my/applications/<application_id>/decision.pdf")
@roles("applicant")
def decision(application_id: str) -> Any:
    return _download(application_id, "decision")
