"""The expert's pages: assignments, declaration, conflicts, documents, scoring.

Every request re-checks assignment and conflicts in the database (`dossiers.require_access`),
exactly as the API does: a conflict declared on one request ends access on the next. A dossier
the expert cannot see answers 404, never 403, so its existence is not confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, flash, redirect, request, url_for

from services.review import (
    conflict_records,
    dossiers,
    registry,
    requirements,
    scoresheet,
    worklist,
)
from services.review.models import (
    Application,
    Panel,
)
from services.review.programme import Programme
from services.review.scoring import NOT_A_NUMBER, ScoreInvalid
from shared import clock
from shared import pagerender as pdfpages
from shared.errors import DossierError, NotFound
from shared.http import current_principal, roles, service_context
from shared.http_work import audit_caller as _audit
from shared.http_work import request_work
from shared.web.blueprint import PageBlueprint, cacheable
from shared.web.kept_pages import cached_page, keep_page
from shared.web.language import _, language
from shared.web.nav import N_
from shared.web.rendering import done, field_errors, problem_text, render

blp = PageBlueprint("review_expert_pages", __name__)
STAGES = {"material": N_("Material review"), "on-site": N_("On-site review"),
          "defence": N_("Defence")}


def _programme() -> Programme:
    return Programme(service_context().settings.review_data_dir)


def local(text: Mapping[str, str] | str | None) -> str:
    """A bilingual data text ({zh, en}) in the page's language."""
    if not isinstance(text, Mapping):
        return str(text or "")
    if language() == "en":
        return str(text.get("en") or text.get("zh") or "")
    return str(text.get("zh") or text.get("en") or "")


def stage_label(stage: str) -> str:
    return _(STAGES[stage]) if stage in STAGES else stage


@blp.app_template_global("review_stage")
def _stage_global(stage: str) -> str:
    return stage_label(stage)


# -- the list ---------------------------------------------------------------------------------

@blp.get("/dossiers")
@roles("expert")
@cacheable
def dossier_list() -> Any:
    """Assigned, conflict-free dossiers by stage, with deadlines and where scoring stands."""
    ctx = service_context()
    subject = current_principal().subject
    # Not audited, unlike each dossier, document and page the expert opens: the list shows
    # only what the assignment notices already told the expert, and a record per reload would
    # bury the accesses a supervisor looks for (and serialise page views on the chain's lock).
    page = cached_page()
    if page is not None and page.hit:
        return page.body
    with ctx.db.reader() as session:
        try:
            expert = dossiers.expert_for(session, subject)
        except NotFound:
            # Signed in as an expert but not (or no longer) in the registry: nothing to review.
            return render("review/expert/list.html", expert=None, stages={})
        stages = worklist.worklist(session, expert.id, clock.today())
        # One pledge per review session where the stage takes it so: offered once per stage.
        offers = dossiers.session_offers(session, expert.id,
                                         {row.panel_id for rows in stages.values()
                                          for row in rows})
    body, _status = render("review/expert/list.html", expert=expert, stages=stages,
                           offers=offers, session_pledge=dossiers.SESSION_PLEDGE,
                           dossier_path=url_for(".dossier", application_id="~").rstrip("~"))
    return keep_page(page, body, depends=worklist.depends_on(expert.id))


# -- the pledge -------------------------------------------------------------------------------

@blp.post("/dossiers/<application_id>/pledge")
@roles("expert")
def pledge(application_id: str) -> Any:
    ctx = service_context()
    with ctx.db.session() as session:
        expert, app = dossiers.require_access(session, current_principal().subject,
                                              application_id)
        if request.form.get("accept") != "1":
            return render("review/expert/pledge.html", 422, application=app,
                          pledge=dossiers.PLEDGE, problem=_(
                              "Tick the declaration to open the dossier."),
                          errors={"accept": _("Tick the declaration to open the dossier.")})
        if dossiers.pledge(session, expert.id, app.id):
            _audit(session, "dossier.acknowledged", f"application:{app.id}")
    return done(_("Declaration recorded. The dossier is open."),
                url_for(".dossier", application_id=application_id))


@blp.post("/panels/<panel_id>/pledge")
@roles("expert")
def pledge_session(panel_id: str) -> Any:
    """The one pledge for a review session, from the list or from a dossier of the stage."""
    ctx = service_context()
    back = request.form.get("application_id") or ""
    target = url_for(".dossier", application_id=back) if back else url_for(".dossier_list")
    if request.form.get("accept") != "1":
        flash(_("Tick the declaration to open the dossiers of this stage."), "error")
        return redirect(target, code=303)
    with ctx.db.session() as session:
        dossiers.pledge_session(session, ctx.audit, current_principal(), panel_id)
    return done(_("Declaration recorded for this review stage. Its dossiers are open."), target)


# -- a conflict, declared at any time ---------------------------------------------------------

def _grounds() -> list[tuple[str, str]]:
    grounds = _programme().grounds()["grounds"]
    return [(code, local(g)) for code, g in grounds.items()]


@blp.route("/dossiers/<application_id>/conflict", methods=["GET", "POST"])
@roles("expert")
def declare_conflict(application_id: str) -> Any:
    """The expert declares a conflict: access to the dossier ends with this request."""
    with service_context().db.reader() as session:
        _expert, app = dossiers.require_access(session, current_principal().subject,
                                               application_id)
    form = {"ground": request.form.get("ground", "other"),
            "reason": (request.form.get("reason") or "").strip()}
    if request.method == "GET":
        return render("review/expert/conflict.html", application=app, grounds=_grounds(),
                      form=form, errors={}, problem=None)
    errors: dict[str, str] = {}
    if len(form["reason"]) < 2:
        errors["reason"] = _("Say briefly what the relationship is.")
    if form["ground"] not in dict(_grounds()):
        errors["ground"] = _("Choose a ground.")
    if errors:
        return render("review/expert/conflict.html", 422, application=app, grounds=_grounds(),
                      form=form, errors=errors, problem=_("Correct the fields marked below."))
    try:
        with request_work() as work:
            conflict_records.record(work, conflict_records.ConflictReport(
                application_id=app.id, ground=form["ground"], reason=form["reason"]),
                _programme().grounds())
    except DossierError as exc:
        return render("review/expert/conflict.html", exc.status, application=app,
                      grounds=_grounds(), form=form, errors=field_errors(exc),
                      problem=problem_text(exc))
    return done(_("Conflict declared. Your access to this dossier has ended."),
                url_for(".dossier_list"))


# -- the dossier and its scoring forms --------------------------------------------------------

def _limits() -> pdfpages.ViewLimits:
    return pdfpages.ViewLimits.from_settings(service_context().settings)


def _documents(app: Application) -> list[dict[str, Any]]:
    ctx = service_context()
    out = []
    for d in app.documents or []:
        out.append({**d, "trade_secret": dossiers.is_secret(d), "pdf": pdfpages.is_pdf(d),
                    "pages": pdfpages.pages_of(ctx.store, d, _limits(), ctx.redis)})
    return out


def _sheets(session: Any, expert_id: str, app: Application,
            typed: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One scoring form per stage the expert serves on for this application."""
    rubric = _programme().rubric(app.kind, app.cycle)
    is_locked = scoresheet.locked(session, app.cycle)
    sheets = []
    for assignment in registry.serving(session, expert_id, app.id):
        panel = session.get(Panel, assignment.panel_id)
        score, draft = scoresheet.current(session, expert_id, panel.id, app.id)
        if typed is not None and typed.get("panel_id") == panel.id:
            values, comment = dict(typed["items"]), typed.get("comment") or ""
        elif draft is not None:
            values, comment = dict(draft.items), draft.comment or ""
        elif score is not None:
            values, comment = dict(score.items), score.comment or ""
        else:
            values, comment = {}, ""
        sheets.append({"panel": panel, "score": score, "draft": draft, "locked": is_locked,
                       "values": {k: _number_text(v) for k, v in values.items()},
                       "comment": comment, "rubric": rubric,
                       "categories": [{"title": local(c.get("title")), "items": [
                           {"id": i["id"], "title": local(i.get("title")),
                            "max": float(i["max"])} for i in c["items"]]}
                           for c in rubric.categories]})
    return sheets


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _show(session: Any, expert_id: str, app: Application, documents: list[dict[str, Any]],
          status: int = 200, typed: Mapping[str, Any] | None = None,
          errors: Mapping[str, str] | None = None, problem: str | None = None) -> Any:
    """The dossier page; `documents` (`_documents`, which may download files to count their
    pages) is prepared beforehand, with no transaction open."""
    names, lang = requirements.names_for(session, app.cycle), language()
    return render("review/expert/dossier.html", status, application=app,
                  documents=documents, sheets=_sheets(session, expert_id, app, typed),
                  errors=errors or {}, problem=problem,
                  error_panel=typed.get("panel_id") if typed else None,
                  requirement_label=lambda rid: names.label(app.kind, rid, lang))


@blp.get("/dossiers/<application_id>")
@roles("expert")
def dossier(application_id: str) -> Any:
    ctx = service_context()
    with ctx.db.reader() as session:
        reader, app = dossiers.open_dossier(session, current_principal().subject, "expert",
                                            application_id)
        if not reader.acknowledged:
            # The declaration comes before anything of the dossier is shown: the stage's one
            # pledge where the stage takes one per session, else this dossier's own.
            stage = dossiers.session_for(session, reader.expert_id or "", app.id)
            return render("review/expert/pledge.html", application=app, stage=stage,
                          pledge=dossiers.SESSION_PLEDGE if stage else dossiers.PLEDGE,
                          problem=None, errors={})
    documents = _documents(app)  # may read files from the store: no transaction open
    with ctx.db.session() as session:
        reader, app = dossiers.open_dossier(session, current_principal().subject, "expert",
                                            application_id)  # access checked again
        _audit(session, "dossier.viewed", f"application:{app.id}")
        return _show(session, reader.expert_id or "", app, documents)


def _typed_items(rubric_items: Mapping[str, float]) -> dict[str, Any]:
    """The form's numbers as the rubric check expects them; text that is no number is passed
    on as text, so the server's own check names the item."""
    items: dict[str, Any] = {}
    for item in rubric_items:
        raw = (request.form.get(f"item-{item}") or "").strip().replace(",", ".")
        if not raw:
            items[item] = None
            continue
        try:
            items[item] = float(raw)
        except ValueError:
            items[item] = raw
    return items


@blp.post("/dossiers/<application_id>/scores/<panel_id>")
@roles("expert")
def save_score(application_id: str, panel_id: str) -> Any:
    """Save a draft (`action=draft`) or submit the score (`action=submit`)."""
    ctx = service_context()
    subject = current_principal().subject
    submit = request.form.get("action") == "submit"
    failed: tuple[int, dict[str, Any] | None, dict[str, str], str] | None = None
    with ctx.db.session() as session:
        expert, app, _panel = scoresheet.open_sheet(session, subject, panel_id, application_id)
        if not dossiers.acknowledged(session, expert.id, app.id):
            raise dossiers.NotAcknowledged()
        rubric = _programme().rubric(app.kind, app.cycle)
        items = _typed_items(rubric.items)
        comment = (request.form.get("comment") or "").strip()[:5000] or None
        try:
            if submit:
                score, previous = scoresheet.submit(session, _programme(), subject, panel_id,
                                                    app.id, items, comment)
                _audit(session, "score.submitted", f"score:{score.id}", total=score.total,
                       previous=previous)
            else:
                draft = scoresheet.save_draft(session, _programme(), subject, panel_id,
                                              app.id, items, comment)
                _audit(session, "score.draft_saved", f"application:{app.id}", panel=panel_id,
                       items=len(draft.items))
        except ScoreInvalid as exc:
            typed = {"panel_id": panel_id, "comment": comment or "",
                     "items": {k: v for k, v in items.items() if v is not None}}
            errors = {f"item-{k}": v for k, v in field_errors(exc).items()}
            for k, v in items.items():
                if isinstance(v, str):
                    errors[f"item-{k}"] = _(NOT_A_NUMBER)
            failed = (422, typed, errors,
                      _("The scores were not saved. Correct the items marked below."))
        except DossierError as exc:
            failed = (exc.status, None, {}, problem_text(exc))
    if failed is not None:
        documents = _documents(app)  # may read files from the store: no transaction open
        with ctx.db.reader() as session:
            return _show(session, expert.id, app, documents, *failed)
    if submit:
        message = _("Score submitted: %(total)s points.", total=_number_text(score.total))
    else:
        message = _("Draft saved. It is not counted until you submit it.")
    return done(message, url_for(".dossier", application_id=application_id)
                + f"#sheet-{panel_id}")


# -- reading documents in the browser ---------------------------------------------------------

def _document(app: Application, document_id: str) -> dict[str, Any]:
    for d in app.documents or []:
        if d.get("document_id") == document_id:
            return d
    raise NotFound()


@blp.get("/dossiers/<application_id>/documents/<document_id>")
@roles("expert")
def document_view(application_id: str, document_id: str) -> Any:
    ctx = service_context()
    with ctx.db.session() as session:
        reader, app = dossiers.open_dossier(session, current_principal().subject, "expert",
                                            application_id)
        if not reader.acknowledged:
            raise dossiers.NotAcknowledged()
        document = _document(app, document_id)
    # The page count is the inspection's; a file above the viewing limits is refused here,
    # once, from that record: no page of it is requested or drawn.
    refused = pdfpages.refusal(document, _limits(), ctx.redis) \
        if pdfpages.is_pdf(document) else None
    pages = None if refused else pdfpages.pages_of(ctx.store, document, _limits(), ctx.redis)
    if refused is None and pages:
        # No count in the record (the packet was accepted before intake heard of the
        # inspection): the one counted just now, in the limited child, decides the same way.
        refused = pdfpages.refusal({**document, "pages": pages}, _limits())
        pages = None if refused else pages
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    if pages:
        page = min(max(page, 1), pages)
    return render("review/expert/document.html", application=app, document=document,
                  pages=pages, page=page, trade_secret=dossiers.is_secret(document),
                  refused=problem_text(refused) if refused else None)


@blp.get("/dossiers/<application_id>/documents/<document_id>/pages/<int:number>.png")
@roles("expert")
def page_image(application_id: str, document_id: str, number: int) -> Response:
    """One page drawn as PNG, watermarked for trade secrets; audited like a download."""
    ctx = service_context()
    with ctx.db.session() as session:
        reader, app = dossiers.open_dossier(session, current_principal().subject, "expert",
                                            application_id)
        document = _document(app, document_id)
        secret = dossiers.is_secret(document)
        if not reader.acknowledged:
            raise dossiers.NotAcknowledged()
        stamp = dossiers.stamp_for(reader) if secret else None
        _audit(session, "document.page_viewed", f"document:{document_id}",
               application=app.id, page=number, watermarked=secret)
    png = pdfpages.render_page(ctx.store, document, number, stamp,
                               ctx.settings.review_watermark_font, _limits(), ctx.redis)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response
