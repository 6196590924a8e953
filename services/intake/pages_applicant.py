"""The applicant's pages: eligibility, packet, uploads, publicity, submit, history.

Thin views over the same domain functions the API uses (`applications`, `material`, `routing`,
`checklist`); every read is scoped by `applications.get_application`, so another applicant's
packet is a 404 page exactly as it is a 404 in the API. Uploads go through the resumable upload
API (`api_uploads.py`) from `upload.js`; the pages render its form and the results.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import marshmallow as ma
from flask import request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from services.intake import applications as domain
from services.intake import checklist, material, outcomes, routing, timeline
from services.intake.api import identities, units
from services.intake.eligibility import NotEligible
from services.intake.filetypes import type_label
from services.intake.material import CONFIDENTIALITY
from services.intake.models import (
    AcceptanceList,
    Application,
    Cycle,
    Document,
    DocumentVersion,
    Outcome,
    RequirementList,
    Transition,
)
from services.intake.resumable import MAX_PART_SIZE
from services.intake.schemas import ApplicationIn, ProfileIn
from shared.changes import on_rows, on_table
from shared.errors import DossierError
from shared.http import current_principal, roles, service_context
from shared.web.blueprint import PageBlueprint, cacheable
from shared.web.kept_pages import cached_page, keep_page
from shared.web.language import gettext as _
from shared.web.language import language
from shared.web.nav import N_
from shared.web.rendering import done, field_errors, problem_text, render

blp = PageBlueprint("intake_applicant_pages", __name__)

STATUS_LABELS = {"draft": N_("Draft"), "submitted": N_("Submitted"),
                 "returned": N_("Returned for changes"), "recommended": N_("Recommended"),
                 "accepted": N_("Accepted"), "rejected": N_("Not accepted")}
STATUS_CLASS = {"draft": "", "submitted": "warn", "returned": "bad", "recommended": "warn",
                "accepted": "ok", "rejected": "bad"}
ACTION_LABELS = {"created": N_("Created"), "submitted": N_("Submitted"),
                 "returned": N_("Returned"), "recommended": N_("Recommended"),
                 "accepted": N_("Accepted"), "rejected": N_("Not accepted")}
# The applicant's timeline (`timeline.derive`): each stage and how far it is.
STAGE_LABELS = {"submitted": N_("Submitted"), "recommended": N_("Recommended"),
                "accepted": N_("Accepted"), "rejected": N_("Not accepted"),
                "in_review": N_("Under review"), "publicity": N_("Under publicity"),
                "result": N_("Result"), "award": N_("Awarded"),
                "nomination": N_("Nominated"), "not_awarded": N_("Not awarded"),
                "revoked": N_("Award revoked")}
STAGE_STATES = {"done": (N_("Done"), "ok"), "current": (N_("In progress"), "warn"),
                "upcoming": (N_("Not yet"), ""),
                "skipped": (N_("Not on the recommendation list"), "")}
HEADLINE_CLASS = {"award": "ok", "nomination": "ok", "not_awarded": "bad", "revoked": "bad"}
CONFIDENTIALITY_LABELS = {"public": N_("Public"), "internal": N_("Internal"),
                          "trade-secret": N_("Trade secret")}
ORGANISATION_FIELDS = ("credit_code", "founded_on", "legal_representative", "industry",
                       "attest_no_accident")
INDIVIDUAL_FIELDS = ("id_number", "employer", "employer_credit_code", "quality_years")
COMMON_FIELDS = ("cycle", "kind", "name", "county", "attest_no_violation")
# Validation messages the forms here can produce (marshmallow's and the domain's), translated in
# `field_errors`; listed so the catalogue keeps them.
FORM_MESSAGES = (
    N_("Not a valid date."), N_("Not a valid integer."), N_("Missing data for required field."),
    N_("Length must be between 1 and 200."), N_("Longer than maximum length 30."),
    N_("Longer than maximum length 100."), N_("Longer than maximum length 200."),
    N_("Must be greater than or equal to 0 and less than or equal to 80."),
    N_("Must be one of: organisation, individual."), N_("invalid"), N_("required"),
    N_("Choose one of the options."), N_("Choose the proof document."),
    N_("Choose how the packet is recommended."), N_("Not a valid string."),
)
# Problems without a field of their own, shown next to the control they concern.
FIELD_OF = {
    "applicant.id_number_invalid": "id_number", "applicant.county_unknown": "county",
    "cycle.unknown": "cycle", "cycle.not_open": "cycle", "cycle.window_closed": "cycle",
    "submission.state_secret_attestation": "attest_no_state_secrets",
    "submission.authenticity_attestation": "attest_authentic",
    "submission.county_missing": "route", "submission.industry_unknown": "unit",
    "submission.publicity_missing": "starts_on", "submission.publicity_running": "ends_on",
    "publicity.too_short": "ends_on", "calendar.year_unknown": "ends_on",
    "publicity.document_unknown": "document_id",
}


def _helpers() -> dict[str, Any]:
    lang = language()
    all_units = units()
    return {
        "status_labels": STATUS_LABELS, "status_class": STATUS_CLASS,
        "stage_labels": STAGE_LABELS, "stage_states": STAGE_STATES,
        "headline_class": HEADLINE_CLASS,
        "action_labels": ACTION_LABELS, "confidentiality_labels": CONFIDENTIALITY_LABELS,
        "unit_name": lambda code: _unit_name(all_units, code, lang),
        "type_label": type_label,
        "county_options": [(u.code, _unit_name(all_units, u.code, lang))
                           for u in all_units.of_route("county")],
    }


def _unit_name(all_units: Any, code: str | None, lang: str) -> str:
    unit = all_units.find(code)
    if unit is None:
        return code or ""
    return unit.name_en if lang == "en" else unit.name


def _errors_for(exc: DossierError) -> dict[str, str]:
    errors = field_errors(exc)
    for key in [k for k in errors if k.startswith("related.")]:
        errors["related"] = errors.pop(key)  # one box holds every party
    errors.pop("eligibility", None)
    for key in [k for k in errors if k.startswith("eligibility.")]:
        errors.pop(key)
    where = FIELD_OF.get(exc.code)
    if where and where not in errors:
        errors[where] = problem_text(exc)
    return errors


def _eligibility_failures(exc: DossierError) -> list[dict[str, str]]:
    """Each failed rule with its reason in the user's language (NotEligible lists them all)."""
    if not isinstance(exc, NotEligible):
        return []
    lang = language()
    return [{"code": f["code"], "text": f.get(lang) or f.get("en", "")}
            for f in (exc.errors or {}).get("eligibility", [])]


# -- my applications ------------------------------------------------------------------------

@blp.get("/packets")
@roles("applicant")
def packets() -> Any:
    ctx = service_context()
    with ctx.db.reader() as session:
        apps = list(session.execute(domain.visible_applications(session, current_principal())
                                    ).scalars())
        cycles = {c.id: c for c in session.execute(select(Cycle)).scalars()}
        open_cycles = [c for c in cycles.values() if c.status == "open"]
        headlines = {a.id: _progress(session, a)[1] for a in apps if a.status == "accepted"}
    return render("intake/applicant/packets.html", apps=apps, cycles=cycles,
                  open_cycles=open_cycles, headlines=headlines, **_helpers())


def _progress(session: Any, app: Application) -> tuple[list[timeline.Stage], str, Outcome | None]:
    return outcomes.progress(session, app, domain.today())


def _open_cycles() -> list[Cycle]:
    with service_context().db.reader() as session:
        return list(session.execute(select(Cycle).where(Cycle.status == "open")
                                    .order_by(Cycle.closes_on)).scalars())


@blp.get("/packets/new")
@roles("applicant")
def new_packet() -> Any:
    cycles = _open_cycles()
    values = {"cycle": request.args.get("cycle") or (cycles[0].id if cycles else ""),
              "kind": request.args.get("kind") or "organisation"}
    return render("intake/applicant/new.html", cycles=cycles, values=values, errors={},
                  problem=None, failures=[], **_helpers())


def _application_body(form: dict[str, str]) -> dict[str, Any]:
    """The form as the create API's body: only the fields of the chosen kind, blanks left out,
    yes/no answers as booleans."""
    kind = form.get("kind", "")
    names = COMMON_FIELDS + (ORGANISATION_FIELDS if kind == "organisation" else
                             INDIVIDUAL_FIELDS if kind == "individual" else ())
    body: dict[str, Any] = {}
    for name in names:
        value = (form.get(name) or "").strip()
        if not value:
            continue
        if name.startswith("attest_"):
            body[name] = value == "yes"
        else:
            body[name] = value
    return body


@blp.post("/packets/new")
@roles("applicant")
def create_packet() -> Any:
    ctx = service_context()
    form = request.form.to_dict()
    cycles = _open_cycles()
    try:
        body = ApplicationIn().load(_application_body(form))
        with ctx.db.session() as session:
            app = domain.create_application(session, ctx.audit, current_principal(),
                                            identities(), units(), **body)
            app_id = app.id
    except ma.ValidationError as exc:
        error = DossierError("validation.failed", errors=exc.normalized_messages())
        return render("intake/applicant/new.html", 422, cycles=cycles, values=form,
                      errors=_errors_for(error), problem=problem_text(error), failures=[],
                      **_helpers())
    except DossierError as exc:
        failures = _eligibility_failures(exc)
        return render("intake/applicant/new.html", exc.status, cycles=cycles, values=form,
                      errors=_errors_for(exc), problem=problem_text(exc), failures=failures,
                      **_helpers())
    return done(_("Your application is open. Upload the material below."),
                url_for(".packet", application_id=app_id))


# -- the packet -----------------------------------------------------------------------------

def _load(application_id: str) -> tuple[Application, Cycle | None, checklist.Catalogue | None]:
    app, cycle, catalogue, _progress_now = _load_with_progress(application_id)
    return app, cycle, catalogue


def _load_with_progress(application_id: str) -> tuple[
        Application, Cycle | None, checklist.Catalogue | None,
        tuple[list[timeline.Stage], str, Outcome | None]]:
    """The packet with its documents, versions and history, if the caller may see it (404 as
    in the API otherwise), its cycle and the cycle's requirements (None until documents has
    announced them)."""
    with service_context().db.reader() as session:
        # The packet with its documents, their versions and its history in three queries,
        # before the scope check (which then finds the row already loaded; held here, as the
        # session keeps loaded rows only while something refers to them).
        loaded = session.execute(
            select(Application).where(Application.id == application_id).options(
                selectinload(Application.documents).selectinload(Document.versions),
                selectinload(Application.history))).scalars().all()
        app = domain.get_application(session, current_principal(), application_id)
        del loaded
        cycle = session.get(Cycle, app.cycle)
        return (app, cycle, checklist.catalogue_of(session, app.cycle),
                _progress(session, app))


def _requirement_label(app: Application, catalogue: checklist.Catalogue | None, lang: str
                       ) -> Any:
    return lambda requirement: checklist.label_of(catalogue, app.kind, requirement, lang)


def _award_name(outcome: Outcome | None, lang: str) -> str:
    """The award in words as review named it (`award.decided`), with the cycle's title."""
    if outcome is None or not outcome.tier:
        return ""
    title = (outcome.tier_title or {}).get("en" if lang == "en" else "zh") or \
        _(STAGE_LABELS[outcome.tier if outcome.tier in STAGE_LABELS else "award"])
    return f"{outcome.cycle_title} · {title}" if outcome.cycle_title else title


def _packet_page(application_id: str, status: int = 200, **context: Any) -> Any:
    app, cycle, catalogue, (stages, headline, outcome) = _load_with_progress(application_id)
    lang = language()
    editable = app.status in domain.EDITABLE
    holder = outcome is not None and outcome.tier in ("award", "nomination") \
        and outcome.revoked_on is None
    returns = [t for t in app.history if t.action == "returned"]
    built = checklist.build(app, lang, catalogue)
    choices = checklist.upload_choices(catalogue, app, lang)
    ctx: dict[str, Any] = {
        "app": app, "cycle": cycle, "editable": editable,
        "checklist": built,
        "requirement_choices": choices,
        "upload_default": checklist.upload_default(app, built, choices),
        "requirement_label": _requirement_label(app, catalogue, lang),
        "returns": returns,
        "timeline": stages, "headline": headline if app.status == "accepted" else None,
        "outcome": outcome, "award_name": _award_name(outcome, lang),
        # Review serves the holder's documents, scoped to the owner (`review/pages_holder`).
        "certificate_url": f"/review/my/applications/{app.id}/certificate.pdf" if holder
        else None,
        "decision_url": f"/review/my/applications/{app.id}/decision.pdf" if holder else None,
        "industry_units": units().of_route("industry"),
        "errors": {}, "problem": None, "values": {}, "failures": [],
        "confidentiality": CONFIDENTIALITY, "max_part": MAX_PART_SIZE,
        "detail_fields": ("name", "county", "related", *ORGANISATION_FIELDS,
                          *INDIVIDUAL_FIELDS),
        "related_text": related_text,
        "inspection_state": checklist.inspection_state,
        "inspection_reason": lambda v: checklist.inspection_reason(v, lang),
        **_helpers(),
    }
    ctx.update(context)
    return render("intake/applicant/packet.html", status, **ctx)


@blp.get("/packets/<application_id>")
@roles("applicant")
@cacheable
def packet(application_id: str) -> Any:
    page = cached_page()
    if page is not None and page.hit:
        return page.body
    body, status = _packet_page(application_id)
    return keep_page(page, body, depends=[
        *on_table(Cycle), *on_table(RequirementList), *on_rows(Application, id=application_id),
        *on_table(AcceptanceList),
        *(tag for model in (Document, DocumentVersion, Transition, Outcome)
          for tag in on_rows(model, application_id=application_id))]), status


@blp.get("/packets/<application_id>/checklist")
@roles("applicant")
def packet_checklist(application_id: str) -> Any:
    """The checklist alone, replaced in place while files are being inspected."""
    app, _cycle, catalogue = _load(application_id)
    return render("intake/applicant/_checklist.html", app=app,
                  checklist=checklist.build(app, language(), catalogue), **_helpers())


@blp.get("/packets/<application_id>/documents")
@roles("applicant")
def packet_documents(application_id: str) -> Any:
    """The documents table alone, for a script that refreshes only it."""
    app, _cycle, catalogue = _load(application_id)
    lang = language()
    return render("intake/applicant/_documents.html", app=app,
                  requirement_label=_requirement_label(app, catalogue, lang),
                  editable=app.status in domain.EDITABLE, errors={},
                  confidentiality=CONFIDENTIALITY,
                  inspection_state=checklist.inspection_state,
                  inspection_reason=lambda v: checklist.inspection_reason(v, lang),
                  **_helpers())


def _failed(application_id: str, exc: DossierError, values: dict[str, str],
            prefix: str = "") -> Any:
    errors = {f"{prefix}{k}": v for k, v in _errors_for(exc).items()}
    return _packet_page(application_id, exc.status, errors=errors, problem=problem_text(exc),
                        values=values, failures=_eligibility_failures(exc))


RELATED_SEPARATORS = re.compile(r"\s*[，,|；;\t]\s*")


def related_parties(text: str) -> list[dict[str, Any]]:
    """The related-parties box, one party a line: name, credit code (may be left out),
    relation. What the API takes as `related` (review's conflict check reads it)."""
    parties = []
    for line in text.splitlines():
        parts = [p for p in RELATED_SEPARATORS.split(line.strip()) if p]
        if not parts:
            continue
        code = next((p for p in parts[1:-1] if p), None) if len(parts) > 2 else None
        if len(parts) < 2:
            raise DossierError("validation.failed", errors={"related": [N_(
                "Each line needs the party's name and its relation, separated by a comma.")]})
        relation = parts[-1]
        parties.append({"name": parts[0], "credit_code": code, "relation": relation})
    return parties


def related_text(related: list[dict[str, Any]] | None) -> str:
    return "\n".join("，".join(p for p in (r.get("name"), r.get("credit_code"),
                                          r.get("relation")) if p) for r in related or [])


@blp.post("/packets/<application_id>/details")
@roles("applicant")
def update_details(application_id: str) -> Any:
    """The applicant's details while the packet is editable (what submission requires)."""
    ctx = service_context()
    who = current_principal()
    form = request.form.to_dict()
    try:
        with ctx.db.session() as session:
            app = domain.get_application(session, who, application_id, lock=True)
            fields = _application_body({**form, "kind": app.kind})
            for name in ("cycle", "kind", "attest_no_violation", "attest_no_accident"):
                fields.pop(name, None)
            if app.id_number_cipher and not fields.get("id_number"):
                fields.pop("id_number", None)  # blank keeps the number on record
            if "related" in form:  # an empty box clears the list
                fields["related"] = related_parties(form["related"])
            body = ProfileIn().load(fields)
            domain.update_profile(session, ctx.audit, who, identities(), units(), app, body)
    except ma.ValidationError as exc:
        return _failed(application_id, DossierError("validation.failed",
                                                    errors=exc.normalized_messages()), form)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _failed(application_id, exc, form)
    return done(_("Details saved."),
                url_for(".packet", application_id=application_id) + "#details")


@blp.post("/packets/<application_id>/documents/<document_id>/confidentiality")
@roles("applicant")
def set_confidentiality(application_id: str, document_id: str) -> Any:
    ctx = service_context()
    who = current_principal()
    form = request.form.to_dict()
    level = form.get("confidentiality", "")
    try:
        if level not in CONFIDENTIALITY:
            raise DossierError("validation.failed",
                               errors={"confidentiality": ["Choose one of the options."]})
        pages = material.parse_pages(form.get("secret_pages") or None)
        material.set_confidentiality(ctx.db, ctx.store, ctx.audit, who, application_id,
                                     document_id, level, pages)
    except DossierError as exc:
        if exc.code.startswith("document.secret_pages"):
            exc.errors = {"secret_pages": [problem_text(exc)]}
        return _failed(application_id, exc, form, prefix=f"{document_id}-")
    return done(_("Confidentiality saved."),
                url_for(".packet", application_id=application_id) + "#documents")


@blp.post("/packets/<application_id>/documents/<document_id>/delete")
@roles("applicant")
def delete_document(application_id: str, document_id: str) -> Any:
    ctx = service_context()
    who = current_principal()
    try:
        material.delete_document(ctx.db, ctx.store, ctx.outbox, ctx.audit, who,
                                 application_id, document_id)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _failed(application_id, exc, {})
    return done(_("The file was deleted."),
                url_for(".packet", application_id=application_id) + "#documents")


def _date(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise DossierError("validation.failed",
                           errors={name: ["Not a valid date."]}) from None


@blp.post("/packets/<application_id>/publicity")
@roles("applicant")
def record_publicity(application_id: str) -> Any:
    ctx = service_context()
    who = current_principal()
    form = request.form.to_dict()
    try:
        errors: dict[str, list[str]] = {}
        starts = ends = None
        try:
            starts = _date(form.get("starts_on"), "starts_on")
        except DossierError as exc:
            errors.update(exc.errors or {})
        try:
            ends = _date(form.get("ends_on"), "ends_on")
        except DossierError as exc:
            errors.update(exc.errors or {})
        if not form.get("document_id"):
            errors["document_id"] = ["Choose the proof document."]
        if errors or starts is None or ends is None:
            raise DossierError("validation.failed", errors=errors)
        with ctx.db.session() as session:
            app = domain.get_application(session, who, application_id, lock=True)
            routing.record_publicity(session, ctx.calendar, ctx.audit, who, app, starts, ends,
                                     form["document_id"])
    except DossierError as exc:
        if exc.status == 404 and exc.code != "publicity.document_unknown":
            raise
        return _failed(application_id, exc, form)
    return done(_("Internal publicity recorded."),
                url_for(".packet", application_id=application_id) + "#publicity")


@blp.post("/packets/<application_id>/submit")
@roles("applicant")
def submit(application_id: str) -> Any:
    ctx = service_context()
    who = current_principal()
    form = request.form.to_dict()
    body: dict[str, Any] = {
        "route": form.get("route") or "",
        "unit": form.get("unit") or None,
        "attest_no_state_secrets": form.get("attest_no_state_secrets") == "1",
        "attest_authentic": form.get("attest_authentic") == "1",
    }
    for name in ("attest_no_violation", "attest_no_accident"):
        if form.get(name) == "1":
            body[name] = True
    try:
        if body["route"] not in ("county", "industry"):
            raise DossierError("validation.failed",
                               errors={"route": ["Choose how the packet is recommended."]})
        routing.submit_packet(ctx.db, ctx.store, ctx.calendar, ctx.outbox, ctx.audit, who,
                              application_id, body, units(), ctx.settings.intake_retention_days)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _failed(application_id, exc, form)
    return done(_("Submitted. Your recommending unit has been told."),
                url_for(".packet", application_id=application_id))
