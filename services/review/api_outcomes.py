"""Scores, results, publicity lists, objections, opinions, decisions, certificates, revocation.

Supervisors read everything here and change nothing: they appear only on GET routes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import select

from services.review import bulk, dossiers, drafts, objections, outcomes, scoresheet
from services.review.certificates import CertificateFacts, certificate_docx
from services.review.models import (
    Application,
    Award,
    Objection,
    Opinion,
    PublicList,
    Revocation,
    Score,
    ScoreDraft,
)
from services.review.programme import Programme
from services.review.schemas import (
    AwardOut,
    AwardPage,
    AwardQuery,
    BulkOpinionsIn,
    BulkScoresIn,
    DecisionIn,
    DraftIn,
    DraftOut,
    ListIn,
    ListOut,
    ListPage,
    ListQuery,
    ObjectionIn,
    ObjectionOut,
    ObjectionPage,
    ObjectionQuery,
    ObjectionReceiptOut,
    OpinionIn,
    OpinionOut,
    OpinionStatusOut,
    RecoveryIn,
    ReporterOut,
    ResolveIn,
    ResultOut,
    RevokeIn,
    RubricOut,
    RubricQuery,
    ScoreIn,
    ScoreOut,
    ScorePage,
    ScoreQuery,
    VerifyOut,
)
from shared import clock
from shared.errors import Conflict, DossierError, NotFound
from shared.filenames import content_disposition
from shared.http import current_principal, roles, service_context
from shared.http_work import audit_caller as _audit
from shared.pagination import paginate

blp = Blueprint("outcomes", __name__, url_prefix="/api", description="Scores to final list")

STAFF = ("operator", "supervisor", "admin")


def _programme() -> Programme:
    return Programme(service_context().settings.review_data_dir)


def _denied(exc: bulk.BulkRejected) -> None:
    """Entries naming dossiers the caller may not see are written as denied accesses, as the
    single route's concealed 404 is (the batch's own transaction was rolled back)."""
    if not exc.concealed:
        return
    ctx = service_context()

    def record(session: Any) -> None:
        for target in exc.concealed:
            _audit(session, "access.denied", target, code="http.not_found", status=404,
                   method=request.method, endpoint=request.endpoint or "")

    ctx.db.transact(record)


# -- scores -----------------------------------------------------------------------------------

@blp.get("/rubrics/<kind>")
@blp.arguments(RubricQuery, location="query", as_kwargs=True)
@blp.response(200, RubricOut)
@roles("expert", *STAFF)
def get_rubric(kind: str, cycle: str | None) -> dict[str, Any]:
    """The rubric a scoring form is built from (the cycle's own, else the default)."""
    rubric = _programme().rubric(kind, cycle)
    return {"id": rubric.id, "title": rubric.title, "total": rubric.total,
            "floors": rubric.floors, "categories": rubric.categories}


@blp.put("/panels/<panel_id>/scores/<application_id>")
@blp.arguments(ScoreIn)
@blp.response(200, ScoreOut)
@roles("expert")
def submit_score(body: dict[str, Any], panel_id: str, application_id: str) -> Score:
    """An assigned expert's scores for one application in one stage, item by item."""
    ctx = service_context()
    with ctx.db.session() as session:
        score, previous = scoresheet.submit(session, _programme(), current_principal().subject,
                                            panel_id, application_id, body["items"],
                                            body.get("comment"))
        # A revised score keeps its earlier total in the audit trail.
        _audit(session, "score.submitted", f"score:{score.id}", total=score.total,
               previous=previous)
    return score


@blp.put("/panels/<panel_id>/scores")
@blp.arguments(BulkScoresIn)
@blp.response(200, ScoreOut(many=True))
@roles("expert")
def submit_scores(body: dict[str, Any], panel_id: str) -> list[Score]:
    """An assigned expert's scores of many applications in one stage, all or none: each entry
    passes the single route's checks first; one failure stores nothing and answers 422
    `bulk.rejected` with `errors.scores`, one problem per failing entry (index, application,
    applicant's name where the expert may see it, code, messages). At most 200 entries."""
    ctx = service_context()
    entries = [scoresheet.ScoreEntry(e["application_id"], e["items"], e.get("comment"))
               for e in body["scores"]]
    try:
        with ctx.db.session() as session:
            return scoresheet.submit_many(session, _programme(), ctx.audit,
                                          current_principal(), panel_id, entries)
    except bulk.BulkRejected as exc:
        _denied(exc)
        raise


@blp.get("/panels/<panel_id>/drafts/<application_id>")
@blp.response(200, DraftOut)
@roles("expert")
def get_draft(panel_id: str, application_id: str) -> ScoreDraft:
    """The expert's unsubmitted scoring form for this stage (404 when none is saved)."""
    with service_context().db.reader() as session:
        expert, app, _ = scoresheet.open_sheet(session, current_principal().subject, panel_id,
                                               application_id)
        draft = drafts.load(session, panel_id, app.id, expert.id)
        if draft is None:
            raise NotFound()
        return draft


@blp.put("/panels/<panel_id>/drafts/<application_id>")
@blp.arguments(DraftIn)
@blp.response(200, DraftOut)
@roles("expert")
def save_draft(body: dict[str, Any], panel_id: str, application_id: str) -> ScoreDraft:
    """Save the scoring form as typed: items may be missing, the ones given must fit the
    rubric. A draft is not a score and is never counted."""
    ctx = service_context()
    with ctx.db.session() as session:
        draft = scoresheet.save_draft(session, _programme(), current_principal().subject,
                                      panel_id, application_id, body["items"],
                                      body.get("comment"))
        _audit(session, "score.draft_saved", f"application:{application_id}",
               panel=panel_id, items=len(draft.items))
        return draft


@blp.get("/scores")
@blp.arguments(ScoreQuery, location="query", as_kwargs=True)
@blp.response(200, ScorePage)
@roles(*STAFF, "expert")
def list_scores(page: int, per_page: int, panel_id: str | None,
                application_id: str | None) -> dict[str, Any]:
    """Staff see every score; an expert sees only their own."""
    who = current_principal()
    query = select(Score).order_by(Score.application_id, Score.submitted_at)
    with service_context().db.reader() as session:
        if who.role == "expert":
            query = query.where(Score.expert_id == dossiers.expert_for(session, who.subject).id)
        if panel_id:
            query = query.where(Score.panel_id == panel_id)
        if application_id:
            query = query.where(Score.application_id == application_id)
        return paginate(session, query, page, per_page)


@blp.get("/scores/<score_id>")
@blp.response(200, ScoreOut)
@roles(*STAFF, "expert")
def get_score(score_id: str) -> Score:
    who = current_principal()
    with service_context().db.reader() as session:
        score = session.get(Score, score_id)
        if score is None or (who.role == "expert" and score.expert_id !=
                             dossiers.expert_for(session, who.subject).id):
            raise NotFound()
        return score


@blp.get("/cycles/<cycle>/results")
@blp.response(200, ResultOut(many=True))
@roles(*STAFF)
def cycle_results(cycle: str) -> list[dict[str, Any]]:
    with service_context().db.reader() as session:
        return outcomes.results(session, _programme(), cycle)


# -- lists and objections ---------------------------------------------------------------------

PUBLIC_ENTRY_FIELDS = ("application_id", "applicant_name", "kind", "unit", "tier")


def _list_row(session: Any, plist: PublicList) -> dict[str, Any]:
    entries = plist.entries
    if current_principal().role not in STAFF:
        # What the public notice shows: names and tiers, not scores or amounts.
        entries = [{k: e[k] for k in PUBLIC_ENTRY_FIELDS if k in e} for e in entries]
    return {**{c: getattr(plist, c) for c in ("id", "cycle", "kind", "starts_on", "ends_on",
                                              "published_at", "deviation_reason")},
            "deviations": list(plist.deviations or []),
            "notice": plist.notice or outcomes.notice_for(_programme(), plist.cycle),
            "entries": entries, "open_objections": outcomes.open_objections(session, plist.id)}


@blp.get("/lists")
@blp.arguments(ListQuery, location="query", as_kwargs=True)
@blp.response(200, ListPage)
@roles("applicant", "recommender", "operator", "expert", "supervisor", "admin")
def list_lists(page: int, per_page: int, cycle: str | None, kind: str | None
               ) -> dict[str, Any]:
    """Public lists: readable by every signed-in role (the public page comes with the web UI)."""
    query = select(PublicList).order_by(PublicList.published_at.desc())
    if cycle:
        query = query.where(PublicList.cycle == cycle)
    if kind:
        query = query.where(PublicList.kind == kind)
    with service_context().db.reader() as session:
        result = paginate(session, query, page, per_page)
        result["items"] = [_list_row(session, p) for p in result["items"]]
        return result


@blp.post("/cycles/<cycle>/recommendation")
@blp.arguments(ListIn)
@blp.response(201, ListOut)
@roles("operator", "admin")
def publish_recommendation(body: dict[str, Any], cycle: str) -> dict[str, Any]:
    """Publish the award recommendation list for 5 working days; blocked until every chosen
    applicant has all required department opinions, all favourable, and while objections to
    the acceptance list are open. A start in the past or inside the acceptance publicity needs
    a `reason` (409 `list.start_in_past` / `list.acceptance_running` without one)."""
    ctx = service_context()
    with ctx.db.session() as session:
        plist = outcomes.publish_recommendation(session, ctx.outbox, ctx.audit, ctx.calendar,
                                                _programme(), cycle, body.get("starts_on"),
                                                current_principal(), body.get("reason"))
        return _list_row(session, plist)


@blp.post("/lists/<list_id>/objections")
@blp.arguments(ObjectionIn)
@blp.response(201, ObjectionReceiptOut)
@roles("applicant", "recommender", "operator", "expert", "admin")
def raise_objection(body: dict[str, Any], list_id: str) -> Objection:
    """An objection during the publicity window, real-name or anonymous. The reporter's
    identity is sealed at once and never leaves the service except to supervisors. The answer
    carries the receipt code that opens the public follow-up page."""
    ctx = service_context()
    who = current_principal()
    return objections.file_objection(ctx.db, ctx.outbox, ctx.audit, ctx.store,
                                     ctx.settings.field_key(), list_id, body,
                                     subject=who.subject, role=who.role)


@blp.get("/objections")
@blp.arguments(ObjectionQuery, location="query", as_kwargs=True)
@blp.response(200, ObjectionPage)
@roles(*STAFF)
def list_objections(page: int, per_page: int, list_id: str | None, status: str | None
                    ) -> dict[str, Any]:
    query = select(Objection).order_by(Objection.received_at)
    if list_id:
        query = query.where(Objection.list_id == list_id)
    if status:
        query = query.where(Objection.status == status)
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


@blp.get("/objections/<objection_id>/reporter")
@blp.response(200, ReporterOut)
@roles("supervisor")
def objection_reporter(objection_id: str) -> dict[str, Any]:
    """The reporter's identity: supervision group only, and every reading is audited."""
    ctx = service_context()
    with ctx.db.session() as session:
        return objections.reveal_reporter(session, ctx.audit, current_principal(),
                                          ctx.settings.field_key(), objection_id)


@blp.get("/objections/<objection_id>/evidence/<int:n>")
@roles("applicant", "recommender", "operator", "expert", "supervisor", "admin")
def objection_evidence(objection_id: str, n: int) -> Response:
    """One evidence file the reporter attached: the operator and the supervision group only
    (404 for every other role); every reading audited."""
    return evidence_response(objection_id, n)


def evidence_response(objection_id: str, n: int) -> Response:
    """The file as a download (never rendered in the service's origin), after the audited
    domain check; the office page serves it the same way."""
    ctx = service_context()
    with ctx.db.session() as session:
        found = objections.read_evidence(session, ctx.audit, current_principal(), objection_id,
                                         n)
    response = Response(ctx.store.open(found["object_key"]), mimetype=found["content_type"])
    response.headers["Content-Disposition"] = content_disposition(found["filename"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.post("/objections/<objection_id>/resolve")
@blp.arguments(ResolveIn)
@blp.response(200, ObjectionOut)
@roles("operator", "admin")
def resolve_objection(body: dict[str, Any], objection_id: str) -> Objection:
    """Uphold or dismiss; `answer` is published to the reporter on the follow-up page."""
    ctx = service_context()
    with ctx.db.session() as session:
        return objections.resolve(session, ctx.audit, current_principal(), objection_id,
                                  outcome=body["outcome"], resolution=body["resolution"],
                                  answer=body.get("answer"))


@blp.post("/objections/<objection_id>/investigation")
@blp.response(200, ObjectionOut)
@roles("operator", "admin")
def investigate_objection(objection_id: str) -> Objection:
    """Mark the objection as under investigation (what the reporter's page then shows)."""
    ctx = service_context()
    with ctx.db.session() as session:
        return objections.begin_investigation(session, ctx.audit, current_principal(),
                                              objection_id)


# -- opinions ---------------------------------------------------------------------------------

def _opinion_status(session: Any, app: Application) -> dict[str, Any]:
    return {"application_id": app.id, "sector": outcomes.sector(app),
            "required": outcomes.required_departments(_programme(), app),
            "missing": outcomes.missing_opinions(session, _programme(), app),
            "opinions": list(session.scalars(select(Opinion).where(
                Opinion.application_id == app.id).order_by(Opinion.department)))}


@blp.get("/applications/<application_id>/opinions")
@blp.response(200, OpinionStatusOut)
@roles(*STAFF)
def opinion_status(application_id: str) -> dict[str, Any]:
    with service_context().db.reader() as session:
        return _opinion_status(session, outcomes.find(session, Application, application_id))


@blp.post("/applications/<application_id>/opinions")
@blp.arguments(OpinionIn)
@blp.response(201, OpinionOut)
@roles("operator", "admin")
def record_opinion(body: dict[str, Any], application_id: str) -> Opinion:
    ctx = service_context()
    with ctx.db.session() as session:
        return outcomes.record_opinion(session, ctx.outbox, ctx.audit, current_principal(),
                                       _programme(), application_id, body)


@blp.put("/applications/<application_id>/opinions")
@blp.arguments(BulkOpinionsIn)
@blp.response(200, OpinionOut(many=True))
@roles("operator", "admin")
def record_opinions(body: dict[str, Any], application_id: str) -> list[Opinion]:
    """Several departments' opinions on one applicant, all or none: one failing opinion stores
    nothing and answers 422 `bulk.rejected` with `errors.opinions`, one problem per failing
    opinion (index, department, code, messages)."""
    ctx = service_context()
    with ctx.db.session() as session:
        return outcomes.record_opinions(session, ctx.outbox, ctx.audit, current_principal(),
                                        _programme(), application_id, body["opinions"])


# -- decision, awards, certificates, revocation -----------------------------------------------

def _award_row(session: Any, award: Award) -> dict[str, Any]:
    app = session.get(Application, award.application_id)
    revocation = session.scalars(select(Revocation).where(
        Revocation.award_id == award.id)).first()
    return {**{c: getattr(award, c) for c in ("id", "cycle", "year", "application_id", "tier",
                                              "score", "amount", "serial", "decided_at",
                                              "revoked_at")},
            "applicant_name": app.applicant_name, "kind": app.kind,
            "revocation": None if revocation is None else {
                "ground": revocation.ground, "evidence": revocation.evidence,
                "amount_to_recover": revocation.amount_to_recover,
                "amount_recovered": revocation.amount_recovered, "year": revocation.year,
                "barred_cycles": revocation.barred_cycles}}


@blp.post("/cycles/<cycle>/decision")
@blp.arguments(DecisionIn)
@blp.response(201, AwardOut(many=True))
@roles("operator", "admin")
def decide(body: dict[str, Any], cycle: str) -> list[dict[str, Any]]:
    ctx = service_context()
    with ctx.db.session() as session:
        awards = outcomes.decide(session, ctx.outbox, ctx.audit, ctx.calendar, _programme(),
                                 ctx.settings.secret_key, cycle, current_principal(),
                                 body.get("reference"))
        return [_award_row(session, a) for a in awards]


@blp.post("/awards/<award_id>/recovery")
@blp.arguments(RecoveryIn)
@blp.response(200, AwardOut)
@roles("operator", "admin")
def record_recovery(body: dict[str, Any], award_id: str) -> dict[str, Any]:
    """Money recovered after a revocation (Art. 26), added up; the reference is audited."""
    ctx = service_context()
    with ctx.db.session() as session:
        award = outcomes.find(session, Award, award_id)
        record = session.scalars(select(Revocation).where(Revocation.award_id == award.id)
                                 ).first()
        if record is None:
            raise Conflict("revocation.missing", zh="该奖项未被撤销。",
                           en="This award has not been revoked.")
        outcomes.record_recovery(session, record, body["amount"])
        _audit(session, "award.recovery_recorded", f"award:{award.id}", amount=body["amount"],
               reference=body["reference"], total=record.amount_recovered)
        return _award_row(session, award)


@blp.get("/awards")
@blp.arguments(AwardQuery, location="query", as_kwargs=True)
@blp.response(200, AwardPage)
@roles(*STAFF)
def list_awards(page: int, per_page: int, cycle: str | None, tier: str | None
                ) -> dict[str, Any]:
    query = select(Award).order_by(Award.cycle, Award.serial)
    if cycle:
        query = query.where(Award.cycle == cycle)
    if tier:
        query = query.where(Award.tier == tier)
    with service_context().db.reader() as session:
        result = paginate(session, query, page, per_page)
        result["items"] = [_award_row(session, a) for a in result["items"]]
        return result


@blp.get("/awards/<award_id>/certificate")
@roles("operator", "supervisor", "admin", "applicant")
def certificate(award_id: str) -> Response:
    """The certificate as DOCX; an applicant gets only their own (else 404)."""
    who = current_principal()
    with service_context().db.session() as session:
        award = session.get(Award, award_id)
        app = session.get(Application, award.application_id) if award else None
        if award is None or app is None or (who.role == "applicant" and app.owner != who.subject):
            raise NotFound()
        if award.revoked_at is not None:
            raise DossierError("award.revoked", status=410, zh="该奖项已被撤销。",
                               en="This award has been revoked.")
        rules = _programme().awards(award.cycle)
        data = certificate_docx(CertificateFacts(
            holder=app.applicant_name, tier_title=rules["titles"][award.tier], year=award.year,
            serial=award.serial, decided_on=award.decided_at.date().isoformat(),
            verify_hint="扫描二维码或访问以下地址核验 Scan or visit to verify:",
            verify_url=verify_url(award.serial)))
        _audit(session, "certificate.issued", f"award:{award.id}")
    response = Response(data, mimetype="application/vnd.openxmlformats-officedocument."
                        "wordprocessingml.document")
    response.headers["Content-Disposition"] = content_disposition(f"{award.serial}.docx")
    return response


def verify_url(serial: str) -> str:
    """Where the certificate's QR code points: the public verification page (Art. 29)."""
    base = service_context().settings.public_url.rstrip("/")
    return f"{base}/review/public/certificates/{quote(serial)}"


@blp.get("/certificates/<serial>")
@blp.response(200, VerifyOut)
@roles("applicant", "recommender", "operator", "expert", "supervisor", "admin")
def verify_certificate(serial: str) -> dict[str, Any]:
    with service_context().db.reader() as session:
        award = session.scalars(select(Award).where(Award.serial == serial)).first()
        if award is None:
            raise NotFound()
        app = session.get(Application, award.application_id)
        return {"serial": serial, "valid": award.revoked_at is None,
                "holder": app.applicant_name, "tier": award.tier,  # type: ignore[union-attr]
                "year": award.year, "revoked": award.revoked_at is not None}


@blp.post("/awards/<award_id>/revoke")
@blp.arguments(RevokeIn)
@blp.response(200, AwardOut)
@roles("operator", "admin")
def revoke(body: dict[str, Any], award_id: str) -> dict[str, Any]:
    ctx = service_context()
    with ctx.db.session() as session:
        award = outcomes.find(session, Award, award_id)
        record = outcomes.revoke(session, ctx.outbox, _programme(), award, ground=body["ground"],
                                 evidence=body["evidence"], note=body.get("note"),
                                 amount_to_recover=body.get("amount_to_recover"),
                                 year=body.get("year") or clock.today().year,
                                 actor=current_principal().subject)
        _audit(session, "award.revoked", f"award:{award.id}", ground=record.ground,
               amount_to_recover=record.amount_to_recover)
        return _award_row(session, award)
