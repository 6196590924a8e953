"""The operator's pages: experts, conflicts, panels, assignment and scoring progress.

Supervisors open every page read-only: the templates show them no action form, and every POST
here declares operator/admin only, so a supervisor's POST is refused as it is on the API. Views
validate with the API's schemas and call the same domain functions (registry, panels), with the
same audit actions; ranking to objections are in `pages_outcomes`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import marshmallow as ma
from flask import request, url_for
from sqlalchemy import select

from services.review import (
    applications,
    assignment_jobs,
    conflict_records,
    experts,
    panel_setup,
    panels,
)
from services.review.models import (
    Application,
    Assignment,
    Expert,
    Panel,
    Score,
)
from services.review.programme import Programme
from services.review.schemas import ConflictIn, ExpertIn, PanelIn, PanelSettingsIn, WithdrawIn
from shared import clock
from shared.errors import DossierError, NotFound
from shared.http import current_principal, roles, service_context
from shared.http_work import audit_caller, request_work
from shared.pagination import paginate
from shared.web.blueprint import PageBlueprint
from shared.web.language import _, language, ngettext
from shared.web.nav import N_
from shared.web.rendering import done, field_errors, problem_text, render

blp = PageBlueprint("review_office_pages", __name__)

OFFICE = ("operator", "supervisor", "admin")
WRITERS = ("operator", "admin")
PER_PAGE = 25

# Labels of codes the domain stores; marked here so the catalogue carries them.
STAGES = {"material": N_("Material review"), "on-site": N_("On-site review"),
          "defence": N_("Defence")}
SOURCES = {"detected": N_("Detected"), "operator": N_("Recorded by the operator"),
           "applicant": N_("Requested by the applicant"), "expert": N_("Declared by the expert")}
CANDIDATE_REASONS = {"field mismatch": N_("Fields do not cover the applicant's field"),
                     "left this application earlier": N_("Left this application earlier")}
ASSIGNMENT_STATUS = {"active": N_("Active"), "proposed": N_("Proposed replacement"),
                     "ended": N_("Ended")}
WHY = {"maximum total affinity under coverage, load caps and conflicts":
       N_("Highest total affinity the panel can reach under coverage, load caps and conflicts"),
       "best eligible expert with room under the cap; other assignments unchanged":
       N_("Best eligible expert with room under the load cap; nobody else moved")}
JOB_STATUS = {"queued": N_("Queued"), "running": N_("Assigning"), "done": N_("Completed"),
              "failed": N_("Failed"), "cancelled": N_("Cancelled")}
JOB_PHASES = {"queued": N_("waiting for the worker"), "reading": N_("reading the panel"),
              "solving": N_("solving"), "writing": N_("saving the assignments"),
              "finished": N_("finished")}
# Marshmallow's messages for the fields of these forms, so `field_errors` finds them.
FORM_MESSAGES = (
    N_("Missing data for required field."), N_("Not a valid date."),
    N_("Not a valid email address."), N_("Not a valid integer."), N_("Not a valid number."),
    N_("Not a valid boolean."), N_("Field may not be null."),
    N_("Length must be between 1 and 120."), N_("Length must be between 1 and 100."),
    N_("Length must be between 1 and 200."), N_("Length must be between 1 and 60."),
    N_("Length must be between 2 and 500."), N_("Length must be between 2 and 5000."),
    N_("Length must be between 1 and 500."), N_("Longer than maximum length 18."),
    N_("Longer than maximum length 40."), N_("Longer than maximum length 60."),
    N_("Must be greater than or equal to 1 and less than or equal to 50."),
    N_("Must be greater than or equal to 1 and less than or equal to 1000."),
    N_("Must be greater than or equal to 0 and less than or equal to 100."),
    N_("Must be one of: upheld, dismissed."), N_("Must be greater than or equal to 1."),
)


# -- helpers shared with pages_outcomes -------------------------------------------------------

def programme() -> Programme:
    return Programme(service_context().settings.review_data_dir)


def can_write() -> bool:
    return current_principal().role in WRITERS


def label(entry: dict[str, Any] | None, fallback: str) -> str:
    """A `{zh, en}` entry of the programme's data files in the reader's language."""
    if not entry:
        return fallback
    return str(entry.get("en" if language() == "en" else "zh") or fallback)


def invalid(exc: ma.ValidationError) -> DossierError:
    """A form that failed the API's schema, as the API would answer it."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"form": exc.messages}
    return DossierError("validation.failed", errors=messages)


def form_errors(exc: DossierError) -> dict[str, str]:
    """Field errors; nested list entries (`relations.0.ended_on`) land on their textarea."""
    out: dict[str, str] = {}
    for key, text in field_errors(exc).items():
        head, _sep, rest = key.partition(".")
        if rest and head in ("past_affiliations", "relations", "fields", "evidence"):
            line = rest.split(".")[0]
            text = _("Line %(n)s: %(text)s", n=int(line) + 1 if line.isdigit() else line,
                     text=text)
            out[head] = f"{out[head]} {text}" if head in out else text
        else:
            out[key] = text
    return out


def text(name: str) -> str | None:
    value = (request.form.get(name) or "").strip()
    return value or None


def lines(name: str, semicolons: bool = True) -> list[str]:
    """A textarea's entries: one per line (and per `;` where a list of words is expected)."""
    raw = (request.form.get(name) or "").replace("\r", "")
    if semicolons:
        raw = raw.replace("；", ";").replace(";", "\n")
    return [p.strip() for p in raw.split("\n") if p.strip()]


def chosen_cycle(session: Any, asked: str | None = None) -> tuple[list[str], str | None]:
    options = applications.cycles(session)
    asked = asked or request.args.get("cycle") or (options[0] if options else None)
    return options, asked


def page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def grounds() -> dict[str, Any]:
    return programme().grounds()


def ground_label(code: str) -> str:
    return label(grounds()["grounds"].get(code), code)


# -- experts ----------------------------------------------------------------------------------

def _expert_filter() -> tuple[experts.ExpertFilter, dict[str, str]]:
    filters = {k: (request.args.get(k) or "").strip() for k in ("q", "field", "county",
                                                                 "active")}
    active = {"yes": True, "no": False}.get(filters["active"])
    return experts.ExpertFilter(q=filters["q"] or None, field=filters["field"] or None,
                                county=filters["county"] or None, active=active), filters


def _registry_page(problem: str = "", rows: list[str] | None = None, status: int = 200,
                   imported: dict[str, int] | None = None) -> Any:
    wanted, filters = _expert_filter()
    page = page_number()
    with service_context().db.reader() as session:
        found = paginate(session, experts.search(session, wanted), page, PER_PAGE)
        live = experts.live_conflicts(session, [e.id for e in found["items"]])
        counties = experts.counties(session)
    total = found["total"]
    return render("review/office/experts.html", status, experts=found["items"], filters=filters,
                  page=page, total=total, pages=max(1, -(-total // PER_PAGE)), live=live,
                  counties=counties, problem=problem, rows=rows or [], imported=imported,
                  writer=can_write())


@blp.get("/experts", endpoint="experts")
@roles(*OFFICE)
def experts_page() -> Any:
    return _registry_page()


def _csv_problems(exc: DossierError) -> list[str]:
    """The import's per-row problems in the reader's language (registry words them in English
    keyed by line number or account)."""
    out = []
    for key, value in (exc.errors or {}).items():
        value = str(value)
        if value.startswith("empty: "):
            out.append(_("Row %(line)s: empty column(s) %(cols)s", line=key, cols=value[7:]))
        elif value == "subject appears twice":
            out.append(_("Account %(subject)s appears more than once", subject=key))
        else:
            out.append(f"{key}: {value}")
    return out


@blp.post("/experts/import")
@roles(*WRITERS)
def import_experts() -> Any:
    """Upload a CSV (UTF-8 or GBK, as Excel saves it); all rows or none, as the API imports."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _registry_page(_("Choose a CSV file to import."), status=422)
    try:
        with request_work() as work:
            result = experts.import_csv(work, upload.read(),
                                        upload.mimetype_params.get("charset"), grounds())
    except DossierError as exc:
        return _registry_page(problem_text(exc), _csv_problems(exc), status=exc.status)
    return done(_("%(n)s experts imported; %(c)s conflicts detected.", n=result.imported,
                  c=result.conflicts_detected), url_for(".experts"))


def _expert_body(creating: bool) -> dict[str, Any]:
    """The form as the API's `ExpertIn` body; affiliations and relations one per line,
    parts separated by `|`."""
    body: dict[str, Any] = {k: text(k) for k in ("name", "organisation",
                                                  "organisation_credit_code", "county",
                                                  "email", "phone")}
    body["language"] = text("language") or "zh-CN"
    if creating:
        body["subject"] = text("subject")
    body["fields"] = lines("fields")
    body["past_affiliations"] = [
        dict(zip(("organisation", "credit_code", "role", "started_on", "ended_on"),
                 [p.strip() or None for p in line.split("|")], strict=False))
        for line in (request.form.get("past_affiliations") or "").splitlines() if line.strip()]
    body["relations"] = [
        dict(zip(("name", "relation", "credit_code", "ended_on"),
                 [p.strip() or None for p in line.split("|")], strict=False))
        for line in (request.form.get("relations") or "").splitlines() if line.strip()]
    if not creating:
        body["subject"] = "-"  # the schema requires it; an account's subject never changes
    return {k: v for k, v in body.items() if v is not None}


def _expert_form_values(expert: Expert | None) -> dict[str, str]:
    if expert is None:
        return {k: (request.form.get(k) or "") for k in (
            "subject", "name", "organisation", "organisation_credit_code", "county", "email",
            "phone", "language", "fields", "past_affiliations", "relations")}
    return {
        "subject": expert.subject, "name": expert.name, "organisation": expert.organisation,
        "organisation_credit_code": expert.organisation_credit_code or "",
        "county": expert.county or "", "email": expert.email or "", "phone": expert.phone or "",
        "language": expert.language or "zh-CN", "fields": "; ".join(expert.fields or []),
        "past_affiliations": "\n".join(" | ".join(str(a.get(k) or "") for k in (
            "organisation", "credit_code", "role", "started_on", "ended_on"))
            for a in expert.past_affiliations or []),
        "relations": "\n".join(" | ".join(str(r.get(k) or "") for k in (
            "name", "relation", "credit_code", "ended_on")) for r in expert.relations or []),
    }


@blp.get("/experts/new")
@roles(*WRITERS)
def new_expert() -> Any:
    return render("review/office/expert_form.html", expert=None,
                  values=_expert_form_values(None), problem="", errors={})


@blp.post("/experts/new")
@roles(*WRITERS)
def create_expert() -> Any:
    try:
        try:
            new = experts.NewExpert.from_body(ExpertIn().load(_expert_body(creating=True)))
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with request_work() as work:
            expert_id = experts.create(work, new, grounds()).id
    except DossierError as exc:
        return render("review/office/expert_form.html", exc.status, expert=None,
                      values=_expert_form_values(None), problem=problem_text(exc),
                      errors=form_errors(exc))
    return done(_("Expert saved."), url_for(".expert", expert_id=expert_id))


@blp.get("/experts/<expert_id>/edit")
@roles(*WRITERS)
def edit_expert(expert_id: str) -> Any:
    with service_context().db.reader() as session:
        expert = experts.get(session, expert_id)
        return render("review/office/expert_form.html", expert=expert,
                      values=_expert_form_values(expert), problem="", errors={})


@blp.post("/experts/<expert_id>/edit")
@roles(*WRITERS)
def update_expert(expert_id: str) -> Any:
    try:
        try:
            details = experts.ExpertDetails.from_body(
                ExpertIn().load(_expert_body(creating=False)))
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with request_work() as work:
            experts.update(work, expert_id, details, grounds())
    except DossierError as exc:
        if exc.status == 404:
            raise
        with service_context().db.reader() as session:
            expert = experts.get(session, expert_id)
        values = _expert_form_values(None)
        values["subject"] = expert.subject
        return render("review/office/expert_form.html", exc.status, expert=expert,
                      values=values, problem=problem_text(exc), errors=form_errors(exc))
    return done(_("Expert saved."), url_for(".expert", expert_id=expert_id))


def _expert_page(expert_id: str, problem: str = "", errors: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    with service_context().db.reader() as session:
        seen = experts.profile(session, expert_id)
    rules = grounds()
    ground_options = [(code, label(g, code)) for code, g in rules["grounds"].items()]
    return render("review/office/expert.html", status, expert=seen.expert, records=seen.records,
                  apps=seen.applications, served=seen.served, panel_of=seen.panels,
                  ground_options=ground_options,
                  ground_label=ground_label, sources=SOURCES, stages=STAGES,
                  assignment_status=ASSIGNMENT_STATUS, problem=problem, errors=errors or {},
                  form=request.form if request.method == "POST" else {}, writer=can_write())


@blp.get("/experts/<expert_id>")
@roles(*OFFICE)
def expert(expert_id: str) -> Any:
    return _expert_page(expert_id)


@blp.post("/experts/<expert_id>/conflicts")
@roles(*WRITERS)
def record_conflict(expert_id: str) -> Any:
    """The operator records a conflict (or an applicant's written request): access ends at
    once and a replacement is proposed, as through the API."""
    form = {"expert_id": expert_id, "application_id": text("application_id"),
            "ground": text("ground"), "reason": text("reason"),
            "requested_by_applicant": bool(request.form.get("requested_by_applicant"))}
    try:
        try:
            report = conflict_records.ConflictReport(**ConflictIn().load(
                {k: v for k, v in form.items() if v is not None}))
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with request_work() as work:
            done_ = conflict_records.record(work, report, grounds())
    except DossierError as exc:
        if exc.status == 404:
            raise
        # An expert who is not registered answers 404 here, as the page itself would.
        return _expert_page(expert_id, problem_text(exc), form_errors(exc), exc.status)
    message = _("Conflict recorded; the expert's access to this dossier has ended.")
    if done_.replacements:
        message += " " + _("A replacement is proposed on the panel page for confirmation.")
    return done(message, url_for(".expert", expert_id=expert_id))


@blp.post("/conflicts/<conflict_id>/withdraw")
@roles(*WRITERS)
def withdraw_conflict(conflict_id: str) -> Any:
    """Never deleted: withdrawn with a reason, audited."""
    try:
        try:
            reason = WithdrawIn().load({"reason": text("reason") or ""})["reason"]
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with request_work() as work:
            expert_id = conflict_records.withdraw(work, conflict_id, reason).expert_id
    except DossierError as exc:
        if exc.status == 404:
            raise
        with service_context().db.reader() as session:
            expert_id = conflict_records.get(session, conflict_id).expert_id
        errors = {f"withdraw-{conflict_id}": " ".join(form_errors(exc).values())}
        return _expert_page(expert_id, problem_text(exc), errors, exc.status)
    return done(_("Conflict withdrawn; the record is kept."),
                url_for(".expert", expert_id=expert_id))


@blp.post("/experts/<expert_id>/deactivate")
@roles(*WRITERS)
def deactivate_expert(expert_id: str) -> Any:
    try:
        try:
            reason = WithdrawIn().load({"reason": text("reason") or ""})["reason"]
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
    except DossierError as exc:
        errors = {"deactivate_reason": " ".join(form_errors(exc).values())}
        return _expert_page(expert_id, problem_text(exc), errors, exc.status)
    with request_work() as work:
        experts.deactivate(work, expert_id, reason)
    return done(_("Expert taken out of service; replacements are proposed where possible."),
                url_for(".expert", expert_id=expert_id))


@blp.post("/experts/<expert_id>/reactivate")
@roles(*WRITERS)
def reactivate_expert(expert_id: str) -> Any:
    with request_work() as work:
        experts.reactivate(work, expert_id)
    return done(_("Expert back in service."), url_for(".expert", expert_id=expert_id))


# -- panels -----------------------------------------------------------------------------------

def _panel_form_values(panel: Panel | None) -> dict[str, Any]:
    if request.method == "POST":
        return {"per_application": request.form.get("per_application", ""),
                "max_load": request.form.get("max_load", ""),
                "weight": request.form.get("weight", ""),
                "deadline": request.form.get("deadline", ""),
                "stage": request.form.get("stage", ""),
                "require_field_match": bool(request.form.get("require_field_match")),
                "pool": set(request.form.getlist("pool")),
                "applications": set(request.form.getlist("applications")),
                "pledge_scope": request.form.get("pledge_scope", "session")}
    if panel is None:
        return {"per_application": 5, "max_load": 10, "weight": 1, "deadline": "",
                "stage": "material", "require_field_match": False, "pool": set(),
                "applications": set(), "pledge_scope": "session"}
    return {"per_application": panel.per_application, "max_load": panel.max_load,
            "weight": panel.weight, "deadline": panel.deadline.isoformat()
            if panel.deadline else "", "stage": panel.stage,
            "require_field_match": panel.require_field_match, "pool": set(panel.pool or []),
            "applications": set(panel.applications or []), "pledge_scope": panel.pledge_scope}


def _panel_body() -> dict[str, Any]:
    body: dict[str, Any] = {k: text(k) for k in ("per_application", "max_load", "weight",
                                                  "deadline", "pledge_scope")}
    body["require_field_match"] = bool(request.form.get("require_field_match"))
    body["pool"] = request.form.getlist("pool")
    body["applications"] = request.form.getlist("applications")
    if body["deadline"] is None:
        body["deadline"] = None
    return {k: v for k, v in body.items() if v is not None or k == "deadline"}


def _panels_page(problem: str = "", errors: dict[str, str] | None = None,
                 status: int = 200, asked: str | None = None) -> Any:
    with service_context().db.reader() as session:
        options, cycle = chosen_cycle(session, asked)
        seen = panel_setup.overview(session, cycle)
        apps = applications.of_cycle(session, cycle) if cycle else []
        pool = panel_setup.experts_to_choose(session, active_only=True)
    free = seen.free_stages
    values = _panel_form_values(None)
    if free and values["stage"] not in free:
        values["stage"] = free[0]
    return render("review/office/panels.html", status, cycles=options, cycle=cycle,
                  panels=seen.panels, counts=seen.assignments, scored=seen.scored, apps=apps,
                  pool=pool,
                  stages=STAGES, free_stages=free, values=values,
                  problem=problem, errors=errors or {}, writer=can_write(),
                  today=clock.today())


@blp.get("/panels")
@roles(*OFFICE)
def panels_page() -> Any:
    return _panels_page()


@blp.post("/panels")
@roles(*WRITERS)
def create_panel() -> Any:
    cycle = text("cycle")
    try:
        try:
            new = panel_setup.NewPanel.from_body(PanelIn().load(
                {**_panel_body(), "cycle": cycle, "stage": text("stage")}))
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with request_work() as work:
            panel_id = panel_setup.create(work, new).id
    except DossierError as exc:
        return _panels_page(problem_text(exc), form_errors(exc), exc.status, cycle)
    return done(_("Panel created."), url_for(".panel", panel_id=panel_id))


def _assignment_rows(session: Any, panel: Panel) -> dict[str, Any]:
    """Assignments by application, each with its score (or its absence) for the progress."""
    assignments = list(session.scalars(select(Assignment).where(
        Assignment.panel_id == panel.id).order_by(Assignment.application_id,
                                                  Assignment.affinity.desc())))
    experts = {e.id: e for e in session.scalars(select(Expert).where(
        Expert.id.in_({a.expert_id for a in assignments})))}
    scores = {(s.application_id, s.expert_id): s for s in session.scalars(
        select(Score).where(Score.panel_id == panel.id))}
    apps = panels.shortlist(session, panel)
    by_app: dict[str, list[Assignment]] = defaultdict(list)
    for a in assignments:
        by_app[a.application_id].append(a)
    active = [a for a in assignments if a.status == "active"]
    done_count = sum(1 for a in active if (a.application_id, a.expert_id) in scores)
    return {"apps": apps, "by_app": by_app, "experts": experts, "scores": scores,
            "assigned": bool(assignments), "active": len(active), "scored": done_count,
            "proposed": [a for a in assignments if a.status == "proposed"]}


def _panel_page(panel_id: str, problem: str = "", diagnosis: list[Any] | None = None,
                status: int = 200) -> Any:
    with service_context().db.reader() as session:
        panel = panel_setup.get(session, panel_id)
        data = _assignment_rows(session, panel)
        pool_size = len(panels.pool(session, panel))
        job = assignment_jobs.latest(session, panel.id)
    overdue = bool(panel.deadline and clock.today() > panel.deadline
                   and data["scored"] < data["active"])
    return render("review/office/panel.html", status, panel=panel, stages=STAGES,
                  assignment_status=ASSIGNMENT_STATUS, why=WHY, problem=problem,
                  diagnosis=diagnosis, pool_size=pool_size, overdue=overdue,
                  writer=can_write(), job=job, job_live=bool(job and job.status in
                                                             assignment_jobs.LIVE),
                  job_status=JOB_STATUS, job_phases=JOB_PHASES,
                  job_error=(job.error or {}).get("en" if language() == "en" else "zh")
                  if job else None, **data)


@blp.get("/panels/<panel_id>")
@roles(*OFFICE)
def panel(panel_id: str) -> Any:
    return _panel_page(panel_id)


@blp.post("/panels/<panel_id>/assign")
@roles(*WRITERS)
def assign(panel_id: str) -> Any:
    """Run the solver; when no assignment exists, show per application why, with the ways out."""
    ctx = service_context()
    try:
        with ctx.db.session() as session:
            panel = panel_setup.get(session, panel_id)
            made = panels.run_assignment(session, ctx.outbox, panel)
            audit_caller(session, "panel.assigned", f"panel:{panel.id}", pairs=len(made))
    except panels.Infeasible as exc:
        with ctx.db.reader() as session:
            diagnosis = panels.diagnose(session, panel_setup.get(session, panel_id))
        # The error's summary is the solver's English sentence; the page words it itself.
        headline = ngettext("No assignment exists: %(num)s application cannot get enough "
                            "experts.", "No assignment exists: %(num)s applications cannot get "
                            "enough experts.", len(diagnosis)) if diagnosis else problem_text(exc)
        return _panel_page(panel_id, headline, diagnosis, exc.status)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _panel_page(panel_id, problem_text(exc), None, exc.status)
    return done(_("Assignment made: %(n)s pairs.", n=len(made)),
                url_for(".panel", panel_id=panel_id))


@blp.post("/panels/<panel_id>/assignment-jobs")
@roles(*WRITERS)
def start_assignment_job(panel_id: str) -> Any:
    """Queue the assignment on the worker; the panel's page then follows the job."""
    try:
        with request_work() as work:
            assignment_jobs.start(work, panel_id)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _panel_page(panel_id, problem_text(exc), None, exc.status)
    return done(_("Assignment queued; this page follows its progress."),
                url_for(".panel", panel_id=panel_id))


@blp.post("/assignment-jobs/<job_id>/cancel")
@roles(*WRITERS)
def cancel_assignment_job(job_id: str) -> Any:
    with service_context().db.reader() as session:
        panel_id = assignment_jobs.get(session, job_id).panel_id
    try:
        with request_work() as work:
            assignment_jobs.cancel(work, job_id)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _panel_page(panel_id, problem_text(exc), None, exc.status)
    return done(_("Cancel requested; the assignment stops before it saves anything."),
                url_for(".panel", panel_id=panel_id))


@blp.post("/assignments/<assignment_id>/confirm")
@roles(*WRITERS)
def confirm_assignment(assignment_id: str) -> Any:
    ctx = service_context()
    with ctx.db.session() as session:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None:
            raise NotFound()
        panel_id = assignment.panel_id
        try:
            panels.confirm(session, ctx.outbox, assignment)
        except DossierError as exc:
            session.rollback()
            return _panel_page(panel_id, problem_text(exc), None, exc.status)
        audit_caller(session, "assignment.confirmed", f"assignment:{assignment.id}")
    return done(_("Replacement confirmed; the expert has been notified."),
                url_for(".panel", panel_id=panel_id))


@blp.get("/panels/<panel_id>/edit")
@roles(*WRITERS)
def edit_panel(panel_id: str) -> Any:
    return _edit_panel_page(panel_id)


def _edit_panel_page(panel_id: str, problem: str = "", errors: dict[str, str] | None = None,
                     status: int = 200) -> Any:
    with service_context().db.reader() as session:
        panel = panel_setup.get(session, panel_id)
        apps = applications.of_cycle(session, panel.cycle)
        pool = panel_setup.experts_to_choose(session, active_only=False)
    return render("review/office/panel_form.html", status, panel=panel, apps=apps, pool=pool,
                  stages=STAGES, values=_panel_form_values(panel), problem=problem,
                  errors=errors or {})


@blp.post("/panels/<panel_id>/edit")
@roles(*WRITERS)
def update_panel(panel_id: str) -> Any:
    try:
        try:
            changes = panel_setup.PanelChanges.from_body(PanelSettingsIn().load(_panel_body()))
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with request_work() as work:
            panel_setup.update(work, panel_id, changes)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _edit_panel_page(panel_id, problem_text(exc), form_errors(exc), exc.status)
    return done(_("Panel settings saved."), url_for(".panel", panel_id=panel_id))


@blp.get("/panels/<panel_id>/candidates/<application_id>")
@roles(*OFFICE)
def candidates(panel_id: str, application_id: str) -> Any:
    """Every pool expert for one application: eligible or not and why — "why not that one"."""
    with service_context().db.reader() as session:
        panel = panel_setup.get(session, panel_id)
        application = session.get(Application, application_id)
        if application is None:
            raise NotFound()
        rows = panels.candidates(session, panel, application)
    return render("review/office/candidates.html", panel=panel, application=application,
                  rows=rows, stages=STAGES, assignment_status=ASSIGNMENT_STATUS,
                  ground_label=ground_label, reasons=CANDIDATE_REASONS)
