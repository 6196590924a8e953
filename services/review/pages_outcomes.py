"""The operator's pages from scores to the final list: ranking with caps and vacancies,
department opinions, the recommendation list, the decision, certificates, revocation and
objections. Supervisors read every page; only they may unseal an objection's reporter.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request, url_for
from sqlalchemy import select

from services.review import objections as objections_domain
from services.review import outcomes
from services.review.api_outcomes import evidence_response
from services.review.models import (
    Application,
    Award,
    Cycle,
    Objection,
    Opinion,
    PublicList,
    Revocation,
)
from services.review.pages_office import (
    OFFICE,
    STAGES,
    WRITERS,
    can_write,
    chosen_cycle,
    form_errors,
    invalid,
    label,
    lines,
    programme,
    text,
)
from services.review.schemas import (
    DecisionIn,
    ListIn,
    OpinionIn,
    RecoveryIn,
    ResolveIn,
    RevokeIn,
)
from shared import clock
from shared.errors import Conflict, DossierError, NotFound
from shared.http import current_principal, roles, service_context
from shared.http_work import audit_caller as audit
from shared.web.blueprint import PageBlueprint
from shared.web.i18n import fmt_date
from shared.web.language import _, language
from shared.web.nav import N_
from shared.web.rendering import done, problem_text, render

blp = PageBlueprint("review_outcome_pages", __name__)

# Refusals that a recorded reason overcomes: the page shows them as a warning to confirm.
ORDER_WARNINGS = ("list.start_in_past", "list.acceptance_running")
DEVIATIONS = {outcomes.START_IN_PAST: N_("Publicity started before the list was published"),
              outcomes.ACCEPTANCE_RUNNING: N_("Started before the acceptance publicity ended")}
TIERS = {"award": N_("Award"), "nomination": N_("Nomination")}
LIST_KINDS = {"acceptance": N_("Acceptance list"), "recommendation": N_("Recommendation list"),
              "final": N_("Final list")}
OBJECTION_STATUS = {"open": N_("Open"), "upheld": N_("Upheld"), "dismissed": N_("Dismissed")}
NOTES = {"not fully scored": N_("not fully scored"),
         "tie at a tier boundary": N_("tie at a tier boundary"),
         "below the floor": N_("below the floor"), "caps reached": N_("caps reached")}
SECTORS = {"public": N_("Public institution"), "enterprise": N_("Enterprise")}


def department_label(code: str, cycle: str | None = None) -> str:
    return label(programme().opinions(cycle).get("departments", {}).get(code), code)


def dept_list(codes: list[str]) -> str:
    return "、".join(department_label(c) for c in codes)


def _opinion_status(session: Any, app: Application) -> dict[str, Any]:
    """Required, missing and adverse opinions of one applicant (what blocks the list)."""
    have = list(session.scalars(select(Opinion).where(
        Opinion.application_id == app.id).order_by(Opinion.department)))
    missing = outcomes.missing_opinions(session, programme(), app)
    adverse = [o.department for o in have if not o.favourable]
    state = "adverse" if adverse else "missing" if missing else "complete"
    return {"app": app, "sector": outcomes.sector(app),
            "required": outcomes.required_departments(programme(), app),
            "missing": missing, "adverse": adverse, "opinions": have, "state": state}


# -- ranking ----------------------------------------------------------------------------------

def _ranking_page(problem: str = "", errors: dict[str, Any] | None = None, status: int = 200,
                  asked: str | None = None, form: dict[str, str] | None = None,
                  warning: str = "") -> Any:
    with service_context().db.reader() as session:
        options, cycle = chosen_cycle(session, asked)
        rows = outcomes.results(session, programme(), cycle) if cycle else []
        cyc = session.get(Cycle, cycle) if cycle else None
        caps = (cyc.caps if cyc else None) or {"awards": 3, "nominations": 10}
        apps = {a.id: a for a in session.scalars(select(Application).where(
            Application.cycle == cycle))} if cycle else {}
        opinions = {r["application_id"]: _opinion_status(session, apps[r["application_id"]])
                    for r in rows if r["application_id"] in apps}
        lists = list(session.scalars(select(PublicList).where(
            PublicList.cycle == cycle).order_by(PublicList.published_at))) if cycle else []
        open_counts = {p.id: outcomes.open_objections(session, p.id) for p in lists}
    filled = {t: sum(1 for r in rows if r["tier"] == t) for t in TIERS}
    places = {"award": int(caps.get("awards", 3)), "nomination": int(caps.get("nominations", 10))}
    published = any(p.kind == "recommendation" for p in lists)
    return render("review/office/ranking.html", status, cycles=options, cycle=cycle,
                  rows=rows, places=places, filled=filled, tiers=TIERS, notes=NOTES,
                  opinions=opinions, lists=lists, open_counts=open_counts, kinds=LIST_KINDS,
                  published=published, problem=problem, errors=errors or {},
                  department_label=department_label, dept_list=dept_list,
                  sectors=SECTORS, writer=can_write(), form=form or {}, warning=warning,
                  deviations=DEVIATIONS, today=clock.today(), apps=apps, stages=STAGES)


@blp.get("/ranking")
@roles(*OFFICE)
def ranking() -> Any:
    return _ranking_page()


@blp.post("/ranking/<cycle>/recommendation")
@roles(*WRITERS)
def publish_recommendation(cycle: str) -> Any:
    """Publish the recommendation list for 5 working days (blocked by missing or adverse
    opinions, which the page lists per applicant). A start in the past or inside the
    acceptance publicity comes back as a warning that asks for the reason before confirming."""
    ctx = service_context()
    form = {"starts_on": text("starts_on"), "reason": text("reason")}
    try:
        try:
            body = ListIn().load({k: v for k, v in form.items() if v is not None})
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with ctx.db.session() as session:
            plist = outcomes.publish_recommendation(
                session, ctx.outbox, ctx.audit, ctx.calendar, programme(), cycle,
                body.get("starts_on"), current_principal(), body.get("reason"))
            ends = plist.ends_on
    except DossierError as exc:
        blocked = exc.errors if exc.code == "list.opinions_incomplete" else None
        errors = {} if blocked else form_errors(exc)
        warning = problem_text(exc) if exc.code in ORDER_WARNINGS else ""
        return _ranking_page("" if warning else problem_text(exc),
                             {"blocked": blocked or {}, **errors}, exc.status, cycle,
                             {k: v or "" for k, v in form.items()}, warning)
    return done(_("Recommendation list published; publicity runs until %(end)s.",
                  end=fmt_date(ends, language())), url_for(".ranking", cycle=cycle))


def _opinions_page(application_id: str, problem: str = "", errors: dict[str, str] | None = None,
                   status: int = 200) -> Any:
    with service_context().db.reader() as session:
        app = session.get(Application, application_id)
        if app is None:
            raise NotFound()
        state = _opinion_status(session, app)
    return render("review/office/opinions.html", status, state=state, app=app,
                  department_label=department_label, dept_list=dept_list,
                  sectors=SECTORS, problem=problem,
                  errors=errors or {}, form=request.form if request.method == "POST" else {},
                  writer=can_write())


@blp.get("/ranking/applications/<application_id>/opinions")
@roles(*OFFICE)
def opinions(application_id: str) -> Any:
    return _opinions_page(application_id)


@blp.post("/ranking/applications/<application_id>/opinions")
@roles(*WRITERS)
def record_opinion(application_id: str) -> Any:
    """A department's written opinion (Art. 17); the API's checks and event."""
    ctx = service_context()
    favourable = request.form.get("favourable")
    form = {"department": text("department"), "reference": text("reference"),
            "note": text("note"),
            "favourable": None if favourable not in ("yes", "no") else favourable == "yes"}
    try:
        try:
            body = OpinionIn().load({k: v for k, v in form.items() if v is not None})
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with ctx.db.session() as session:
            outcomes.record_opinion(session, ctx.outbox, ctx.audit, current_principal(),
                                    programme(), application_id, body)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _opinions_page(application_id, problem_text(exc), form_errors(exc), exc.status)
    return done(_("Opinion recorded."), url_for(".opinions", application_id=application_id))


# -- outcomes ---------------------------------------------------------------------------------

def _outcomes_page(problem: str = "", errors: dict[str, str] | None = None, status: int = 200,
                   asked: str | None = None) -> Any:
    with service_context().db.reader() as session:
        options, cycle = chosen_cycle(session, asked)
        awards = list(session.scalars(select(Award).where(Award.cycle == cycle).order_by(
            Award.tier, Award.serial))) if cycle else []
        names = {a.id: a.applicant_name for a in session.scalars(select(Application).where(
            Application.cycle == cycle))} if cycle else {}
        rec = session.scalars(select(PublicList).where(
            PublicList.cycle == cycle, PublicList.kind == "recommendation")).first() \
            if cycle else None
        final = session.scalars(select(PublicList).where(
            PublicList.cycle == cycle, PublicList.kind == "final")).first() if cycle else None
        open_count = outcomes.open_objections(session, rec.id) if rec else 0
    return render("review/office/outcomes.html", status, cycles=options, cycle=cycle,
                  awards=awards, names=names, rec=rec, final=final, open_count=open_count,
                  tiers=TIERS, today=clock.today(), problem=problem, errors=errors or {},
                  writer=can_write())


@blp.get("/outcomes")
@roles(*OFFICE)
def outcomes_page() -> Any:
    return _outcomes_page()


@blp.post("/outcomes/<cycle>/decision")
@roles(*WRITERS)
def decide(cycle: str) -> Any:
    """The decision after the publicity with no objection open: awards, amounts, serials."""
    ctx = service_context()
    try:
        try:
            body = DecisionIn().load({k: v for k, v in {"reference": text("reference")}.items()
                                      if v is not None})
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with ctx.db.session() as session:
            awards = outcomes.decide(session, ctx.outbox, ctx.audit, ctx.calendar, programme(),
                                     ctx.settings.secret_key, cycle, current_principal(),
                                     body.get("reference"))
            count = len(awards)
    except DossierError as exc:
        return _outcomes_page(problem_text(exc), form_errors(exc), exc.status, cycle)
    return done(_("Decision made: %(n)s certificates issued.", n=count),
                url_for(".outcomes_page", cycle=cycle))


def _award_page(award_id: str, problem: str = "", errors: dict[str, str] | None = None,
                status: int = 200) -> Any:
    with service_context().db.reader() as session:
        award = outcomes.find(session, Award, award_id)
        app = session.get(Application, award.application_id)
        revocation = session.scalars(select(Revocation).where(
            Revocation.award_id == award.id)).first()
    rules = programme().awards(award.cycle)
    grounds = [(code, label(g, code)) for code, g in rules["revocation_grounds"].items()]
    return render("review/office/award.html", status, award=award, app=app,
                  revocation=revocation, grounds=grounds, tiers=TIERS,
                  ground_label=lambda c: label(rules["revocation_grounds"].get(c), c),
                  title=label(rules["titles"].get(award.tier), award.tier), problem=problem,
                  errors=errors or {}, form=request.form if request.method == "POST" else {},
                  writer=can_write())


@blp.get("/outcomes/awards/<award_id>")
@roles(*OFFICE)
def award(award_id: str) -> Any:
    return _award_page(award_id)


@blp.post("/outcomes/awards/<award_id>/revoke")
@roles(*WRITERS)
def revoke(award_id: str) -> Any:
    """Revocation with a ground, evidence and the amount to recover (Art. 26)."""
    ctx = service_context()
    form: dict[str, Any] = {"ground": text("ground"),
                            "evidence": lines("evidence", semicolons=False),
                            "note": text("note"), "amount_to_recover": text("amount_to_recover")}
    try:
        try:
            body = RevokeIn().load({k: v for k, v in form.items() if v is not None})
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with ctx.db.session() as session:
            found = outcomes.find(session, Award, award_id)
            record = outcomes.revoke(session, ctx.outbox, programme(), found,
                                     ground=body["ground"], evidence=body["evidence"],
                                     note=body.get("note"),
                                     amount_to_recover=body.get("amount_to_recover"),
                                     year=body.get("year") or clock.today().year,
                                     actor=current_principal().subject)
            audit(session, "award.revoked", f"award:{found.id}", ground=record.ground,
                  amount_to_recover=record.amount_to_recover)
    except DossierError as exc:
        if exc.status == 404:
            raise
        errors = form_errors(exc)
        if exc.code == "revocation.evidence_required":
            errors["evidence"] = problem_text(exc)
        if exc.code == "revocation.amount_invalid":
            errors["amount_to_recover"] = problem_text(exc)
        return _award_page(award_id, problem_text(exc), errors, exc.status)
    return done(_("Award revoked; the certificate no longer verifies."),
                url_for(".award", award_id=award_id))


@blp.post("/outcomes/awards/<award_id>/recovery")
@roles(*WRITERS)
def record_recovery(award_id: str) -> Any:
    """Money paid back after a revocation, as `POST /api/awards/{id}/recovery` records it."""
    ctx = service_context()
    form = {"amount": text("amount"), "reference": text("reference")}
    try:
        try:
            body = RecoveryIn().load({k: v for k, v in form.items() if v is not None})
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        with ctx.db.session() as session:
            found = outcomes.find(session, Award, award_id)
            record = session.scalars(select(Revocation).where(
                Revocation.award_id == found.id)).first()
            if record is None:
                raise Conflict("revocation.missing", zh="该奖项未被撤销。",
                               en="This award has not been revoked.")
            outcomes.record_recovery(session, record, body["amount"])
            audit(session, "award.recovery_recorded", f"award:{found.id}",
                  amount=body["amount"], reference=body["reference"],
                  total=record.amount_recovered)
    except DossierError as exc:
        if exc.status == 404:
            raise
        errors = form_errors(exc)
        if exc.code == "revocation.recovery_invalid":
            errors["amount"] = problem_text(exc)
        return _award_page(award_id, problem_text(exc), errors, exc.status)
    return done(_("Recovery recorded."), url_for(".award", award_id=award_id))


# -- objections -------------------------------------------------------------------------------

def _list_names(session: Any, lists: list[PublicList]) -> dict[str, str]:
    return {e["application_id"]: e.get("applicant_name", "") for p in lists
            for e in p.entries or []}


@blp.get("/objections")
@roles(*OFFICE)
def objections() -> Any:
    wanted = request.args.get("status") or ""
    query = select(Objection).order_by(Objection.received_at.desc())
    if wanted in OBJECTION_STATUS:
        query = query.where(Objection.status == wanted)
    with service_context().db.reader() as session:
        rows = list(session.scalars(query.limit(200)))
        lists = {p.id: p for p in session.scalars(select(PublicList).where(
            PublicList.id.in_({o.list_id for o in rows})))}
        names = _list_names(session, list(lists.values()))
    return render("review/office/objections.html", rows=rows, lists=lists, names=names,
                  wanted=wanted, statuses=OBJECTION_STATUS, kinds=LIST_KINDS,
                  status_options=[("", _("All"))] + [(k, _(v)) for k, v in
                                                     OBJECTION_STATUS.items()])


def _objection_page(objection_id: str, problem: str = "", errors: dict[str, str] | None = None,
                    status: int = 200, reporter: dict[str, Any] | None = None) -> Any:
    with service_context().db.reader() as session:
        objection = outcomes.find(session, Objection, objection_id)
        plist = session.get(PublicList, objection.list_id)
        names = _list_names(session, [plist] if plist else [])
    return render("review/office/objection.html", status, objection=objection, plist=plist,
                  names=names, statuses=OBJECTION_STATUS, kinds=LIST_KINDS, problem=problem,
                  errors=errors or {}, reporter=reporter,
                  form=request.form if request.method == "POST" else {}, writer=can_write(),
                  supervisor=current_principal().role == "supervisor")


@blp.get("/objections/<objection_id>")
@roles(*OFFICE)
def objection(objection_id: str) -> Any:
    return _objection_page(objection_id)


@blp.get("/objections/<objection_id>/reporter")
@roles("supervisor")
def reveal_reporter(objection_id: str) -> Any:
    """The supervision group unseals the reporter through the API's own domain function: the
    same audit action, recorded before anything is shown."""
    ctx = service_context()
    with ctx.db.session() as session:
        reporter = objections_domain.reveal_reporter(session, ctx.audit, current_principal(),
                                                     ctx.settings.field_key(), objection_id)
    return _objection_page(objection_id, reporter=reporter)


@blp.get("/objections/<objection_id>/evidence/<int:n>")
@roles(*OFFICE)
def objection_evidence(objection_id: str, n: int) -> Any:
    """An evidence file, for the operator and the supervision group (404 for others)."""
    return evidence_response(objection_id, n)


@blp.post("/objections/<objection_id>/investigation")
@roles(*WRITERS)
def investigate_objection(objection_id: str) -> Any:
    ctx = service_context()
    try:
        with ctx.db.session() as session:
            objections_domain.begin_investigation(session, ctx.audit, current_principal(),
                                                  objection_id)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _objection_page(objection_id, problem_text(exc), {}, exc.status)
    return done(_("Marked as under investigation; the reporter's follow-up page says so."),
                url_for(".objection", objection_id=objection_id))


@blp.post("/objections/<objection_id>/resolve")
@roles(*WRITERS)
def resolve_objection(objection_id: str) -> Any:
    ctx = service_context()
    form = {"outcome": text("outcome"), "resolution": text("resolution"),
            "answer": text("answer")}
    try:
        try:
            body = ResolveIn().load({k: v for k, v in form.items() if v is not None})
        except ma.ValidationError as exc:
            raise invalid(exc) from exc
        if not body.get("answer"):
            # The page always answers the reporter; the API may leave it to the outcome alone.
            raise DossierError("validation.failed",
                               errors={"answer": [objections_domain.NO_ANSWER]})
        with ctx.db.session() as session:
            objections_domain.resolve(session, ctx.audit, current_principal(), objection_id,
                                      outcome=body["outcome"], resolution=body["resolution"],
                                      answer=body["answer"])
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _objection_page(objection_id, problem_text(exc), form_errors(exc), exc.status)
    return done(_("Objection resolved."), url_for(".objection", objection_id=objection_id))
