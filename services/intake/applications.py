"""Applications and the applicant's details: plain functions over a session, no Flask, no Celery."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session

from services.intake import case_numbers, eligibility
from services.intake.accounts import jurisdiction
from services.intake.cycles import CycleUnknown, ensure_accepting, get_cycle, programme_years
from services.intake.identifiers import (
    is_valid_id_number,
    is_valid_uscc,
    normalise_id_number,
    normalise_uscc,
)
from services.intake.models import Application, AwardRecord, Cycle, Transition, Waiver
from services.intake.units import UnitList
from shared import clock
from shared.audit import AuditLog
from shared.auth import Principal
from shared.crypto import FieldCipher, mask
from shared.errors import Concealed, Conflict, DossierError, NotFound

KINDS = ("organisation", "individual")
EDITABLE = ("draft", "returned")
STAFF_ALL = ("operator", "supervisor", "admin")
ID_PURPOSE = "intake.id_number"
INDEX_PURPOSE = "person.id_number"  # shared by every service that matches people
PROFILE_FIELDS = ("name", "credit_code", "county", "industry", "founded_on",
                  "legal_representative", "employer", "employer_credit_code", "quality_years",
                  "attest_no_violation", "attest_no_accident", "related")
REQUIRED_FOR_SUBMISSION = {
    "organisation": ("credit_code", "county", "industry", "legal_representative"),
    "individual": ("id_number_cipher", "employer", "quality_years"),
}


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """The office's today (shared/clock: Beijing time unless configured)."""
    return clock.today()


class Identities:
    """Encryption and blind index of identity numbers, from the data key."""

    def __init__(self, field_key: str) -> None:
        self.cipher = FieldCipher(field_key, ID_PURPOSE)
        self.index = FieldCipher(field_key, INDEX_PURPOSE)


def create_application(session: Session, audit: AuditLog, who: Principal, ids: Identities,
                       units: UnitList, *, cycle: str, kind: str, name: str,
                       **profile: Any) -> Application:
    the_cycle = get_cycle(session, cycle, missing=CycleUnknown)
    ensure_accepting(the_cycle, today(), check_window=False)
    app = Application(id=str(uuid.uuid4()), owner=who.subject, cycle=cycle, kind=kind,
                      name=name, status="draft", submission=0, flagged=False,
                      created_at=now(), updated_at=now())
    apply_profile(app, units, ids, {"name": name, **profile})
    ensure_unique(session, app)
    check_eligibility(session, app, the_cycle, complete=False)
    # Numbered only once every check passed, so a refused application spends no number.
    app.case_number = case_numbers.assign(session, cycle)
    session.add(app)
    session.flush()
    record(session, app, who, "created", "draft", "draft")
    audit.append(session, actor=who.subject, role=who.role, action="application.created",
                 target=f"application:{app.id}",
                 detail={"cycle": cycle, "kind": kind, "case_number": app.case_number})
    return app


def update_profile(session: Session, audit: AuditLog, who: Principal, ids: Identities,
                   units: UnitList, app: Application, fields: dict[str, Any]) -> Application:
    ensure_editable(app)
    apply_profile(app, units, ids, fields)
    ensure_unique(session, app)
    check_eligibility(session, app, get_cycle(session, app.cycle), complete=False)
    app.updated_at = now()
    audit.append(session, actor=who.subject, role=who.role, action="application.updated",
                 target=f"application:{app.id}", detail={"fields": sorted(fields)})
    return app


def apply_profile(app: Application, units: UnitList, ids: Identities,
                  fields: dict[str, Any]) -> None:
    """Validate and copy the applicant's details; identity numbers only encrypted."""
    errors: dict[str, list[str]] = {}
    for name in ("credit_code", "employer_credit_code"):
        value = fields.get(name)
        if value:
            fields[name] = normalise_uscc(value)
            if not is_valid_uscc(fields[name]):
                raise DossierError(
                    "applicant.credit_code_invalid", status=422,
                    zh="统一社会信用代码 {value} 无效（格式或校验位不符合 GB 32100）。",
                    en="Unified social credit code {value} is invalid (format or check "
                       "character, GB 32100).", value=value, errors={name: ["invalid"]})
    for entry in fields.get("related") or []:
        if entry.get("credit_code"):
            entry["credit_code"] = normalise_uscc(entry["credit_code"])
            if not is_valid_uscc(entry["credit_code"]):
                raise DossierError(
                    "applicant.credit_code_invalid", status=422,
                    zh="统一社会信用代码 {value} 无效（格式或校验位不符合 GB 32100）。",
                    en="Unified social credit code {value} is invalid (format or check "
                       "character, GB 32100).", value=entry["credit_code"],
                    errors={"related": ["invalid credit code"]})
    if fields.get("county") and ((county := units.get(fields["county"])) is None
                                 or county.route != "county"):
        raise DossierError("applicant.county_unknown", status=422,
                           zh="所在县（市、区）代码 {county} 不在名录中。",
                           en="County or district {county} is not in the list of units.",
                           county=fields["county"])
    if app.kind == "organisation":
        for name in ("id_number", "employer", "employer_credit_code", "quality_years"):
            if fields.get(name) is not None:
                errors[name] = ["only for individual applicants"]
    else:
        for name in ("credit_code", "founded_on", "legal_representative",
                     "attest_no_accident"):
            if fields.get(name) is not None:
                errors[name] = ["only for organisation applicants"]
    if errors:
        raise DossierError("validation.failed", errors=errors)
    number = fields.pop("id_number", None)
    if number:
        number = normalise_id_number(number)
        if not is_valid_id_number(number):
            raise DossierError("applicant.id_number_invalid", status=422,
                               zh="身份证号码无效（出生日期或校验位不符合 GB 11643）。",
                               en="The identity number is invalid (birth date or check digit, "
                                  "GB 11643).")
        app.id_number_cipher = ids.cipher.encrypt(number)
        app.id_index = ids.index.blind_index(number)
        app.id_masked = mask(number)
    for name in PROFILE_FIELDS:
        if name in fields:
            setattr(app, name, fields[name])


def ensure_unique(session: Session, app: Application) -> None:
    """One application per organisation (credit code) or person (identity) per cycle."""
    query = select(Application.id).where(Application.cycle == app.cycle,
                                         Application.id != app.id)
    if app.credit_code:
        query = query.where(Application.credit_code == app.credit_code)
    elif app.id_index:
        query = query.where(Application.id_index == app.id_index)
    else:
        return
    if session.execute(query.limit(1)).first():
        raise Conflict("application.duplicate",
                       zh="该申报者在本届已有申报，请勿重复申报。",
                       en="This applicant already has an application in this cycle.")


def candidate(app: Application) -> eligibility.Candidate:
    return eligibility.Candidate(
        kind=app.kind, founded_on=app.founded_on, quality_years=app.quality_years,
        attest_no_violation=app.attest_no_violation, attest_no_accident=app.attest_no_accident,
        waiver=bool(app.waiver_reference))


def apply_waiver(session: Session, app: Application) -> None:
    """Copy the cycle's waiver for this organisation (if any) onto the application."""
    waiver = None
    if app.kind == "organisation" and app.credit_code:
        waiver = session.execute(select(Waiver).where(
            Waiver.cycle == app.cycle, Waiver.credit_code == app.credit_code)
        ).scalar_one_or_none()
    app.waiver_reference = waiver.reference if waiver else None
    app.waiver_by = waiver.recorded_by if waiver else None


def past_results(session: Session, app: Application, programme: str
                 ) -> list[eligibility.PastResult]:
    keys = []
    if app.credit_code:
        keys.append(AwardRecord.credit_code == app.credit_code)
    if app.id_index:
        keys.append(AwardRecord.id_index == app.id_index)
    if not keys:
        return []
    rows = list(session.execute(select(AwardRecord).where(
        or_(*keys), or_(AwardRecord.programme == programme, AwardRecord.programme.is_(None)))
    ).scalars())
    titles = dict(session.execute(select(Cycle.id, Cycle.title).where(
        Cycle.id.in_([r.cycle for r in rows]))).all())
    return [eligibility.PastResult(year=r.year, tier=r.tier, revoked_year=r.revoked_year,
                                   record=_cite_zh(r, titles.get(r.cycle)),
                                   record_en=_cite_en(r, titles.get(r.cycle)))
            for r in rows]


def _cite_zh(row: AwardRecord, title: str | None) -> str:
    """The record behind a ban, in the words of the office: which award, when, from where."""
    who = "该单位" if row.kind == "organisation" else "该申报人"
    what = row.cycle_title or title or f"{row.year} 年度评选"
    won = "提名" if row.tier == "nomination" else "获"
    origin = f"历史记录导入：{row.source}" if row.source else "本系统评审结果"
    if row.revoked_year is None:
        return f"{who}曾{won}{what}（{row.year} 年，{origin}）"
    when = row.revoked_on.isoformat() if row.revoked_on else f"{row.revoked_year} 年"
    why = f"因“{row.ground}”" if row.ground else ""
    return f"{who}曾{won}{what}（{row.year} 年），{when}{why}被撤销（{origin}）"


def _cite_en(row: AwardRecord, title: str | None) -> str:
    what = row.cycle_title or title or f"the {row.year} cycle"
    origin = f"imported history: {row.source}" if row.source else "decided in this system"
    if row.revoked_year is None:
        return f"{row.tier} in {what} ({row.year}, {origin})"
    return f"award in {what} ({row.year}) revoked in {row.revoked_year} ({origin})"


def _context(session: Session, app: Application, cycle: Cycle) -> eligibility.Context:
    # Operating years are counted to the cycle's application deadline, not to the day of the
    # check: a cycle replayed on any day gives the same verdict. Imported history names cycles
    # held before this installation: they count among the "next two (three) cycles" as much
    # as the cycles set up here.
    years = {*programme_years(session, cycle.programme), *session.execute(
        select(AwardRecord.year).where(AwardRecord.programme == cycle.programme)).scalars()}
    return eligibility.Context(on=cycle.closes_on, cycle_year=cycle.year,
                               programme_years=sorted(years),
                               history=past_results(session, app, cycle.programme))


def check_eligibility(session: Session, app: Application, cycle: Cycle, *,
                      complete: bool) -> None:
    apply_waiver(session, app)
    eligibility.ensure_eligible(candidate(app), _context(session, app, cycle), complete=complete)


def eligibility_verdict(session: Session, app: Application) -> dict[str, Any]:
    """The application's eligibility as the cycle's dates stand now (judged again on every
    read, so a moved deadline moves it), with the date it was counted to. Read-only: the
    waiver is looked up, not copied onto the application."""
    cycle = get_cycle(session, app.cycle)
    waiver = app.kind == "organisation" and app.credit_code is not None and session.execute(
        select(Waiver.cycle).where(Waiver.cycle == app.cycle,
                                   Waiver.credit_code == app.credit_code)).first() is not None
    failures = eligibility.check(replace(candidate(app), waiver=waiver),
                                 _context(session, app, cycle),
                                 complete=app.status not in EDITABLE)
    day = cycle.closes_on.isoformat()
    return {"eligible": not failures, "counted_to": day,
            "basis": {"zh-CN": f"按申报截止日 {day} 计算",
                      "en": f"counted to the application deadline {day}"},
            "failures": eligibility.described(failures)}


def visible_applications(session: Session, who: Principal) -> Select[Application]:
    """Applicants: their own; recommenders: their unit's routed packets; staff: all."""
    query = select(Application).order_by(Application.created_at.desc())
    if who.role == "applicant":
        return query.where(Application.owner == who.subject)
    if who.role == "recommender":
        return query.where(Application.unit == jurisdiction(session, who))
    if who.role in STAFF_ALL:
        return query
    return query.where(false())


def get_application(session: Session, who: Principal, application_id: str, *,
                    lock: bool = False) -> Application:
    """The application if `who` may see it; `lock` holds its row until the transaction ends,
    so two transitions of one packet (a double-clicked submit) run one after the other."""
    # A recommender's own account is checked first, so its refusal (403) says nothing about
    # whether this application exists.
    unit = jurisdiction(session, who) if who.role == "recommender" else None
    app = session.get(Application, application_id, with_for_update=lock or None)
    if app is None:
        raise NotFound(detail=f"application {application_id}")
    # Someone else's application, or one outside the recommender's unit, answers exactly like
    # a missing one (no existence leak); the attempt is audited as a denied access.
    if ((who.role == "applicant" and app.owner != who.subject)
            or (who.role == "recommender" and app.unit != unit)
            or who.role not in ("applicant", "recommender", *STAFF_ALL)):
        raise Concealed(f"application:{application_id}", detail=f"application {application_id}")
    return app


def ensure_editable(app: Application) -> None:
    if app.status not in EDITABLE:
        raise Conflict("application.not_draft", zh="申报已提交，材料不可再修改。",
                       en="The application has been submitted; its material is frozen.")


def record(session: Session, app: Application, who: Principal, action: str, before: str,
           after: str, note: str | None = None) -> None:
    session.add(Transition(application_id=app.id, at=now(), actor=who.subject, role=who.role,
                           action=action, from_status=before, to_status=after,
                           submission=app.submission, note=note))


def record_waiver(session: Session, audit: AuditLog, who: Principal, cycle: str,
                  credit_code: str, reference: str) -> Waiver:
    """The operator records the city government's relaxation of the operating years (the
    waiver page and the API come here)."""
    if not reference.strip() or len(reference) > 200:
        raise DossierError("validation.failed", errors={"reference": [
            "Enter the reference of the city government's document (at most 200 "
            "characters)."]})
    code = normalise_uscc(credit_code)
    if not is_valid_uscc(code):
        raise DossierError("applicant.credit_code_invalid", status=422,
                           zh="统一社会信用代码 {value} 无效（格式或校验位不符合 GB 32100）。",
                           en="Unified social credit code {value} is invalid (format or check "
                              "character, GB 32100).", value=credit_code,
                           errors={"credit_code": ["Not a valid unified social credit code."]})
    get_cycle(session, cycle)
    waiver = session.execute(select(Waiver).where(
        Waiver.cycle == cycle, Waiver.credit_code == code)).scalar_one_or_none()
    if waiver is None:
        waiver = Waiver(cycle=cycle, credit_code=code)
        session.add(waiver)
    waiver.reference = reference.strip()
    waiver.recorded_by, waiver.recorded_at = who.subject, now()
    session.flush()
    audit.append(session, actor=who.subject, role=who.role, action="waiver.recorded",
                 target=f"waiver:{cycle}:{code}", detail={"reference": reference})
    return waiver
