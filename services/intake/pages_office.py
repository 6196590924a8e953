"""Recommenders' queue and the operator's formal review and acceptance lists.

Thin views over the same domain functions as the API (`applications`, `routing`, `worklists`),
so a page decides exactly what the API would: the recommender's jurisdiction is the unit on its
account, transitions check the packet's status, publicity windows count Chinese working days.
A recommender opening a packet of another unit gets 404, as from the API: neither confirms
that someone else's packet exists. Supervisors read every page here but get no forms, and
their POSTs are refused by `roles`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import marshmallow as ma
from flask import request, url_for
from sqlalchemy.orm import Session

from services.intake import checklist, routing, worklists
from services.intake.accounts import jurisdiction
from services.intake.api import units
from services.intake.applications import get_application, today
from services.intake.models import Application
from services.intake.schemas import STATUS, AcceptanceIn, OpinionIn, ReasonsIn
from shared.errors import DossierError, NotFound
from shared.http import current_principal, roles, service_context
from shared.web.blueprint import PageBlueprint
from shared.web.language import _, language
from shared.web.nav import N_
from shared.web.rendering import done, field_errors, problem_text, render

blp = PageBlueprint("intake_office_pages", __name__)

OFFICE_READERS = ("operator", "admin", "supervisor")
PER_PAGE = 25
# Problems a person can fix in the form they just sent; anything else is an error page.
FIXABLE = (400, 409, 422)

STATUS_LABELS = {
    "draft": N_("Draft"), "submitted": N_("Submitted"), "returned": N_("Returned"),
    "recommended": N_("Recommended"), "accepted": N_("Accepted"), "rejected": N_("Rejected"),
}
STATUS_TONE = {"submitted": "warn", "recommended": "warn", "returned": "bad",
               "rejected": "bad", "accepted": "ok"}
KIND_LABELS = {"organisation": N_("Organisation"), "individual": N_("Individual")}
ROUTE_LABELS = {"county": N_("County route"), "industry": N_("Industry route")}
COMPLETENESS_LABELS = {"complete": N_("Complete"), "incomplete": N_("Incomplete"),
                       "attention": N_("Needs attention")}
COMPLETENESS_TONE = {"complete": "ok", "incomplete": "bad", "attention": "warn"}
CONFIDENTIALITY_LABELS = {"public": N_("Public"), "internal": N_("Internal"),
                          "trade-secret": N_("Trade secret")}
ACTION_LABELS = {"created": N_("Created"), "submitted": N_("Submitted"),
                 "returned": N_("Returned for fixes"), "recommended": N_("Recommended"),
                 "accepted": N_("Accepted"), "rejected": N_("Rejected")}
ROLE_LABELS = {"applicant": N_("Applicant"), "recommender": N_("Recommender"),
               "operator": N_("Operator"), "supervisor": N_("Supervisor"),
               "admin": N_("Administrator")}
WINDOW_LABELS = {"upcoming": N_("Not started"), "running": N_("Running"), "ended": N_("Ended")}
WINDOW_TONE = {"upcoming": "warn", "running": "ok", "ended": ""}
FIELD_OF_CODE = {"recommendation.government_missing": "government_reference",
                 "publicity.too_short": "ends_on", "calendar.year_unknown": "ends_on"}
# Marshmallow's messages the forms here can produce, so the catalogue translates them.
VALIDATION_MESSAGES = (N_("Missing data for required field."), N_("Not a valid date."),
                       N_("Field may not be null."), N_("Length must be between 1 and 4000."),
                       N_("Length must be between 1 and 200."),
                       N_("Length must be between 1 and 2000."),
                       N_("Shorter than minimum length 1."), N_("Longer than maximum length 50."))


def unit_name(code: str | None) -> str:
    unit = units().find(code)
    if unit is None:
        return code or ""
    return unit.name_en if language() == "en" else unit.name


def _labels() -> dict[str, Any]:
    """What every template here uses to name statuses, kinds, units."""
    return {"STATUS": STATUS_LABELS, "STATUS_TONE": STATUS_TONE, "KIND": KIND_LABELS,
            "ROUTE": ROUTE_LABELS, "COMPLETENESS": COMPLETENESS_LABELS,
            "COMPLETENESS_TONE": COMPLETENESS_TONE, "CONFIDENTIALITY": CONFIDENTIALITY_LABELS,
            "ACTION": ACTION_LABELS, "ROLE": ROLE_LABELS, "WINDOW": WINDOW_LABELS,
            "WINDOW_TONE": WINDOW_TONE, "unit_name": unit_name}


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _validated(schema: ma.Schema, data: dict[str, Any]) -> dict[str, Any]:
    """The API's own input schema on the form's values (empty fields left out, so a blank
    required field reads "required" rather than "too short")."""
    try:
        return dict(schema.load({k: v for k, v in data.items() if v not in ("", [], None)}))
    except ma.ValidationError as exc:
        raise DossierError("validation.failed", errors=exc.normalized_messages()) from None


def _errors(exc: DossierError, rename: dict[str, str] | None = None) -> dict[str, str]:
    """Field errors keyed by the form's control names (list items collapse onto their list)."""
    out: dict[str, str] = {}
    for key, text in field_errors(exc).items():
        name = key.split(".", 1)[0]
        name = (rename or {}).get(name, name)
        out[name] = f"{out[name]} {text}" if name in out else text
    # Problems the domain raises without naming a field, shown next to the field they concern.
    field = FIELD_OF_CODE.get(exc.code)
    if field and field not in out:
        out[field] = problem_text(exc)
    return out


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# -- one packet, for either desk --------------------------------------------------------------

def _packet(session: Session, application_id: str, *, lock: bool = False) -> Application:
    app = get_application(session, current_principal(), application_id, lock=lock)
    for document in app.documents:
        _ = document.versions  # loaded while the session is open
    _ = app.history
    return app


def _show_packet(desk: str, application_id: str, status: int = 200,
                 problem: DossierError | None = None, errors: dict[str, str] | None = None,
                 values: dict[str, str] | None = None) -> Any:
    ctx = service_context()
    who = current_principal()
    with ctx.db.session() as session:
        app = _packet(session, application_id)
        # Requirements named by their titles, exactly as the applicant's page names them.
        catalogue = checklist.catalogue_of(session, app.cycle)
        # Like the API: anyone but the owner opening a packet is on the record.
        ctx.audit.append(session, actor=who.subject, role=who.role, action="application.viewed",
                         target=f"application:{app.id}", detail={"page": desk})
    lang = language()
    forms = {
        "recommend": desk == "queue" and app.status == "submitted",
        "return": (desk == "queue" and app.status == "submitted")
        or (desk == "office" and who.role == "operator" and app.status == "recommended"),
        "decide": desk == "office" and who.role == "operator" and app.status == "recommended",
    }
    return render("intake/office/packet.html", status=status, app=app, desk=desk, forms=forms,
                  problem=problem_text(problem) if problem else None,
                  errors=errors or {}, values=values or {},
                  back=url_for(".queue_list" if desk == "queue" else ".office_list"),
                  report_url=f"/documents/packets/{app.id}",
                  requirement_label=lambda requirement: checklist.label_of(
                      catalogue, app.kind, requirement, lang),
                  **_labels())


def _act(desk: str, application_id: str, step: Callable[[Session, Application], None],
         values: dict[str, str], rename: dict[str, str], message: str) -> Any:
    """Run one transition; a problem the person can fix comes back next to the field."""
    ctx = service_context()
    try:
        with ctx.db.session() as session:
            step(session, _packet(session, application_id, lock=True))
    except DossierError as exc:
        if exc.status not in FIXABLE:
            raise
        return _show_packet(desk, application_id, status=exc.status, problem=exc,
                            errors=_errors(exc, rename), values=values)
    # The recommender goes back to its queue for the next packet; the operator stays on the
    # packet, whose history now shows the step.
    to = (url_for(".queue_list") if desk == "queue"
          else url_for(".office_packet", application_id=application_id))
    return done(message, to)


def _send_back(desk: str, application_id: str) -> Any:
    text = request.form.get("return_reasons", "")
    body = {"reasons": _lines(text)}

    def step(session: Session, app: Application) -> None:
        reasons = _validated(ReasonsIn(), body)["reasons"]
        ctx = service_context()
        routing.send_back(session, ctx.outbox, ctx.audit, current_principal(), app, reasons)

    return _act(desk, application_id, step, {"return_reasons": text},
                {"reasons": "return_reasons"}, _("The packet was returned to the applicant."))


# -- the recommender's desk -------------------------------------------------------------------

@blp.get("/queue")
@roles("recommender")
def queue_list() -> Any:
    """Packets submitted to the recommender's unit, the ones waiting for it first."""
    ctx = service_context()
    who = current_principal()
    page = _page_number()
    with ctx.db.reader() as session:
        found = worklists.queue(session, who, {}, page, PER_PAGE)
        waiting = worklists.waiting_count(session, who)
        unit = jurisdiction(session, who)
    return render("intake/office/queue.html", found=found, waiting=waiting, unit=unit,
                  page=page, more=page * PER_PAGE < found["total"], **_labels())


@blp.get("/queue/<application_id>")
@roles("recommender")
def queue_packet(application_id: str) -> Any:
    return _show_packet("queue", application_id)


@blp.post("/queue/<application_id>/recommend")
@roles("recommender")
def queue_recommend(application_id: str) -> Any:
    values = {k: request.form.get(k, "").strip() for k in ("opinion", "government_reference")}

    def step(session: Session, app: Application) -> None:
        body = _validated(OpinionIn(), values)
        ctx = service_context()
        routing.recommend(session, ctx.outbox, ctx.audit, current_principal(), app,
                          body["opinion"], body.get("government_reference"))

    return _act("queue", application_id, step, values, {},
                _("The packet was recommended to the city regulator."))


@blp.post("/queue/<application_id>/return")
@roles("recommender")
def queue_return(application_id: str) -> Any:
    return _send_back("queue", application_id)


# -- the operator's formal review -------------------------------------------------------------

@blp.get("/office/applications")
@roles(*OFFICE_READERS)
def office_list() -> Any:
    """The formal review queue: packets recommended to the city first, filterable, paged."""
    ctx = service_context()
    who = current_principal()
    filters = {k: (request.args.get(k) or "").strip() for k in worklists.QUEUE_FILTERS}
    if filters["status"] and filters["status"] not in STATUS_LABELS:
        filters["status"] = ""
    page = _page_number()
    with ctx.db.reader() as session:
        found = worklists.queue(session, who, filters, page, PER_PAGE)
        waiting = worklists.waiting_count(session, who)
        cycles = worklists.cycles(session)
    unit_options = [("", _("All units"))] + [(u.code, unit_name(u.code)) for u in units().units]
    status_options = [("", _("All statuses"))] + [(k, _(v)) for k, v in STATUS_LABELS.items()
                                                  if k in STATUS.choices and k != "draft"]
    cycle_options = [("", _("All cycles"))] + [(c.id, c.title) for c in cycles]
    return render("intake/office/applications.html", found=found, waiting=waiting,
                  filters=filters, page=page, more=page * PER_PAGE < found["total"],
                  unit_options=unit_options, status_options=status_options,
                  cycle_options=cycle_options, **_labels())


@blp.get("/office/applications/<application_id>")
@roles(*OFFICE_READERS)
def office_packet(application_id: str) -> Any:
    return _show_packet("office", application_id)


@blp.post("/office/applications/<application_id>/accept")
@roles("operator")
def office_accept(application_id: str) -> Any:
    def step(session: Session, app: Application) -> None:
        ctx = service_context()
        routing.accept(session, ctx.outbox, ctx.audit, current_principal(), app)

    return _act("office", application_id, step, {}, {}, _("The packet was accepted."))


@blp.post("/office/applications/<application_id>/reject")
@roles("operator")
def office_reject(application_id: str) -> Any:
    text = request.form.get("reject_reasons", "")
    body = {"reasons": _lines(text)}

    def step(session: Session, app: Application) -> None:
        reasons = _validated(ReasonsIn(), body)["reasons"]
        ctx = service_context()
        routing.reject(session, ctx.outbox, ctx.audit, current_principal(), app, reasons)

    return _act("office", application_id, step, {"reject_reasons": text},
                {"reasons": "reject_reasons"}, _("The packet was rejected."))


@blp.post("/office/applications/<application_id>/return")
@roles("operator")
def office_return(application_id: str) -> Any:
    return _send_back("office", application_id)


# -- acceptance lists -------------------------------------------------------------------------

def _show_acceptance(cycle_id: str, status: int = 200, problem: DossierError | None = None,
                     errors: dict[str, str] | None = None,
                     values: dict[str, str] | None = None) -> Any:
    ctx = service_context()
    calendar = ctx.calendar
    now = today()
    with ctx.db.reader() as session:
        cycles = worklists.cycles(session)
        known = {c.id for c in cycles}
        if cycle_id and cycle_id not in known:
            raise NotFound(detail=f"cycle {cycle_id}")
        if not cycle_id and cycles:
            cycle_id = cycles[0].id
        accepted = worklists.accepted(session, cycle_id) if cycle_id else []
        lists = worklists.published(session, cycle_id) if cycle_id else []
    windows: dict[Any, worklists.Window | None] = {}
    for listing in lists:
        try:
            windows[listing.id] = worklists.window(calendar, listing.starts_on,
                                                   listing.ends_on, now)
        except DossierError:
            windows[listing.id] = None  # a year the calendar lacks: dates alone are shown
    try:
        default = worklists.default_window(calendar, now)
    except DossierError:
        default = None
    return render("intake/office/acceptance.html", status=status, cycles=cycles,
                  cycle=next((c for c in cycles if c.id == cycle_id), None),
                  accepted=accepted, lists=lists, windows=windows, default=default,
                  can_publish=current_principal().role == "operator" and bool(accepted),
                  problem=problem_text(problem) if problem else None, errors=errors or {},
                  values=values or {"starts_on": now.isoformat()},
                  minimum=routing.PUBLICITY_WORKDAYS, **_labels())


@blp.get("/office/acceptance")
@roles(*OFFICE_READERS)
def acceptance() -> Any:
    """Per cycle: the packets the list will carry, the publish form, the published lists."""
    return _show_acceptance((request.args.get("cycle") or "").strip())


@blp.post("/office/acceptance")
@roles("operator")
def acceptance_publish() -> Any:
    ctx = service_context()
    cycle_id = request.form.get("cycle", "").strip()
    values = {k: request.form.get(k, "").strip() for k in ("starts_on", "ends_on", "reason")}
    try:
        body = _validated(AcceptanceIn(), values)
        starts_on: date = body["starts_on"]
        with ctx.db.session() as session:
            routing.publish_acceptance(session, ctx.calendar, ctx.outbox, ctx.audit,
                                       current_principal(), cycle_id, starts_on,
                                       body.get("ends_on"), body.get("reason"))
    except DossierError as exc:
        if exc.status not in FIXABLE:
            raise
        return _show_acceptance(cycle_id, status=exc.status, problem=exc,
                                errors=_errors(exc), values=values)
    return done(_("The acceptance list was published."),
                url_for(".acceptance", cycle=cycle_id))

