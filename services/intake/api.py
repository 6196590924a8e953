"""Intake's HTTP API: thin views over the domain modules."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.http import parse_options_header

from services.intake import accounts, cycles, material, outcomes, routing
from services.intake import applications as domain
from services.intake import units as unit_list
from services.intake.models import (
    AcceptanceList,
    Account,
    Application,
    Cycle,
    Document,
    RecommendingUnit,
    RequirementList,
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
    UploadTooLarge,
    multipart_upload,
    raw_upload,
)
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
@roles(*EVERYONE)
def get_cycle_requirements(cycle_id: str) -> RequirementList:
    """The cycle's requirement list (`requirements.published` from documents); 404 until it
    has arrived."""
    with service_context().db.reader() as session:
        cycles.get_cycle(session, cycle_id)
        found = session.get(RequirementList, cycle_id)
        if found is None:
            raise DossierError("cycle.requirements_pending", status=404,
                               zh="材料目录尚未由材料服务发布。",
                               en="The documents service has not announced this cycle's "
                                  "requirements yet.")
        return found


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
    return app


@blp.get("/applications/<application_id>")
@blp.response(200, ApplicationDetail)
@roles(*READERS)
def get_application(application_id: str) -> Application:
    ctx = service_context()
    who = current_principal()
    if who.role == "applicant":
        with ctx.db.reader() as session:
            return _load_detail(session, application_id)
    # Someone other than the owner opened a packet: that access is on the record.
    with ctx.db.session() as session:
        app = _load_detail(session, application_id)
        ctx.audit.append(session, actor=who.subject, role=who.role, action="application.viewed",
                         target=f"application:{app.id}", detail={})
        return app


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
    who = current_principal()
    key = request.headers.get("Idempotency-Key", "").strip() or None
    with ctx.db.reader() as session:
        app = domain.get_application(session, who, application_id)
        if key:
            # A retry answers with the first result even if the packet has moved on since.
            replay = material.find_by_idempotency_key(session, app.id, key)
            if replay is not None:
                return replay, 200
        domain.ensure_editable(app)
        used = material.packet_size(session, app.id)
    packet_limit = ctx.settings.intake_max_packet_bytes
    limit = max(0, min(ctx.settings.max_upload_bytes, packet_limit - used))
    request.max_content_length = ctx.settings.max_upload_bytes + 1024 * 1024
    incoming = _incoming_file(query, limit)
    requirement, confidentiality, pages, document_id = material.validate_fields(incoming.fields)
    try:
        with ctx.db.reader() as session:
            slot = material.choose_slot(session, app, requirement, document_id)
        stored = material.stream_to_store(ctx.store, app, slot, incoming, confidentiality,
                                          requirement, pages)
    except UploadTooLarge:
        if limit < ctx.settings.max_upload_bytes:
            raise material.PacketTooLarge(limit=packet_limit) from None
        raise
    finally:
        incoming.reader.close()
    version, recorded = material.save_version(
        ctx.db, ctx.store, ctx.outbox, ctx.audit, who, application_id, slot=slot,
        requirement=requirement, confidentiality=confidentiality, pages=pages,
        filename=incoming.filename, stored=stored, idempotency_key=key)
    if not recorded:
        return version, 200
    return version


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
