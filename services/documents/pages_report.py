"""The completeness report of a packet, as a page.

`/packets/<application_id>`: the latest report (or `?submission=n`) with each requirement's
verdict, reasons and evidence, the inspection facts of every document it judged, and a link to
the 形式审查意见表 the API renders. Scoping and the audit record are the functions the API
uses (`access.py`), so the page can never show more than the JSON would: an applicant sees
only their own packets, a recommender only packets submitted to the unit in its session,
operators, supervisors and admins everything; anything else is 404.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from sqlalchemy import select

from services.documents import access, reinspection
from services.documents.access import READERS
from services.documents.models import CompletenessReport, Inspection
from shared.errors import NotFound
from shared.http import current_principal, roles, service_context
from shared.tasks import task_sender
from shared.web.blueprint import PageBlueprint
from shared.web.language import _, language
from shared.web.nav import N_
from shared.web.rendering import done, render

blp = PageBlueprint("documents_report_pages", __name__)

REPORT_STATUS = {"complete": N_("Complete"), "incomplete": N_("Incomplete"),
                 "attention": N_("Needs attention")}
REPORT_TONE = {"complete": "ok", "incomplete": "bad", "attention": "warn"}
ITEM_STATUS = {"met": N_("Met"), "missing": N_("Missing"), "invalid": N_("Invalid"),
               "attention": N_("Needs attention"), "pending": N_("Being inspected"),
               "optional": N_("Optional, not provided"),
               "not_due": N_("Added by the recommending unit")}
ITEM_TONE = {"met": "ok", "missing": "bad", "invalid": "bad", "attention": "warn",
             "pending": "warn"}
KIND_LABELS = {"organisation": N_("Organisation"), "individual": N_("Individual")}
# Other formats are shown by their name (PDF, DOCX…), the same in both languages.
FORMAT_LABELS = {"image": N_("Scanned image")}


def _submission() -> int | None:
    try:
        value = int(request.args.get("submission", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def _texts(item: dict[str, Any], lang: str) -> list[str]:
    return [r.get(lang) or r.get("en") or r.get("code", "") for r in item.get("reasons") or []]


@blp.get("/packets/<application_id>")
@roles(*READERS)
def packet_report(application_id: str) -> Any:
    """The full completeness report with evidence and the inspection of each document."""
    ctx, who = service_context(), current_principal()
    report, packet = access.report(ctx, who, access.latest_report_id(ctx, who, application_id,
                                                                     _submission()))
    access.audit_read(ctx, who, "report.read", f"report:{report.id}", report.application_id,
                      report.owner)
    lang = language()
    versions: list[str] = []
    for item in [*report.items, *(report.unexpected or [])]:
        for ev in item.get("evidence") or [item]:
            vid = ev.get("version_id")
            if vid and vid not in versions:
                versions.append(vid)
    with ctx.db.reader() as session:
        found = session.execute(access.scoped(select(Inspection).where(
            Inspection.version_id.in_(versions)), who, Inspection.owner,
            Inspection.application_id)).scalars().all()
        # The other reports of this packet the reader may open (a recommender: submissions).
        others = access.scoped(
            select(CompletenessReport.submission, CompletenessReport.status)
            .where(CompletenessReport.application_id == application_id), who,
            CompletenessReport.owner, CompletenessReport.application_id)
        if who.role == "recommender":
            others = others.where(CompletenessReport.submission > 0)
        submissions = list(session.execute(others.order_by(
            CompletenessReport.submission.desc())))
        session.expunge_all()
    by_version = {i.version_id: i for i in found}
    inspections = [by_version[v] for v in versions if v in by_version]
    items = [{**item, "texts": _texts(item, lang),
              "title_text": (item.get("title") or {}).get(lang)
              or (item.get("title") or {}).get("en") or item.get("requirement")}
             for item in report.items]
    docx = url_for("documents.application_completeness_docx", application_id=application_id,
                   submission=report.submission, lang=lang)
    return render("documents/report.html", report=report, packet=packet, items=items,
                  inspections=inspections, submissions=submissions, docx_url=docx,
                  may_reinspect=who.role in reinspection.OPERATORS,
                  REPORT_STATUS=REPORT_STATUS, REPORT_TONE=REPORT_TONE,
                  ITEM_STATUS=ITEM_STATUS, ITEM_TONE=ITEM_TONE, KIND=KIND_LABELS,
                  FORMAT=FORMAT_LABELS)


@blp.post("/packets/<application_id>/inspections/<version_id>/reinspect")
@roles(*reinspection.OPERATORS)
def reinspect(application_id: str, version_id: str) -> Any:
    """The operator's button: the same use case as `POST /api/inspections/<id>/reinspect`."""
    ctx = service_context()
    with ctx.db.session() as session:
        inspection = reinspection.request_reinspection(session, ctx.audit, current_principal(),
                                                       version_id)
        if inspection.application_id != application_id:
            raise NotFound()
        task_sender(ctx.settings.redis_url).send_task(reinspection.TASK, args=[version_id])
    return done(_("The file is being inspected again; its new result replaces this one when "
                  "ready."), url_for(".packet_report", application_id=application_id))
