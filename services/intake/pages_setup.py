"""The office's set-up pages: the first-run checklist, award cycles, recommending units and the
city government's waivers of the operating years.

Thin views: each form is read with the API's own schema and handed to the same domain function
the API calls (`cycles.save_cycle`, `units.save_unit`, `applications.record_waiver`), so a page
decides exactly what the API would; a problem the person can fix comes back next to its field.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request, url_for
from sqlalchemy import select

from services.intake import catalogue_choices, cycles, first_run
from services.intake import units as unit_list
from services.intake.api import units
from services.intake.applications import record_waiver
from services.intake.models import Application, Cycle, RecommendingUnit, Waiver
from services.intake.schemas import CycleIn
from shared.errors import DossierError
from shared.http import current_principal, roles, service_context
from shared.web.blueprint import PageBlueprint
from shared.web.language import _, language
from shared.web.nav import N_
from shared.web.rendering import done, field_errors, problem_text, render

blp = PageBlueprint("intake_setup_pages", __name__)

EDITORS = ("operator", "admin")  # who may change cycles and units (as `PUT /api/cycles`)
READERS = ("operator", "admin", "supervisor")
FIXABLE = (400, 409, 422)

CYCLE_STATUS = {"planned": N_("Being prepared"), "open": N_("Open for applications"),
                "closed": N_("Applications closed"), "archived": N_("Archived")}
CYCLE_TONE = {"planned": "warn", "open": "ok", "closed": "", "archived": ""}
STAGE_LABELS = {"material": N_("Material review"), "on-site": N_("On-site review"),
                "defence": N_("Defence")}
UNIT_KINDS = {"county": N_("County-level market regulator"),
              "zone": N_("Development zone or scenic area committee"),
              "industry": N_("City industry authority")}
CYCLE_FIELDS = ("title", "year", "opens_on", "closes_on", "status", "caps_awards",
                "caps_nominations", "catalogue")
STAGE_DATES = tuple(f"stage_{s}_{edge}" for s in cycles.STAGES for edge in ("starts_on",
                                                                             "ends_on"))


def _labels() -> dict[str, Any]:
    return {"CYCLE_STATUS": CYCLE_STATUS, "CYCLE_TONE": CYCLE_TONE, "STAGE": STAGE_LABELS,
            "UNIT_KIND": UNIT_KINDS}


def _problem(exc: DossierError, errors: dict[str, str]) -> str:
    """The notice above the form: the domain's own sentence, or, for field problems, one line
    that points at the fields."""
    if exc.code == "validation.failed" and errors:
        return _("Please correct the fields marked below.")
    return problem_text(exc)


# -- the first-run checklist ------------------------------------------------------------------

@blp.get("/office/setup")
@roles(*READERS)
def setup() -> Any:
    """What is still to do before the cycle takes applications, each step linked to its page."""
    ctx = service_context()
    all_units = units()
    with ctx.db.reader() as session:
        cycle = first_run.cycle_to_set_up(session, (request.args.get("cycle") or "").strip())
        found = first_run.checklist(session, all_units, cycle)
        choices = list(session.execute(select(Cycle).order_by(
            Cycle.year.desc(), Cycle.created_at.desc())).scalars())
    catalogue = next((c for c in catalogue_choices.available(
        ctx.settings.documents_catalogue_dir) if cycle and c.version == cycle.catalogue), None)
    return render("intake/setup/setup.html", checklist=found, cycle=cycle, cycles=choices,
                  catalogue=catalogue.label(language()) if catalogue else None,
                  unit_label=_unit_label, **_labels())


def _unit_label(unit: unit_list.Unit) -> str:
    return unit.name_en if language() == "en" else unit.name


# -- award cycles -----------------------------------------------------------------------------

@blp.get("/office/cycles")
@roles(*READERS)
def cycle_list() -> Any:
    with service_context().db.reader() as session:
        rows = list(session.execute(select(Cycle).order_by(
            Cycle.year.desc(), Cycle.created_at.desc())).scalars())
    return render("intake/setup/cycles.html", rows=rows, **_labels())


def _catalogue_options() -> list[tuple[str, str]]:
    ctx = service_context()
    lang = language()
    default = ctx.settings.documents_catalogue
    options = [("", _("The default catalogue"))]
    for choice in catalogue_choices.available(ctx.settings.documents_catalogue_dir):
        label = choice.label(lang)
        options.append((choice.version, _("%(title)s (the default)", title=label)
                        if choice.version == default else label))
    return options


def _form_of(cycle: Cycle | None) -> dict[str, str]:
    if cycle is None:
        return {"status": "planned", "caps_awards": str(cycles.DEFAULT_CAPS["awards"]),
                "caps_nominations": str(cycles.DEFAULT_CAPS["nominations"]),
                "stage_material": "1"}
    form = {"title": cycle.title, "year": str(cycle.year),
            "opens_on": cycle.opens_on.isoformat(), "closes_on": cycle.closes_on.isoformat(),
            "status": cycle.status, "caps_awards": str(cycle.caps_awards),
            "caps_nominations": str(cycle.caps_nominations), "catalogue": cycle.catalogue or ""}
    for stage in cycles.stages_of(cycle):
        form[f"stage_{stage['stage']}"] = "1"
        for edge in ("starts_on", "ends_on"):
            form[f"stage_{stage['stage']}_{edge}"] = stage.get(edge) or ""
    return form


def _show_cycle(cycle: Cycle | None, form: dict[str, str], status: int = 200,
                problem: str | None = None, errors: dict[str, str] | None = None) -> Any:
    return render("intake/setup/cycle_form.html", status=status, cycle=cycle, form=form,
                  problem=problem, errors=errors or {}, catalogues=_catalogue_options(),
                  statuses=[(k, _(v)) for k, v in CYCLE_STATUS.items()],
                  stages=cycles.STAGES, **_labels())


def _cycle_body(form: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The form as the API's `CycleIn` body; the names of the stages in the order sent."""
    stages = [s for s in cycles.STAGES if s == "material" or form.get(f"stage_{s}")]
    raw: dict[str, Any] = {k: form[k] for k in ("title", "year", "opens_on", "closes_on",
                                                 "status") if form.get(k)}
    raw["caps"] = {"awards": form.get("caps_awards") or None,
                   "nominations": form.get("caps_nominations") or None}
    raw["catalogue"] = form.get("catalogue") or None
    raw["stages"] = [{"stage": s, "starts_on": form.get(f"stage_{s}_starts_on") or None,
                      "ends_on": form.get(f"stage_{s}_ends_on") or None} for s in stages]
    try:
        return dict(CycleIn().load(raw)), stages
    except ma.ValidationError as exc:
        raise DossierError("validation.failed", errors=exc.normalized_messages()) from None


def _cycle_errors(exc: DossierError, stages: list[str]) -> dict[str, str]:
    """Field errors keyed by the form's control names."""
    out: dict[str, str] = {}
    for key, text in field_errors(exc).items():
        parts = key.split(".")
        if parts[0] == "caps" and len(parts) > 1:
            name = f"caps_{parts[1]}"
        elif parts[0] == "stages" and len(parts) > 2 and parts[1].isdigit():
            name = f"stage_{stages[int(parts[1])]}_{parts[2]}"
        elif parts[0].startswith("stage_"):
            name = f"{parts[0]}_starts_on"  # a stage's dates: shown at its first date
        elif parts[0] == "stages":
            name = "stage_on-site"
        else:
            name = parts[0]
        out[name] = f"{out[name]} {text}" if name in out else text
    if exc.code == "cycle.window_invalid" and "closes_on" not in out:
        out["closes_on"] = problem_text(exc)
    return out


def _save_cycle(cycle_id: str | None) -> Any:
    form = {k: (request.form.get(k) or "").strip() for k in CYCLE_FIELDS + STAGE_DATES}
    for stage in cycles.STAGES:
        form[f"stage_{stage}"] = "1" if request.form.get(f"stage_{stage}") else ""
    ctx = service_context()
    stages: list[str] = []
    try:
        body, stages = _cycle_body(form)
        with ctx.db.session() as session:
            new_id = cycle_id or cycles.new_cycle_id(session, body.get("year") or 0)
            saved = cycles.save_cycle(session, ctx.outbox, ctx.audit, current_principal(),
                                      new_id, programme=units().programme, fields=body)
            saved_id, title = saved.id, saved.title
    except DossierError as exc:
        if exc.status not in FIXABLE:
            raise
        errors = _cycle_errors(exc, stages)
        with ctx.db.reader() as session:
            cycle = session.get(Cycle, cycle_id) if cycle_id else None
        return _show_cycle(cycle, form, exc.status, _problem(exc, errors), errors)
    return done(_("The award cycle “%(title)s” was saved.", title=title),
                url_for(".setup", cycle=saved_id))


@blp.route("/office/cycles/new", methods=["GET", "POST"])
@roles(*EDITORS)
def cycle_new() -> Any:
    if request.method == "POST":
        return _save_cycle(None)
    return _show_cycle(None, _form_of(None))


@blp.route("/office/cycles/<cycle_id>", methods=["GET", "POST"])
@roles(*EDITORS)
def cycle_edit(cycle_id: str) -> Any:
    if request.method == "POST":
        _cycle_or_404(cycle_id)
        return _save_cycle(cycle_id)
    cycle = _cycle_or_404(cycle_id)
    return _show_cycle(cycle, _form_of(cycle))


def _cycle_or_404(cycle_id: str) -> Cycle:
    with service_context().db.reader() as session:
        return cycles.get_cycle(session, cycle_id)


# -- waivers of the operating years -----------------------------------------------------------

def _show_waivers(cycle_id: str, status: int = 200, problem: str | None = None,
                  errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None) -> Any:
    with service_context().db.reader() as session:
        cycle = cycles.get_cycle(session, cycle_id)
        rows = list(session.execute(select(Waiver).where(Waiver.cycle == cycle_id)
                                    .order_by(Waiver.seq)).scalars())
        # The organisation's name where it has applied in this cycle (the code is what the
        # government's document names).
        names = dict(session.execute(select(Application.credit_code, Application.name).where(
            Application.cycle == cycle_id,
            Application.credit_code.in_([w.credit_code for w in rows]))).all())
    return render("intake/setup/waivers.html", status=status, cycle=cycle, rows=rows,
                  names=names, problem=problem, errors=errors or {}, values=values or {},
                  can_record=current_principal().role == "operator")


@blp.get("/office/cycles/<cycle_id>/waivers")
@roles(*READERS)
def waivers(cycle_id: str) -> Any:
    return _show_waivers(cycle_id)


@blp.post("/office/cycles/<cycle_id>/waivers")
@roles("operator")
def waiver_record(cycle_id: str) -> Any:
    values = {k: (request.form.get(k) or "").strip() for k in ("credit_code", "reference")}
    ctx = service_context()
    try:
        with ctx.db.session() as session:
            record_waiver(session, ctx.audit, current_principal(), cycle_id,
                          values["credit_code"], values["reference"])
    except DossierError as exc:
        if exc.status not in FIXABLE:
            raise
        errors = field_errors(exc)
        return _show_waivers(cycle_id, exc.status, _problem(exc, errors), errors, values)
    return done(_("The waiver was recorded."), url_for(".waivers", cycle_id=cycle_id))


# -- recommending units -----------------------------------------------------------------------

@blp.get("/office/units")
@roles(*READERS)
def unit_index() -> Any:
    with service_context().db.reader() as session:
        rows = list(session.execute(select(RecommendingUnit).order_by(
            RecommendingUnit.active.desc(), RecommendingUnit.position,
            RecommendingUnit.code)).scalars())
    return render("intake/setup/units.html", rows=rows, **_labels())


def _unit_form(unit: RecommendingUnit | None) -> dict[str, str]:
    if unit is None:
        return {"kind": "county", "active": "1"}
    return {"code": unit.code, "kind": unit.kind, "name": unit.name, "name_en": unit.name_en,
            "active": "1" if unit.active else ""}


def _show_unit(unit: RecommendingUnit | None, form: dict[str, str], status: int = 200,
               problem: str | None = None, errors: dict[str, str] | None = None) -> Any:
    return render("intake/setup/unit_form.html", status=status, unit=unit, form=form,
                  problem=problem, errors=errors or {},
                  kinds=[(k, _(v)) for k, v in UNIT_KINDS.items()], **_labels())


def _save_unit(code: str | None) -> Any:
    form = {k: (request.form.get(k) or "").strip() for k in ("code", "kind", "name", "name_en")}
    form["active"] = "1" if request.form.get("active") else ""
    ctx = service_context()
    fields: dict[str, Any] = {**form, "active": bool(form["active"])}
    try:
        with ctx.db.session() as session:
            saved = unit_list.save_unit(session, ctx.audit, current_principal(), code, fields)
            name = saved.name
    except DossierError as exc:
        if exc.status not in FIXABLE:
            raise
        errors = field_errors(exc)
        with ctx.db.reader() as session:
            unit = session.get(RecommendingUnit, code) if code else None
        return _show_unit(unit, form, exc.status, _problem(exc, errors), errors)
    return done(_("The unit “%(name)s” was saved.", name=name), url_for(".unit_index"))


@blp.route("/office/units/new", methods=["GET", "POST"])
@roles(*EDITORS)
def unit_new() -> Any:
    if request.method == "POST":
        return _save_unit(None)
    return _show_unit(None, _unit_form(None))


@blp.route("/office/units/<code>", methods=["GET", "POST"])
@roles(*EDITORS)
def unit_edit(code: str) -> Any:
    with service_context().db.reader() as session:
        unit = unit_list.get_unit(session, code)
    if request.method == "POST":
        return _save_unit(code)
    return _show_unit(unit, _unit_form(unit))
