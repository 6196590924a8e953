"""Documents' HTTP API: inspection verdicts, completeness reports (JSON and DOCX), catalogue.

Who sees what (`access.py`, shared with the report page): an applicant sees only their own
applications (anything else answers 404); a recommender only packets submitted to their unit
(the `unit` claim of their token — intake routes packets, documents applies the same rule
again rather than trusting the caller); an operator, supervisor or admin sees all. Experts
never use this service. Reading a report or an inspection of someone else's packet is written
to the audit log.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select

from services.documents import access, reinspection
from services.documents import catalogue as catalogues
from services.documents.access import READERS
from services.documents.models import CompletenessReport, Cycle, Inspection, Packet
from services.documents.report_docx import render
from services.documents.schemas import (
    CatalogueOut,
    CatalogueQuery,
    CompletenessQuery,
    InspectionOut,
    InspectionPage,
    InspectionQuery,
    ReportOut,
    ReportPage,
    ReportQuery,
)
from shared.errors import Concealed, NotFound
from shared.filenames import content_disposition
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, paginate
from shared.tasks import task_sender
from shared.web.language import request_language
from shared.web.names import cycle_name

blp = Blueprint("documents", __name__, url_prefix="/api",
                description="Inspections, completeness reports, requirement catalogue")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@blp.get("/inspections")
@blp.arguments(InspectionQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, InspectionPage)
@roles(*READERS)
def list_inspections(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    """Verdicts, newest first; filter by application, document, requirement, ok, format."""
    query = access.scoped(select(Inspection), current_principal(), Inspection.owner,
                          Inspection.application_id)
    for name, value in filters.items():
        query = query.where(getattr(Inspection, name) == value)
    query = query.order_by(Inspection.inspected_at.desc(), Inspection.version_id)
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


@blp.get("/inspections/<version_id>")
@blp.response(200, InspectionOut)
@roles(*READERS)
def get_inspection(version_id: str) -> Inspection:
    query = access.scoped(select(Inspection).where(Inspection.version_id == version_id),
                          current_principal(), Inspection.owner, Inspection.application_id)
    with service_context().db.reader() as session:
        found = session.execute(query).scalar_one_or_none()
        hidden = found is None and session.get(Inspection, version_id) is not None
    if hidden:
        raise Concealed(f"inspection:{version_id}", detail=f"inspection {version_id}")
    if found is None:
        raise NotFound(detail=f"inspection {version_id}")
    return found


@blp.post("/inspections/<version_id>/reinspect")
@blp.response(202, InspectionOut)
@roles(*reinspection.OPERATORS)
def reinspect(version_id: str) -> Inspection:
    """Inspect this version again (an operator's decision, audited); the new verdict replaces
    the old one and is announced like the first (`document.inspected`)."""
    ctx = service_context()
    with ctx.db.session() as session:
        inspection = reinspection.request_reinspection(session, ctx.audit, current_principal(),
                                                       version_id)
        # Sent inside the transaction: a broker that refuses it rolls the audit record back.
        task_sender(ctx.settings.redis_url).send_task(reinspection.TASK, args=[version_id])
        session.expunge(inspection)
    return inspection


@blp.get("/reports")
@blp.arguments(ReportQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, ReportPage)
@roles(*READERS)
def list_reports(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    """Completeness reports, newest first: status, counts and missing items per packet."""
    who = current_principal()
    query = access.scoped(select(CompletenessReport), who, CompletenessReport.owner,
                          CompletenessReport.application_id)
    if who.role == "recommender":
        query = query.where(CompletenessReport.submission > 0)
    for name in ("application_id", "cycle", "status"):
        if name in filters:
            query = query.where(getattr(CompletenessReport, name) == filters[name])
    if "submitted" in filters:
        query = query.where((CompletenessReport.submission > 0) == filters["submitted"])
    query = query.order_by(CompletenessReport.computed_at.desc(), CompletenessReport.id)
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


# The request's own context and principal, for the views below.
def _report(report_id: str) -> tuple[CompletenessReport, Packet | None]:
    return access.report(service_context(), current_principal(), report_id)


def _latest(application_id: str, submission: int | None) -> str:
    return access.latest_report_id(service_context(), current_principal(), application_id,
                                   submission)


def _audit_read(action: str, target: str, application_id: str, owner: str) -> None:
    access.audit_read(service_context(), current_principal(), action, target, application_id,
                      owner)


def _docx(report: CompletenessReport, packet: Packet | None) -> Response:
    data = {c.name: getattr(report, c.name) for c in CompletenessReport.__table__.columns}
    info = {"applicant_name": packet.applicant_name if packet else None,
            "kind": report.kind}
    lang = request_language()
    info["cycle_title"] = cycle_name(report.cycle, lang)
    body = render(data, info, lang)
    _audit_read("report.downloaded", f"report:{report.id}", report.application_id, report.owner)
    name = f"completeness-{report.application_id}-{report.submission}.docx"
    return Response(body, mimetype=DOCX, headers={
        "Content-Disposition": content_disposition(name),
        "Content-Language": lang})


@blp.get("/reports/<report_id>")
@blp.response(200, ReportOut)
@roles(*READERS)
def get_report(report_id: str) -> CompletenessReport:
    report, _ = _report(report_id)
    _audit_read("report.read", f"report:{report.id}", report.application_id, report.owner)
    return report


@blp.get("/reports/<report_id>/docx")
@blp.response(200, content_type=DOCX, description="形式审查意见表 (Word)")
@roles(*READERS)
def download_report(report_id: str) -> Response:
    return _docx(*_report(report_id))


@blp.get("/applications/<application_id>/completeness")
@blp.arguments(CompletenessQuery, location="query")
@blp.response(200, ReportOut)
@roles(*READERS)
def application_completeness(args: dict[str, Any], application_id: str) -> CompletenessReport:
    """The latest report of an application: its last submission's, else the draft checklist."""
    report, _ = _report(_latest(application_id, args.get("submission")))
    _audit_read("report.read", f"report:{report.id}", report.application_id, report.owner)
    return report


@blp.get("/applications/<application_id>/completeness/docx")
@blp.arguments(CompletenessQuery, location="query")
@blp.response(200, content_type=DOCX, description="形式审查意见表 (Word)")
@roles(*READERS)
def application_completeness_docx(args: dict[str, Any], application_id: str) -> Response:
    return _docx(*_report(_latest(application_id, args.get("submission"))))


@blp.get("/catalogue")
@blp.arguments(CatalogueQuery, location="query")
@blp.response(200, CatalogueOut)
@roles(*READERS)
def get_catalogue(args: dict[str, Any]) -> dict[str, Any]:
    """The requirement catalogue of a cycle (or a named version, or the default)."""
    settings = service_context().settings
    version = args.get("version")
    if not version and args.get("cycle"):
        with service_context().db.reader() as session:
            cycle = session.get(Cycle, args["cycle"])
            version = cycle.catalogue if cycle is not None else None
    found = catalogues.get(version or settings.documents_catalogue,
                           settings.documents_catalogue_dir)
    kinds = {k: [r.as_dict() for r in reqs] for k, reqs in found.kinds.items()
             if not args.get("kind") or k == args["kind"]}
    return {"version": found.version, "title": found.title, "paper": found.paper,
            "kinds": kinds}
