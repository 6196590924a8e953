"""From draft to the acceptance list: publicity, submission and freezing, the recommender's and
the operator's decisions. Every transition is recorded, audited and announced as an event."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.applications import (
    REQUIRED_FOR_SUBMISSION,
    check_eligibility,
    ensure_editable,
    get_application,
    now,
    record,
    today,
)
from services.intake.cycles import ensure_accepting, get_cycle
from services.intake.models import AcceptanceList, Application, Document, DocumentVersion
from services.intake.units import UnitList
from shared.audit import AuditLog
from shared.auth import Principal
from shared.db import Database
from shared.errors import Conflict, DossierError
from shared.events import Outbox
from shared.storage import ObjectStore
from shared.web.nav import N_
from shared.workdays import CalendarYearUnknown, WorkCalendar

MIN_REASON = 4  # "已在报刊公示" is 6: a reason is a sentence fragment, not a tick
# An English msgid: the page shows it translated next to the reason field.
PAST_NEEDS_REASON = N_("A start in the past needs a reason.")

PUBLICITY_WORKDAYS = 5  # Art. 13 (internal) and Art. 15/17 (lists): at least 5 working days


class CalendarUnknown(DossierError):
    code = "calendar.year_unknown"
    status = 422
    zh = "工作日历未包含 {year} 年，无法计算公示期；请管理员补充该年度的节假日安排。"
    en = "The working-day calendar does not cover {year}; an administrator must add that year."


def workdays(calendar: WorkCalendar, start: date, end: date) -> int:
    try:
        return calendar.workdays_between(start, end)
    except CalendarYearUnknown as exc:
        raise CalendarUnknown(year=exc.year) from exc


def publicity_end(calendar: WorkCalendar, start: date) -> date:
    try:
        return calendar.publicity_end(start, PUBLICITY_WORKDAYS)
    except CalendarYearUnknown as exc:
        raise CalendarUnknown(year=exc.year) from exc


def too_short(counted: int) -> DossierError:
    return DossierError("publicity.too_short", status=422,
                        zh="公示期至少 5 个工作日（所填期间仅 {days} 个工作日）。",
                        en="Publicity needs at least 5 working days (the period has {days}).",
                        days=counted)


def record_publicity(session: Session, calendar: WorkCalendar, audit: AuditLog, who: Principal,
                     app: Application, starts_on: date, ends_on: date,
                     document_id: str) -> Application:
    """The internal publicity (Art. 13): dates and the proof document already uploaded."""
    ensure_editable(app)
    document = session.get(Document, document_id)
    if document is None or document.application_id != app.id:
        raise DossierError("publicity.document_unknown", status=422,
                           zh="公示证明须为本申报中已上传的文件。",
                           en="The publicity proof must be a document of this application.")
    counted = workdays(calendar, starts_on, ends_on)
    if counted < PUBLICITY_WORKDAYS:
        raise too_short(counted)
    app.publicity_starts_on, app.publicity_ends_on = starts_on, ends_on
    app.publicity_document_id = document_id
    app.updated_at = now()
    audit.append(session, actor=who.subject, role=who.role, action="application.publicity",
                 target=f"application:{app.id}",
                 detail={"starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
                         "workdays": counted})
    return app


def current_versions(session: Session, application_id: str) -> list[DocumentVersion]:
    documents = session.execute(select(Document).where(
        Document.application_id == application_id).order_by(Document.created_at)).scalars()
    return [d.versions[-1] for d in documents if d.versions]


def manifest(session: Session, application_id: str) -> list[dict[str, Any]]:
    return [{"document_id": v.document_id, "requirement": v.document.requirement,
             "version_id": v.id, "number": v.number, "filename": v.filename,
             "object_key": v.object_key, "object_version": v.object_version,
             "sha256": v.sha256, "size": v.size, "content_type": v.content_type,
             "confidentiality": v.confidentiality, "secret_pages": v.secret_pages or [],
             # Documents' count (`document.inspected`): review shows and limits pages by it
             # instead of parsing the file again.
             "pages": (v.inspection or {}).get("pages")}
            for v in current_versions(session, application_id)]


def route_for(app: Application, units: UnitList, route: str, unit: str | None) -> str:
    """The unit a packet goes to: the applicant's county, or the industry authority chosen."""
    if route == "county":
        if not app.county:
            raise DossierError("submission.county_missing", status=422,
                               zh="请先填写所在县（市、区），或选择市级行业主管部门推荐。",
                               en="Give the county or district first, or choose a city "
                                  "industry authority.")
        return app.county
    chosen = units.get(unit)
    if chosen is None or chosen.route != "industry":
        raise DossierError("submission.industry_unknown", status=422,
                           zh="请选择名录中的市级行业主管部门。",
                           en="Choose a city industry authority from the list of units.")
    return chosen.code


def check_submittable(session: Session, calendar: WorkCalendar, app: Application,
                      attestations: dict[str, bool]) -> None:
    """Everything a packet needs before it may leave the applicant, each with its own code."""
    ensure_editable(app)
    cycle = get_cycle(session, app.cycle)
    if app.submission == 0:
        # A packet returned for fixes may come back after the window closed: the return was
        # the regulator's decision, not the applicant's delay.
        ensure_accepting(cycle, today(), check_window=True)
    missing = [f for f in REQUIRED_FOR_SUBMISSION[app.kind] if getattr(app, f) in (None, "")]
    if missing:
        raise DossierError("application.profile_incomplete", status=422,
                           zh="申报者信息不完整：{fields}。",
                           en="The applicant's details are incomplete: {fields}.",
                           fields=", ".join(m.replace("_cipher", "") for m in missing),
                           errors={m.replace("_cipher", ""): ["required"] for m in missing})
    check_eligibility(session, app, cycle, complete=True)
    if not attestations.get("attest_no_state_secrets"):
        raise DossierError("submission.state_secret_attestation", status=422,
                           zh="须承诺申报材料不涉及国家秘密。",
                           en="You must attest that the packet holds no state secrets.")
    if not attestations.get("attest_authentic"):
        raise DossierError("submission.authenticity_attestation", status=422,
                           zh="须承诺申报材料真实、准确、完整。",
                           en="You must attest that the material is true, accurate and "
                              "complete.")
    if app.publicity_ends_on is None or app.publicity_document_id is None:
        raise DossierError("submission.publicity_missing", status=422,
                           zh="请先登记单位内部公示的起止日期和公示证明。",
                           en="Record the internal publicity (dates and proof) first.")
    if app.publicity_ends_on >= today():
        raise DossierError("submission.publicity_running", status=422,
                           zh="内部公示期（至 {ends}）结束后方可提交。",
                           en="The internal publicity runs until {ends}; submit after it.",
                           ends=app.publicity_ends_on.isoformat())
    if not current_versions(session, app.id):
        raise DossierError("submission.no_documents", status=422,
                           zh="申报材料为空，请先上传材料。",
                           en="The packet holds no documents yet.")


def unfrozen_versions(session: Session, app: Application) -> list[DocumentVersion]:
    return [v for v in current_versions(session, app.id) if v.frozen_until is None]


def freeze(store: ObjectStore, versions: list[DocumentVersion], retention_days: int) -> None:
    """Compliance retention on these versions: nobody can delete or alter them. Called with no
    transaction open (one S3 call per version)."""
    until = now() + timedelta(days=retention_days)
    for version in versions:
        store.retain(version.object_key, until, version.object_version, compliance=True)


def mark_frozen(session: Session, app: Application, retention_days: int) -> None:
    until = now() + timedelta(days=retention_days)
    for version in current_versions(session, app.id):
        if version.frozen_until is None:
            version.frozen_until = until


def submit(session: Session, outbox: Outbox, audit: AuditLog, who: Principal, app: Application,
           *, route: str, unit: str, attestations: dict[str, bool],
           retention_days: int) -> Application:
    before = app.status
    app.route, app.unit = route, unit
    app.attest_no_state_secrets = attestations["attest_no_state_secrets"]
    app.attest_authentic = attestations["attest_authentic"]
    app.submission += 1
    app.status = "submitted"
    app.submitted_at = app.updated_at = now()
    mark_frozen(session, app, retention_days)
    record(session, app, who, "submitted", before, "submitted")
    outbox.emit(session, "packet.submitted", {
        "application_id": app.id, "cycle": app.cycle, "kind": app.kind, "owner": app.owner,
        "applicant_name": app.name, "case_number": app.case_number, "unit": unit,
        "route": route,
        "submission": app.submission, "documents": manifest(session, app.id),
        "audience": [{"subject": app.owner}, {"role": "recommender", "unit": unit}]})
    audit.append(session, actor=who.subject, role=who.role, action="packet.submitted",
                 target=f"application:{app.id}",
                 detail={"route": route, "unit": unit, "submission": app.submission})
    return app


def submit_packet(db: Database, store: ObjectStore, calendar: WorkCalendar, outbox: Outbox,
                  audit: AuditLog, who: Principal, application_id: str, body: dict[str, Any],
                  units: UnitList, retention_days: int) -> None:
    """The whole submission as the API and the applicant's page make it: attestations given
    with it, every check, the route, freezing, the transition and its event.

    Read and check, freeze the objects with no transaction open (S3 calls), then check again
    and submit in one short writer transaction; a version uploaded in between is refused."""
    with db.reader() as session, session.no_autoflush:  # the reader never writes
        app = get_application(session, who, application_id)
        _check_submission(session, calendar, app, body, units)
        versions = unfrozen_versions(session, app)
    freeze(store, versions, retention_days)
    retained = {v.id for v in versions}

    def apply(session: Session) -> None:
        app = get_application(session, who, application_id, lock=True)
        unit = _check_submission(session, calendar, app, body, units)
        if any(v.id not in retained for v in unfrozen_versions(session, app)):
            raise Conflict("submission.changed",
                           zh="提交期间材料有变动，请刷新后重新提交。",
                           en="The material changed while submitting; reload and submit again.")
        submit(session, outbox, audit, who, app, route=body["route"], unit=unit,
               attestations=body, retention_days=retention_days)

    db.transact(apply)


def _check_submission(session: Session, calendar: WorkCalendar, app: Application,
                      body: dict[str, Any], units: UnitList) -> str:
    """Every check of a submission; the unit it is routed to."""
    ensure_editable(app)
    for name in ("attest_no_violation", "attest_no_accident"):
        if name in body:
            setattr(app, name, body[name])
    check_submittable(session, calendar, app, body)
    return route_for(app, units, body["route"], body.get("unit"))


def _expect(app: Application, *statuses: str) -> None:
    if app.status not in statuses:
        raise Conflict("application.wrong_status",
                       zh="当前状态（{state}）下不能执行此操作。",
                       en="Not possible while the application is {state}.", state=app.status)


def recommend(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
              app: Application, opinion: str,
              government_reference: str | None = None) -> Application:
    _expect(app, "submitted")
    if app.route == "county" and not government_reference:
        # Art. 14: on the county route the county government (or the zone's or scenic area's
        # committee) recommends; the regulator's account records that document.
        raise DossierError("recommendation.government_missing", status=422,
                           zh="县级推荐须附县（市、区）人民政府或管委会的推荐文件文号。",
                           en="On the county route, give the reference of the county "
                              "government's (or committee's) recommendation.")
    app.government_reference = government_reference
    app.status, app.opinion, app.updated_at = "recommended", opinion, now()
    record(session, app, who, "recommended", "submitted", "recommended", opinion)
    outbox.emit(session, "packet.recommended", {
        "application_id": app.id, "cycle": app.cycle, "owner": app.owner,
        "applicant_name": app.name, "case_number": app.case_number, "unit": app.unit or "",
        "opinion": opinion,
        "government_reference": government_reference,
        "audience": [{"subject": app.owner}, {"role": "operator"}]})
    audit.append(session, actor=who.subject, role=who.role, action="packet.recommended",
                 target=f"application:{app.id}",
                 detail={"opinion": opinion, "government_reference": government_reference})
    return app


def send_back(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
              app: Application, reasons: list[str]) -> Application:
    """Return for fixes: by the recommender (submitted) or the operator (recommended)."""
    stage = "recommender" if who.role == "recommender" else "operator"
    _expect(app, "submitted" if stage == "recommender" else "recommended")
    before = app.status
    app.status, app.updated_at = "returned", now()
    record(session, app, who, "returned", before, "returned", "\n".join(reasons))
    # Only the applicant has something to do; the recommender hears of the packet again when
    # it is resubmitted (`packet.submitted`), which is when they must act.
    audience: list[dict[str, str]] = [{"subject": app.owner}]
    outbox.emit(session, "packet.returned", {
        "application_id": app.id, "cycle": app.cycle, "owner": app.owner,
        "applicant_name": app.name, "case_number": app.case_number, "unit": app.unit or "",
        "stage": stage,
        "reasons": reasons, "audience": audience})
    audit.append(session, actor=who.subject, role=who.role, action="packet.returned",
                 target=f"application:{app.id}", detail={"stage": stage, "reasons": reasons})
    return app


def profile(app: Application) -> dict[str, Any]:
    return {"applicant_id": app.owner, "kind": app.kind, "name": app.name,
            "credit_code": app.credit_code, "county": app.county, "industry": app.industry,
            "legal_representative": app.legal_representative, "employer": app.employer,
            "employer_credit_code": app.employer_credit_code, "related": app.related or [],
            # The blind index, never the number: review hands it back in `award.decided`, so
            # an individual winner's ban can be matched here without the number leaving intake.
            "id_index": app.id_index}


def accept(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
           app: Application) -> Application:
    _expect(app, "recommended")
    app.status, app.updated_at = "accepted", now()
    record(session, app, who, "accepted", "recommended", "accepted")
    outbox.emit(session, "packet.accepted", {
        "application_id": app.id, "cycle": app.cycle, "kind": app.kind, "owner": app.owner,
        "applicant": profile(app), "unit": app.unit or "", "case_number": app.case_number,
        "documents": manifest(session, app.id),
        "audience": [{"subject": app.owner}, {"role": "recommender", "unit": app.unit or ""}]})
    audit.append(session, actor=who.subject, role=who.role, action="packet.accepted",
                 target=f"application:{app.id}", detail={})
    return app


def reject(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
           app: Application, reasons: list[str]) -> Application:
    _expect(app, "recommended")
    app.status, app.updated_at = "rejected", now()
    record(session, app, who, "rejected", "recommended", "rejected", "\n".join(reasons))
    outbox.emit(session, "packet.rejected", {
        "application_id": app.id, "cycle": app.cycle, "owner": app.owner,
        "applicant_name": app.name, "case_number": app.case_number, "reasons": reasons,
        "audience": [{"subject": app.owner}, {"role": "recommender", "unit": app.unit or ""}]})
    audit.append(session, actor=who.subject, role=who.role, action="packet.rejected",
                 target=f"application:{app.id}", detail={"reasons": reasons})
    return app


def publish_acceptance(session: Session, calendar: WorkCalendar, outbox: Outbox,
                       audit: AuditLog, who: Principal, cycle_id: str, starts_on: date,
                       ends_on: date | None, reason: str | None = None) -> AcceptanceList:
    """The acceptance list (Art. 15): every accepted packet of the cycle, publicised. A start
    before today would cut the window people have to object: it needs a recorded reason (say,
    the list already ran in the press), kept on the list and in the audit."""
    get_cycle(session, cycle_id)
    if ends_on is None:
        ends_on = publicity_end(calendar, starts_on)
    counted = workdays(calendar, starts_on, ends_on)
    if counted < PUBLICITY_WORKDAYS:
        raise too_short(counted)
    reason = (reason or "").strip() or None
    if starts_on < today() and (reason is None or len(reason) < MIN_REASON):
        over = ends_on < today()
        raise DossierError(
            "list.start_in_past", status=409,
            zh="公示开始日期 {start} 早于今天，公示期将于 {ends} 结束{closed}。如确已通过其他渠道"
               "公示（例如已在报刊公示），请填写理由后确认；理由将记入审计日志并在名单上注明。",
            en="The publicity would start on {start}, before today, and end on {ends}"
               "{closed_en}. If it was already published elsewhere (in the press, say), give "
               "the reason and confirm; the reason is audited and shown with the list.",
            errors={"reason": [PAST_NEEDS_REASON]}, start=starts_on.isoformat(),
            ends=ends_on.isoformat(), closed="，即已结束，异议将无法提出" if over else "",
            closed_en=", that is already over, leaving no time for objections" if over else "")
    accepted = session.execute(select(Application).where(
        Application.cycle == cycle_id, Application.status == "accepted")
        .order_by(Application.name)).scalars().all()
    if not accepted:
        raise Conflict("acceptance.empty", zh="本届尚无已受理的申报，无法发布受理名单。",
                       en="No accepted application in this cycle: nothing to publish.")
    entries = [{"application_id": a.id, "applicant_name": a.name, "kind": a.kind,
                "unit": a.unit or "", "case_number": a.case_number} for a in accepted]
    listing = AcceptanceList(id=str(uuid.uuid4()), cycle=cycle_id, starts_on=starts_on,
                             ends_on=ends_on, entries=entries, published_by=who.subject,
                             published_at=now(),
                             deviation_reason=reason if starts_on < today() else None)
    session.add(listing)
    session.flush()
    outbox.emit(session, "acceptance.published", {
        "list_id": listing.id, "cycle": cycle_id, "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(), "entries": entries,
        "reason": listing.deviation_reason,
        "audience": [{"role": "operator"}, *({"subject": a.owner} for a in accepted)]})
    audit.append(session, actor=who.subject, role=who.role, action="acceptance.published",
                 target=f"acceptance-list:{listing.id}",
                 detail={"cycle": cycle_id, "entries": len(entries),
                         **({"reason": listing.deviation_reason}
                            if listing.deviation_reason else {})})
    return listing
