"""Intake's HTTP API: thin views over the domain modules."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.http import parse_options_header

from services.intake import (
    accounts,
    batch_upload,
    checklist,
    cycles,
    material,
    outcomes,
    pending,
    routing,
)
from services.intake import applications as domain
from services.intake import units as unit_list
from services.intake.models import (
    AcceptanceList,
    Account,
    Application,
    AwardRecord,
    Cycle,
    Document,
    DocumentVersion,
    Outcome,
    RecommendingUnit,
    RequirementList,
    Transition,
    Waiver,
)
from services.intake.schemas import (
    AcceptanceIn,
    AcceptanceOut,
    AccountIn,
    AccountOut,
    AccountQuery,
    ApplicationDetail,
    ApplicationIn,
    ApplicationOut,
    ApplicationQuery,
    BatchOut,
    ChecklistOut,
    ConfidentialityIn,
    CycleIn,
    CycleOut,
    CycleQuery,
    MyAccountIn,
    OpinionIn,
    ProfileIn,
    PublicityIn,
    ReasonsIn,
    RequirementListOut,
    SubmitIn,
    TimelineOut,
    UnitIn,
    UnitOut,
    UnitQuery,
    UploadQuery,
    VersionOut,
    WaiverIn,
    WaiverOut,
)
from services.intake.units import UnitList
from services.intake.units import current as current_units
from services.intake.uploads import (
    IncomingFile,
    MalformedUpload,
    multipart_files,
    multipart_upload,
    raw_upload,
)
from shared import longpoll
from shared.changes import on_rows, on_table
from shared.errors import DossierError
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, page_schema, paginate
from shared.textsearch import contains_text
from shared.web.state import sessions

blp = Blueprint("intake", __name__, url_prefix="/api",
                description="Award cycles, applicants, applications, material and routing")
ApplicationPage = page_schema(ApplicationOut, "ApplicationPage")
CyclePage = page_schema(CycleOut, "CyclePage")
AccountPage = page_schema(AccountOut, "AccountPage")
UnitPage = page_schema(UnitOut, "UnitPage")
AcceptancePage = page_schema(AcceptanceOut, "AcceptancePage")
WaiverPage = page_schema(WaiverOut, "WaiverPage")
READERS = ("applicant", "recommender", "operator", "supervisor", "admin")
STAFF = ("recommender", "operator", "supervisor", "admin")
OFFICE = ("operator", "admin")
EVERYONE = (*READERS, "expert")


def units() -> UnitList:
    """The recommending units as the operator keeps them now (the units page), read once per
    request (a list page names a unit on every row)."""
    if "intake_units" not in g:
        ctx = service_context()
        with ctx.db.reader() as session:
            g.intake_units = current_units(session, ctx.settings.intake_units_file)
    return g.intake_units


def identities() -> domain.Identities:
    return domain.Identities(service_context().settings.field_key())


def _with_documents(query: Any) -> Any:
    return query.options(selectinload(Application.documents).selectinload(Document.versions))


# -- units and cycles -------------------------------------------------------------------------

@blp.get("/units")
@blp.arguments(UnitQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, UnitPage)
@roles(*EVERYONE)
def list_units(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    """The recommending units an application can be routed to (kept on the units page)."""
    found = [u for u in units().units
             if all(getattr(u, k) == v for k, v in filters.items())]
    start = (page - 1) * per_page
    return {"items": found[start:start + per_page], "page": page, "per_page": per_page,
            "total": len(found)}


@blp.put("/units/<code>")
@blp.arguments(UnitIn)
@blp.response(200, UnitOut)
@roles(*OFFICE)
def save_unit(body: dict[str, Any], code: str) -> dict[str, Any]:
    """Add or change a recommending unit (`active: false` deactivates it), as the units page
    does; every change is audited."""
    ctx = service_context()
    with ctx.db.session() as session:
        known = session.get(RecommendingUnit, code) is not None
        unit = unit_list.save_unit(session, ctx.audit, current_principal(),
                                   code if known else None, {**body, "code": code})
        return {"code": unit.code, "kind": unit.kind, "name": unit.name,
                "name_en": unit.name_en, "active": unit.active,
                "route": "county" if unit.kind in unit_list.COUNTY_ROUTE_KINDS else "industry"}


@blp.put("/cycles/<cycle_id>")
@blp.arguments(CycleIn)
@blp.response(200, CycleOut)
@roles(*OFFICE)
def save_cycle(body: dict[str, Any], cycle_id: str) -> Cycle:
    """Create or update a cycle: window, caps (default 3 awards, 10 nominations), status."""
    if not cycles_id_ok(cycle_id):
        raise DossierError("validation.failed", errors={"cycle": ["1–20 of 0-9 A-Z a-z _ -"]})
    ctx = service_context()
    with ctx.db.session() as session:
        return cycles.save_cycle(session, ctx.outbox, ctx.audit, current_principal(), cycle_id,
                                 programme=units().programme, fields=body)


def cycles_id_ok(cycle_id: str) -> bool:
    return 0 < len(cycle_id) <= 20 and all(c.isascii() and (c.isalnum() or c in "_-")
                                           for c in cycle_id)


@blp.get("/cycles")
@blp.arguments(CycleQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, CyclePage)
@roles(*EVERYONE)
def list_cycles(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    query = select(Cycle).order_by(Cycle.year.desc(), Cycle.id)
    for name, value in filters.items():
        query = query.where(getattr(Cycle, name) == value)
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


@blp.get("/cycles/<cycle_id>")
@blp.response(200, CycleOut)
@roles(*EVERYONE)
def get_cycle(cycle_id: str) -> Cycle:
    with service_context().db.reader() as session:
        return cycles.get_cycle(session, cycle_id)


@blp.get("/cycles/<cycle_id>/requirements")
@blp.response(200, RequirementListOut)
@blp.alt_response(304, description="Not modified (`If-None-Match`), also when `?wait=` ran out")
@blp.doc(parameters=longpoll.PARAMETERS)
@roles(*EVERYONE)
def get_cycle_requirements(cycle_id: str) -> Any:
    """The cycle's requirement list (`requirements.published` from documents); 404
    `cycle.requirements_pending` until it has arrived, or, with `?wait=`, as soon as it arrives."""
    ctx = service_context()

    def render() -> dict[str, Any]:
        with ctx.db.reader() as session:
            cycles.get_cycle(session, cycle_id)
            found = session.get(RequirementList, cycle_id)
            if found is None:
                raise longpoll.NotYet("cycle.requirements_pending",
                                      zh="材料目录尚未由材料服务发布。",
                                      en="The documents service has not announced this "
                                         "cycle's requirements yet.")
            body: dict[str, Any] = RequirementListOut().dump(found)
            return body

    return longpoll.respond(lambda: ctx.change_feed, render,
                            [*on_table(Cycle), *on_table(RequirementList)])


@blp.post("/cycles/<cycle_id>/acceptance-lists")
@blp.arguments(AcceptanceIn)
@blp.response(201, AcceptanceOut)
@roles("operator")
def publish_acceptance(body: dict[str, Any], cycle_id: str) -> AcceptanceList:
    """Publish the cycle's acceptance list with its publicity window (≥ 5 working days)."""
    ctx = service_context()
    with ctx.db.session() as session:
        return routing.publish_acceptance(session, ctx.calendar, ctx.outbox, ctx.audit,
                                          current_principal(), cycle_id, body["starts_on"],
                                          body["ends_on"], body.get("reason"))


@blp.get("/cycles/<cycle_id>/acceptance-lists")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, AcceptancePage)
@roles(*EVERYONE)
def list_acceptance(cycle_id: str, page: int, per_page: int) -> dict[str, Any]:
    query = (select(AcceptanceList).where(AcceptanceList.cycle == cycle_id)
             .order_by(AcceptanceList.published_at.desc()))
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


@blp.put("/cycles/<cycle_id>/waivers/<credit_code>")
@blp.arguments(WaiverIn)
@blp.response(200, WaiverOut)
@roles("operator")
def record_waiver(body: dict[str, Any], cycle_id: str, credit_code: str) -> Waiver:
    """Record the city government's relaxation of the 3 operating years (Art. 9 (1))."""
    ctx = service_context()
    with ctx.db.session() as session:
        return domain.record_waiver(session, ctx.audit, current_principal(), cycle_id,
                                    credit_code, body["reference"])


@blp.get("/cycles/<cycle_id>/waivers")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, WaiverPage)
@roles("operator", "supervisor", "admin")
def list_waivers(cycle_id: str, page: int, per_page: int) -> dict[str, Any]:
    query = select(Waiver).where(Waiver.cycle == cycle_id).order_by(Waiver.seq)
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


# -- accounts ---------------------------------------------------------------------------------

@blp.put("/accounts/<subject>")
@blp.arguments(AccountIn)
@blp.response(200, AccountOut)
@roles(*OFFICE)
def save_account(body: dict[str, Any], subject: str) -> Account:
    """Register or change an account (a recommender's `unit` is its jurisdiction).

    Disabling an account, or changing its role or unit, signs it out of every browser: a
    session carries the claims it was opened with."""
    ctx = service_context()
    with ctx.db.session() as session:
        before = session.get(Account, subject)
        claims = (before.role, before.unit, before.active) if before is not None else None
        account = accounts.save_account(session, ctx.outbox, ctx.audit, current_principal(),
                                        subject, units(), body)
    if not account.active or (claims is not None
                              and claims != (account.role, account.unit, account.active)):
        sessions().drop_all(subject)
    return account


@blp.put("/accounts/me")
@blp.arguments(MyAccountIn)
@blp.response(200, AccountOut)
@roles("applicant")
def save_my_account(body: dict[str, Any]) -> Account:
    """An applicant registers or updates their own account (name, e-mail, language)."""
    ctx = service_context()
    who = current_principal()
    with ctx.db.session() as session:
        return accounts.save_account(session, ctx.outbox, ctx.audit, who, who.subject, units(),
                                     {**body, "role": "applicant"})


@blp.get("/accounts")
@blp.arguments(AccountQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, AccountPage)
@roles("operator", "supervisor", "admin")
def list_accounts(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    query = select(Account).order_by(Account.role, Account.subject)
    for name, value in filters.items():
        query = query.where(getattr(Account, name) == value)
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


# -- applications -----------------------------------------------------------------------------

@blp.post("/applications")
@blp.arguments(ApplicationIn)
@blp.response(201, ApplicationOut)
@roles("applicant")
def create_application(body: dict[str, Any]) -> Application:
    """Open an application in an open cycle; eligibility is checked with what is given."""
    ctx = service_context()
    with ctx.db.session() as session:
        app = domain.create_application(session, ctx.audit, current_principal(), identities(),
                                        units(), **body)
        app.documents = []  # loaded (empty) while the session is open
    return app


@blp.get("/applications")
@blp.arguments(ApplicationQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, ApplicationPage)
@roles(*READERS)
def list_applications(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    """Applicants see their own, recommenders their unit's, the city regulator all."""
    ctx = service_context()
    with ctx.db.reader() as session:
        query = _with_documents(domain.visible_applications(session, current_principal()))
        text = filters.pop("q", None)
        if text:
            query = query.where(contains_text(text, Application.name))
        for name, value in filters.items():
            query = query.where(getattr(Application, name) == value)
        return paginate(session, query, page, per_page)


def _load_detail(session: Any, application_id: str) -> Application:
    app = domain.get_application(session, current_principal(), application_id)
    for document in app.documents:
        _ = document.versions  # load inside the session
    _ = app.history
    app.eligibility = domain.eligibility_verdict(session, app)  # type: ignore[attr-defined]
    catalogue = checklist.catalogue_of(session, app.cycle)
    app.pending = [p.as_dict()  # type: ignore[attr-defined]
                   for p in pending.of_application(app, catalogue)]
    return app


def _application_tags(application_id: str) -> list[str]:
    """The change tags of everything an application's detail and checklist are built from
    (what a waiting request is woken by)."""
    return [*on_table(Cycle), *on_table(RequirementList), *on_table(Waiver),
            *on_table(AwardRecord), *on_rows(Application, id=application_id),
            *(tag for model in (Document, DocumentVersion, Transition, Outcome)
              for tag in on_rows(model, application_id=application_id))]


def _audit_viewed(application_id: str) -> None:
    """Someone other than the owner opened a packet: that access is on the record."""
    ctx = service_context()
    who = current_principal()
    if who.role == "applicant":
        return
    with ctx.db.session() as session:
        ctx.audit.append(session, actor=who.subject, role=who.role, action="application.viewed",
                         target=f"application:{application_id}", detail={})


@blp.get("/applications/<application_id>")
@blp.response(200, ApplicationDetail)
@blp.alt_response(304, description="Not modified (`If-None-Match`), also when `?wait=` ran out")
@blp.doc(parameters=longpoll.PARAMETERS)
@roles(*READERS)
def get_application(application_id: str) -> Any:
    """The application with its documents, history, eligibility and `pending` (what the system
    is still working on); `ETag`, `If-None-Match` and `?wait=` to wait for a change."""
    ctx = service_context()

    def render() -> dict[str, Any]:
        with ctx.db.reader() as session:
            body: dict[str, Any] = ApplicationDetail().dump(_load_detail(session, application_id))
            return body

    answer = longpoll.respond(lambda: ctx.change_feed, render,
                              _application_tags(application_id))
    _audit_viewed(application_id)
    return answer


@blp.get("/applications/<application_id>/checklist")
@blp.response(200, ChecklistOut)
@blp.alt_response(304, description="Not modified (`If-None-Match`), also when `?wait=` ran out")
@blp.doc(parameters=longpoll.PARAMETERS)
@roles(*READERS)
def get_checklist(application_id: str) -> Any:
    """The requirement checklist as the applicant's page shows it (documents' verdict per
    requirement on the current versions), with `pending`; waits like the application."""
    ctx = service_context()

    def render() -> dict[str, Any]:
        with ctx.db.reader() as session:
            app = domain.get_application(session, current_principal(), application_id)
            catalogue = checklist.catalogue_of(session, app.cycle)
            view = checklist.api_view(app, catalogue)
            view["pending"] = [p.as_dict() for p in pending.of_application(app, catalogue)]
            body: dict[str, Any] = ChecklistOut().dump(view)
            return body

    answer = longpoll.respond(lambda: ctx.change_feed, render,
                              _application_tags(application_id))
    _audit_viewed(application_id)
    return answer


@blp.get("/applications/<application_id>/timeline")
@blp.response(200, TimelineOut)
@roles(*READERS)
def get_timeline(application_id: str) -> dict[str, Any]:
    """Every stage of the application to its outcome, as the applicant's page shows it."""
    with service_context().db.reader() as session:
        app = domain.get_application(session, current_principal(), application_id)
        stages, headline, outcome = outcomes.progress(session, app, domain.today())
        return {"application_id": app.id, "case_number": app.case_number,
                "headline": headline, "stages": stages,
                "tier": outcome.tier if outcome else None,
                "decided_on": outcome.decided_on if outcome else None}


@blp.patch("/applications/<application_id>")
@blp.arguments(ProfileIn)
@blp.response(200, ApplicationDetail)
@roles("applicant")
def update_application(body: dict[str, Any], application_id: str) -> Application:
    """Change the applicant's details while the application is a draft (or returned)."""
    ctx = service_context()
    with ctx.db.session() as session:
        app = domain.get_application(session, current_principal(), application_id, lock=True)
        domain.update_profile(session, ctx.audit, current_principal(), identities(), units(),
                              app, body)
        session.flush()
        return _load_detail(session, application_id)


@blp.put("/applications/<application_id>/publicity")
@blp.arguments(PublicityIn)
@blp.response(200, ApplicationDetail)
@roles("applicant")
def record_publicity(body: dict[str, Any], application_id: str) -> Application:
    """The internal publicity: dates (≥ 5 Chinese working days) and the proof document."""
    ctx = service_context()
    with ctx.db.session() as session:
        app = domain.get_application(session, current_principal(), application_id, lock=True)
        routing.record_publicity(session, ctx.calendar, ctx.audit, current_principal(), app,
                                 body["starts_on"], body["ends_on"], body["document_id"])
        return _load_detail(session, application_id)


@blp.post("/applications/<application_id>/submit")
@blp.arguments(SubmitIn)
@blp.response(200, ApplicationDetail)
@roles("applicant")
def submit(body: dict[str, Any], application_id: str) -> Application:
    """Check everything, freeze the current versions (retention) and route the packet."""
    ctx = service_context()
    who = current_principal()
    routing.submit_packet(ctx.db, ctx.store, ctx.calendar, ctx.outbox, ctx.audit, who,
                          application_id, body, units(), ctx.settings.intake_retention_days)
    with ctx.db.reader() as session:
        return _load_detail(session, application_id)


@blp.post("/applications/<application_id>/recommend")
@blp.arguments(OpinionIn)
@blp.response(200, ApplicationDetail)
@roles("recommender")
def recommend(body: dict[str, Any], application_id: str) -> Application:
    ctx = service_context()
    with ctx.db.session() as session:
        app = domain.get_application(session, current_principal(), application_id, lock=True)
        routing.recommend(session, ctx.outbox, ctx.audit, current_principal(), app,
                          body["opinion"], body.get("government_reference"))
        session.flush()
        return _load_detail(session, application_id)


@blp.post("/applications/<application_id>/return")
@blp.arguments(ReasonsIn)
@blp.response(200, ApplicationDetail)
@roles("recommender", "operator")
def send_back(body: dict[str, Any], application_id: str) -> Application:
    """Return the packet to the applicant with reasons; it can be fixed and resubmitted."""
    ctx = service_context()
    with ctx.db.session() as session:
        app = domain.get_application(session, current_principal(), application_id, lock=True)
        routing.send_back(session, ctx.outbox, ctx.audit, current_principal(), app,
                          body["reasons"])
        session.flush()
        return _load_detail(session, application_id)


@blp.post("/applications/<application_id>/accept")
@blp.response(200, ApplicationDetail)
@roles("operator")
def accept(application_id: str) -> Application:
    ctx = service_context()
    with ctx.db.session() as session:
        app = domain.get_application(session, current_principal(), application_id, lock=True)
        routing.accept(session, ctx.outbox, ctx.audit, current_principal(), app)
        session.flush()
        return _load_detail(session, application_id)


@blp.post("/applications/<application_id>/reject")
@blp.arguments(ReasonsIn)
@blp.response(200, ApplicationDetail)
@roles("operator")
def reject(body: dict[str, Any], application_id: str) -> Application:
    ctx = service_context()
    with ctx.db.session() as session:
        app = domain.get_application(session, current_principal(), application_id, lock=True)
        routing.reject(session, ctx.outbox, ctx.audit, current_principal(), app,
                       body["reasons"])
        session.flush()
        return _load_detail(session, application_id)


# -- material ---------------------------------------------------------------------------------

@blp.post("/applications/<application_id>/documents")
@blp.arguments(UploadQuery, location="query")
@blp.response(201, VersionOut)
@blp.alt_response(200, schema=VersionOut, description="Replay of an Idempotency-Key")
@roles("applicant")
def upload_document(query: dict[str, Any], application_id: str) -> Any:
    """Upload one file: `multipart/form-data` (fields before the file) or the raw file body.

    A raw body names the file in `?filename=` or `Content-Disposition`. Fields `requirement`,
    `confidentiality` (public | internal | trade-secret), `secret_pages` (e.g. `1-3,7`) and
    `document_id` (to upload a new version of that document) come from the form or the query
    string. An `Idempotency-Key` header makes a retried upload return the first result instead
    of storing a second version.
    """
    ctx = service_context()
    request.max_content_length = ctx.settings.max_upload_bytes + 1024 * 1024
    version, recorded = material.upload_file(
        ctx.db, ctx.store, ctx.outbox, ctx.audit, current_principal(), application_id,
        lambda limit: _incoming_file(query, limit), max_file=ctx.settings.max_upload_bytes,
        packet=ctx.settings.intake_max_packet_bytes,
        idempotency_key=request.headers.get("Idempotency-Key", "").strip() or None)
    return version, 201 if recorded else 200


@blp.post("/applications/<application_id>/documents/batch")
@blp.arguments(UploadQuery, location="query")
@blp.response(201, BatchOut)
@blp.alt_response(200, schema=BatchOut, description="Replay of an Idempotency-Key")
@roles("applicant")
def upload_documents(query: dict[str, Any], application_id: str) -> Any:
    """Upload many files in one `multipart/form-data` request: all recorded, or none.

    Each file part takes the fields sent before it since the previous file (`requirement`,
    `confidentiality`, `secret_pages`, `document_id`, as for one upload); the query string may
    give `requirement`, `confidentiality` and `secret_pages` for every file. Every file is
    checked as a single upload is and against the cycle's requirement list; if any fails,
    nothing is recorded or kept and 422 `upload.batch_refused` lists each refused file in
    `errors` (`index` from 0, `filename`, `code`, `messages`). At most
    DOSSIER_INTAKE_BATCH_MAX_FILES files and DOSSIER_INTAKE_BATCH_MAX_BYTES bytes together
    (413 `upload.batch_too_many_files` / `upload.batch_too_large`). An `Idempotency-Key`
    header makes a retried batch return the first result.
    """
    ctx = service_context()
    settings = ctx.settings
    limits = batch_upload.BatchLimits(
        max_files=settings.intake_batch_max_files, max_bytes=settings.intake_batch_max_bytes,
        max_file=settings.max_upload_bytes, packet=settings.intake_max_packet_bytes)
    # Room for the parts' headers and fields beside the files' bytes.
    body_limit = limits.max_bytes + (limits.max_files + 1) * 64 * 1024
    if request.content_length is not None and request.content_length > body_limit:
        raise batch_upload.BatchTooLarge(limit=limits.max_bytes)
    request.max_content_length = body_limit
    boundary = request.mimetype_params.get("boundary")
    if request.mimetype != "multipart/form-data":
        raise DossierError("http.unsupported_media_type", detail="send multipart/form-data")
    if not boundary:
        raise MalformedUpload(why="multipart body without a boundary")
    files = multipart_files(request.stream, boundary, limits.max_file, limits.max_files,
                            expected=request.content_length)
    versions, recorded = batch_upload.upload_batch(
        ctx.db, ctx.store, ctx.outbox, ctx.audit, current_principal(), application_id, files,
        limits, defaults=query,
        idempotency_key=request.headers.get("Idempotency-Key", "").strip() or None)
    return {"versions": versions}, 201 if recorded else 200


@blp.patch("/applications/<application_id>/documents/<document_id>")
@blp.arguments(ConfidentialityIn)
@blp.response(200, VersionOut)
@roles("applicant")
def set_confidentiality(body: dict[str, Any], application_id: str, document_id: str) -> Any:
    """Change a document's confidentiality and trade-secret pages until submission."""
    ctx = service_context()
    who = current_principal()
    pages = material.parse_pages(body.get("secret_pages"))
    return material.set_confidentiality(ctx.db, ctx.store, ctx.audit, who, application_id,
                                        document_id, body["confidentiality"], pages)


@blp.delete("/applications/<application_id>/documents/<document_id>")
@blp.response(204)
@roles("applicant")
def delete_document(application_id: str, document_id: str) -> None:
    """Delete a document and all its versions; only while the application is a draft."""
    ctx = service_context()
    who = current_principal()
    material.delete_document(ctx.db, ctx.store, ctx.outbox, ctx.audit, who, application_id,
                             document_id)


def _incoming_file(query: dict[str, Any], limit: int) -> IncomingFile:
    names = ("requirement", "confidentiality", "secret_pages", "document_id")
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        boundary = request.mimetype_params.get("boundary")
        if not boundary:
            raise MalformedUpload(why="multipart body without a boundary")
        incoming = multipart_upload(request.stream, boundary, limit,
                                    expected=request.content_length)
        for name in names:
            if name in query and name not in incoming.fields:
                incoming.fields[name] = query[name]
        return incoming
    if not mimetype or mimetype.startswith(("application/x-www-form-urlencoded", "text/")):
        raise DossierError("http.unsupported_media_type",
                           detail="send multipart/form-data or the file body itself")
    # The name comes from the query or, as for any HTTP body, Content-Disposition (RFC 6266,
    # with filename*=UTF-8'' for Chinese names).
    disposition = parse_options_header(request.headers.get("Content-Disposition", ""))[1]
    filename = query.get("filename") or disposition.get("filename", "")
    fields = {k: v for k, v in query.items() if k in names}
    return raw_upload(request.stream, filename, mimetype, fields, limit,
                      expected=request.content_length)
