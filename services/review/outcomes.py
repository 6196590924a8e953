"""From scores to the final list: results, publicity lists, objections, opinions, decisions and
revocations. Functions take a session and plain values; no Flask or Celery here."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.review import bulk
from services.review.certificates import serial_for
from services.review.models import (
    Application,
    Assignment,
    Award,
    Cycle,
    Objection,
    Opinion,
    Panel,
    PublicList,
    Revocation,
    Score,
)
from services.review.programme import Programme
from services.review.registry import now
from services.review.scoring import Candidate, combined_score, rank, stage_score
from shared import clock
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import Conflict, DossierError, NotFound
from shared.events import Outbox
from shared.web.nav import N_
from shared.workdays import WorkCalendar

PUBLICITY_WORKDAYS = 5
# Departures from the order of the Measures that an operator may take only with a recorded
# reason (audited, shown on the list's notice). Everything else out of order is refused.
START_IN_PAST = "start_in_past"
ACCEPTANCE_RUNNING = "acceptance_running"
MIN_REASON = 4  # "已在报刊公示" is 6: a reason is a sentence fragment, not a tick
# English msgids: the page shows them translated next to the reason field.
PAST_NEEDS_REASON = N_("A start in the past needs a reason.")
EARLY_NEEDS_REASON = N_("Starting before the acceptance publicity ends needs a reason.")


def sector(application: Application) -> str:
    """`public` for public institutions and their staff, else `enterprise` (Art. 17).

    An explicit `sector` in the profile wins. Otherwise the unified social credit code tells:
    its first character is the registering authority, and `1` (机构编制) registers organs of
    state and public institutions (GB 32100). For an individual, their employer's code counts.
    """
    profile = application.profile or {}
    value = str(profile.get("sector") or "").lower()
    if value:
        return "public" if value in {"public", "public-institution", "government", "事业单位",
                                     "机关"} else "enterprise"
    code = profile.get("credit_code") if application.kind == "organisation" else \
        profile.get("employer_credit_code")
    return "public" if str(code or "").upper().startswith("1") else "enterprise"


def required_departments(programme: Programme, application: Application) -> list[str]:
    return list(programme.opinions(application.cycle)["required"][sector(application)])


# -- results ----------------------------------------------------------------------------------

def results(session: Session, programme: Programme, cycle: str) -> list[dict[str, Any]]:
    """Per application: stage scores (trimmed mean at ≥ 5 experts), combined score, rank, tier."""
    panels = list(session.scalars(select(Panel).where(Panel.cycle == cycle)))
    weights = {p.stage: p.weight for p in panels}
    stage_of = {p.id: p.stage for p in panels}
    totals: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    # Only scores of experts still serving count: a recusal after scoring withdraws the score.
    serving = set(session.execute(select(Assignment.panel_id, Assignment.application_id,
                                         Assignment.expert_id).where(
        Assignment.panel_id.in_(list(stage_of)), Assignment.status == "active")).all())
    for s in session.scalars(select(Score).where(Score.panel_id.in_(list(stage_of)))):
        if (s.panel_id, s.application_id, s.expert_id) in serving:
            totals[s.application_id][stage_of[s.panel_id]].append(s.total)
    apps = list(session.scalars(select(Application).where(Application.cycle == cycle)
                                .order_by(Application.id)))
    cyc = session.get(Cycle, cycle)
    caps = (cyc.caps if cyc else None) or {"awards": 3, "nominations": 10}
    rows, candidates = {}, []
    for app in apps:
        stages = {stage: stage_score(totals[app.id].get(stage, [])) for stage in weights}
        combined = combined_score(stages, weights)
        rubric = programme.rubric(app.kind, cycle)
        rows[app.id] = {"application_id": app.id, "applicant_name": app.applicant_name,
                        "kind": app.kind, "stages": stages, "score": combined,
                        "max": rubric.total, "experts": {k: len(v) for k, v in
                                                         totals[app.id].items()},
                        "rank": None, "tier": None, "note": "not fully scored"}
        if combined is not None:
            candidates.append(Candidate(app.id, combined, rubric.total, rubric.floors))
    for placed in rank(candidates, int(caps.get("awards", 3)), int(caps.get("nominations", 10))):
        rows[placed.application_id].update(rank=placed.rank, tier=placed.tier, note=placed.note)
    return sorted(rows.values(), key=lambda r: (r["rank"] is None, r["rank"] or 0,
                                                r["application_id"]))


# -- publicity --------------------------------------------------------------------------------

def open_objections(session: Session, list_id: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Objection).where(
        Objection.list_id == list_id, Objection.status == "open")) or 0)


def missing_opinions(session: Session, programme: Programme, application: Application
                     ) -> list[str]:
    have = {o.department for o in session.scalars(
        select(Opinion).where(Opinion.application_id == application.id))}
    return [d for d in required_departments(programme, application) if d not in have]


def publish_recommendation(session: Session, outbox: Outbox, audit: AuditLog,
                           calendar: WorkCalendar, programme: Programme, cycle: str,
                           starts_on: date | None, who: Principal, reason: str | None = None
                           ) -> PublicList:
    """Publish the award recommendation list for 5 working days (Art. 17), in the order of the
    Measures: after the acceptance list's publicity and with none of its objections open; a
    start in the past or a start inside the acceptance publicity only with a recorded reason."""
    today = clock.today()
    start = starts_on or today
    if session.scalars(select(PublicList.id).where(PublicList.cycle == cycle,
                                                   PublicList.kind == "recommendation")).first():
        raise Conflict("list.exists", zh="该届次的推荐名单已公示。",
                       en="The recommendation list of this cycle is already published.")
    deviations = _order_checks(session, calendar, cycle, start, today, reason)
    chosen = [r for r in results(session, programme, cycle) if r["tier"]]
    if not chosen:
        raise DossierError("list.empty", status=409, zh="没有达到授奖标准的申报者。",
                           en="No applicant reaches the award standard.")
    blocked = {}
    for row in chosen:
        app = session.get(Application, row["application_id"])
        missing = missing_opinions(session, programme, app)  # type: ignore[arg-type]
        adverse = [o.department for o in session.scalars(select(Opinion).where(
            Opinion.application_id == row["application_id"], Opinion.favourable.is_(False)))]
        if missing or adverse:
            blocked[row["application_id"]] = {"missing": missing, "adverse": adverse}
    if blocked:
        raise DossierError("list.opinions_incomplete", status=409,
                           zh="以下申报者的部门意见尚未齐全或有否定意见，不能形成推荐名单。",
                           en="Department opinions are missing or adverse for some applicants; "
                              "the recommendation list cannot be formed.",
                           errors=blocked)
    plist = _publish(session, outbox, calendar, programme, cycle, "recommendation", start,
                     who.subject, [{"application_id": r["application_id"], "applicant_name":
                                    r["applicant_name"], "tier": r["tier"], "score": r["score"],
                                    "kind": r["kind"]} for r in chosen],
                     deviations=deviations, reason=(reason or "").strip() or None)
    audit.append(session, actor=who.subject, role=who.role, action="list.published",
                 target=f"list:{plist.id}",
                 detail={"kind": plist.kind, "starts_on": start.isoformat(),
                         "deviations": deviations, "reason": plist.deviation_reason})
    return plist


def _order_checks(session: Session, calendar: WorkCalendar, cycle: str, start: date,
                  today: date, reason: str | None) -> list[str]:
    """The departures a recommendation list starting on `start` would take; refuses what no
    reason can excuse (objections still open on the acceptance list) and departures without
    a reason."""
    acceptance = list(session.scalars(select(PublicList).where(
        PublicList.cycle == cycle, PublicList.kind == "acceptance")))
    waiting = sum(open_objections(session, a.id) for a in acceptance)
    if waiting:
        raise DossierError("list.acceptance_objections_open", status=409,
                           zh="受理名单仍有 {n} 件异议未处理，处理完毕前不能公示推荐名单。",
                           en="{n} objection(s) to the acceptance list are still open; the "
                              "recommendation list can be published only after they are "
                              "resolved.", n=waiting)
    deviations = []
    if start < today:
        deviations.append(START_IN_PAST)
    running = [a for a in acceptance if start <= a.ends_on]
    if running:
        deviations.append(ACCEPTANCE_RUNNING)
    if deviations and len((reason or "").strip()) < MIN_REASON:
        ends = calendar.publicity_end(start, PUBLICITY_WORKDAYS)
        if START_IN_PAST in deviations:
            raise DossierError(
                "list.start_in_past", status=409,
                zh="公示开始日期 {start} 早于今天，按 5 个工作日计算公示期将于 {ends} 结束"
                   "{closed}。如确已通过其他渠道公示（例如已在报刊公示），请填写理由后确认；"
                   "理由将记入审计日志并在名单上公示。",
                en="The publicity would start on {start}, before today, and end on {ends}"
                   "{closed_en}. If it was already published elsewhere (in the press, say), "
                   "give the reason and confirm; the reason is audited and shown on the list.",
                errors={"reason": [PAST_NEEDS_REASON]},
                start=start.isoformat(), ends=ends.isoformat(),
                closed="，即已结束，异议将无法提出" if ends < today else "",
                closed_en=", that is already over, leaving no time for objections"
                if ends < today else "")
        last = max(a.ends_on for a in running)
        raise DossierError(
            "list.acceptance_running", status=409,
            zh="受理名单公示期至 {ends} 才结束，推荐名单应在其后开始公示（最早 {earliest}）。"
               "如确需提前，请填写理由后确认；理由将记入审计日志并在名单上公示。",
            en="The acceptance list is under publicity until {ends}; the recommendation list "
               "should start after it (on {earliest} at the earliest). To start earlier, give "
               "the reason and confirm; it is audited and shown on the list.",
            errors={"reason": [EARLY_NEEDS_REASON]},
            ends=last.isoformat(), earliest=(last + timedelta(days=1)).isoformat())
    return deviations


def _publish(session: Session, outbox: Outbox, calendar: WorkCalendar, programme: Programme,
             cycle: str, kind: str, starts_on: date, actor: str, entries: list[dict[str, Any]],
             *, deviations: list[str] | None = None, reason: str | None = None) -> PublicList:
    ends_on = calendar.publicity_end(starts_on, PUBLICITY_WORKDAYS)
    plist = PublicList(id=str(uuid.uuid4()), cycle=cycle, kind=kind, starts_on=starts_on,
                       ends_on=ends_on, entries=entries, published_by=actor,
                       published_at=now(), deviations=list(deviations or []),
                       deviation_reason=reason, notice=notice_for(programme, cycle))
    session.add(plist)
    session.flush()
    outbox.emit(session, "list.published", {
        "list_id": plist.id, "cycle": cycle, "kind": kind, "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(),
        "entries": [{"application_id": e["application_id"],
                     "applicant_name": e["applicant_name"], "tier": e.get("tier"),
                     "case_number": _case_number(session, e["application_id"])}
                    for e in entries],
        "audience": [{"role": "operator"}, {"role": "supervisor"}]
        + [{"subject": owner} for owner in _owners(session, entries)],
    })
    return plist


def notice_for(programme: Programme, cycle: str) -> dict[str, Any]:
    """Who issues a list and where objections go (publicity.yaml), as the notice keeps it."""
    data = programme.publicity(cycle)
    return {k: data.get(k) for k in ("issuer", "receiver", "address", "phone")}


def _case_number(session: Session, application_id: str) -> str | None:
    app = session.get(Application, application_id)
    return app.case_number if app else None


def _owners(session: Session, entries: list[dict[str, Any]]) -> list[str]:
    ids = [e["application_id"] for e in entries]
    return sorted(set(session.scalars(select(Application.owner).where(Application.id.in_(ids)))))


def decide(session: Session, outbox: Outbox, audit: AuditLog, calendar: WorkCalendar,
           programme: Programme, secret: str, cycle: str, who: Principal, reference: str | None
           ) -> list[Award]:
    """The final decision (Art. 18): the recommendation list after its publicity, with no
    objection left open on any list of the cycle and the acceptance publicity over (unless the
    recommendation list recorded why it started earlier); awards with amounts and certificate
    serials; the final list published."""
    today = clock.today()
    rec = session.scalars(select(PublicList).where(PublicList.cycle == cycle,
                                                   PublicList.kind == "recommendation")).first()
    if rec is None:
        raise DossierError("decision.no_recommendation", status=409,
                           zh="推荐名单尚未公示。", en="No recommendation list has been published.")
    if today <= rec.ends_on:
        raise DossierError("decision.publicity_running", status=409,
                           zh="推荐名单公示期尚未结束（至 {ends}）。",
                           en="The recommendation list is under publicity until {ends}.",
                           ends=rec.ends_on.isoformat())
    lists = list(session.scalars(select(PublicList).where(PublicList.cycle == cycle)))
    waiting = sum(open_objections(session, p.id) for p in lists)
    if waiting:
        raise DossierError("decision.objections_open", status=409,
                           zh="本届名单仍有 {n} 件异议未处理，处理完毕后才能作出表彰决定。",
                           en="{n} objection(s) to this cycle's lists are still open.",
                           n=waiting)
    running = [p for p in lists if p.kind == "acceptance" and today <= p.ends_on]
    if running and ACCEPTANCE_RUNNING not in (rec.deviations or []):
        raise DossierError("decision.acceptance_running", status=409,
                           zh="受理名单公示期尚未结束（至 {ends}），仍可能收到异议。",
                           en="The acceptance list is under publicity until {ends}; objections "
                              "may still arrive.",
                           ends=max(p.ends_on for p in running).isoformat())
    if session.scalars(select(Award.id).where(Award.cycle == cycle)).first():
        raise Conflict("decision.exists", zh="该届次已作出表彰决定。",
                       en="The decision for this cycle has been made.")
    actor = who.subject
    upheld = {o.application_id for o in session.scalars(select(Objection).where(
        Objection.list_id == rec.id, Objection.status == "upheld"))}
    cyc = session.get(Cycle, cycle)
    year = cyc.year if cyc else today.year
    amounts = programme.awards(cycle)["amounts"]
    awards: list[Award] = []
    numbers: dict[str, int] = defaultdict(int)
    for entry in rec.entries:
        if entry["application_id"] in upheld:
            continue  # an upheld objection removes the applicant from the final list
        app = session.get(Application, entry["application_id"])
        tier = entry["tier"]
        numbers[tier] += 1
        award_id = str(uuid.uuid4())
        awards.append(Award(
            id=award_id, cycle=cycle, year=year, application_id=app.id,  # type: ignore[union-attr]
            tier=tier, score=float(entry.get("score") or 0),
            amount=int(amounts[tier][app.kind]),  # type: ignore[union-attr]
            serial=serial_for(secret, award_id, year, tier, numbers[tier]), decided_by=actor,
            decided_at=now(), decision_reference=reference))
    session.add_all(awards)
    session.flush()
    results_payload = []
    titles = programme.awards(cycle)["titles"]
    for award in awards:
        app = session.get(Application, award.application_id)
        profile = app.profile or {}  # type: ignore[union-attr]
        results_payload.append({
            "application_id": award.application_id, "owner": app.owner,  # type: ignore[union-attr]
            "kind": app.kind, "credit_code": profile.get("credit_code"),  # type: ignore[union-attr]
            "id_index": profile.get("id_index"), "tier": award.tier, "amount": award.amount,
            # What the winner's page and message name: the award in words, the case number.
            "applicant_name": app.applicant_name,  # type: ignore[union-attr]
            "case_number": app.case_number,  # type: ignore[union-attr]
            "tier_title": dict(titles[award.tier])})
    outbox.emit(session, "award.decided", {
        "cycle": cycle, "year": year, "results": results_payload,
        "cycle_title": cyc.title if cyc else None, "decided_on": today.isoformat(),
        "reference": reference,
        "audience": [{"role": "operator"}, {"role": "supervisor"}]
        + [{"subject": session.get(Application, a.application_id).owner}  # type: ignore[union-attr]
           for a in awards]})
    _publish(session, outbox, calendar, programme, cycle, "final", today, actor,
             [{"application_id": a.application_id, "applicant_name": session.get(
                 Application, a.application_id).applicant_name,  # type: ignore[union-attr]
               "tier": a.tier, "amount": a.amount, "serial": a.serial} for a in awards])
    audit.append(session, actor=who.subject, role=who.role, action="decision.made",
                 target=f"cycle:{cycle}", detail={"awards": [a.id for a in awards],
                                                  "reference": reference})
    return awards


def revoke(session: Session, outbox: Outbox, programme: Programme, award: Award, *, ground: str,
           evidence: list[str], note: str | None, amount_to_recover: int | None, year: int,
           actor: str) -> Revocation:
    rules = programme.awards(award.cycle)
    if ground not in rules["revocation_grounds"]:
        raise DossierError("revocation.ground_unknown", status=422,
                           zh="未知的撤销事由。", en="Unknown revocation ground.")
    if award.revoked_at is not None:
        raise Conflict("revocation.exists", zh="该奖项已被撤销。",
                       en="This award has already been revoked.")
    if not evidence:
        raise DossierError("revocation.evidence_required", status=422,
                           zh="撤销须附证据。", en="Revocation requires evidence.")
    amount = award.amount if amount_to_recover is None else amount_to_recover
    if not 0 <= amount <= award.amount:
        raise DossierError("revocation.amount_invalid", status=422,
                           zh="追回金额须在 0 与奖金之间。",
                           en="The amount to recover must lie between 0 and the prize.")
    award.revoked_at = now()
    record = Revocation(id=str(uuid.uuid4()), award_id=award.id, ground=ground,
                        evidence=evidence, note=note, amount_to_recover=amount,
                        amount_recovered=0, year=year,
                        barred_cycles=int(rules["revocation_bar_cycles"]),
                        revoked_by=actor, revoked_at=now())
    session.add(record)
    session.flush()
    app = session.get(Application, award.application_id)
    profile = app.profile or {}  # type: ignore[union-attr]
    outbox.emit(session, "award.revoked", {
        "cycle": award.cycle, "application_id": award.application_id,
        "owner": app.owner, "credit_code": profile.get("credit_code"),  # type: ignore[union-attr]
        "id_index": profile.get("id_index"), "year": year, "ground": ground,
        "barred_cycles": record.barred_cycles,
        "applicant_name": app.applicant_name,  # type: ignore[union-attr]
        "case_number": app.case_number,  # type: ignore[union-attr]
        "audience": [{"role": "operator"}, {"role": "supervisor"},
                     {"subject": app.owner}]})  # type: ignore[union-attr]
    return record


def record_recovery(session: Session, revocation: Revocation, amount: int) -> Revocation:
    """Money paid back after a revocation, added to what was recovered so far; never more than
    the amount to recover. Each payment's reference is kept in the audit log."""
    if amount <= 0 or revocation.amount_recovered + amount > revocation.amount_to_recover:
        raise DossierError("revocation.recovery_invalid", status=422,
                           zh="追回金额须大于 0，且累计不超过应追回金额（尚余 {left} 元）。",
                           en="The amount recovered must be above 0 and in total not exceed the "
                              "amount to recover ({left} yuan left).",
                           left=revocation.amount_to_recover - revocation.amount_recovered)
    revocation.amount_recovered += amount
    session.flush()
    return revocation


def record_opinion(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
                   programme: Programme, application_id: str, body: dict[str, Any]) -> Opinion:
    """A department's written opinion on an applicant (Art. 17): only a department consulted
    for this kind of applicant, once each; when the last one is in, the office is told."""
    app = find(session, Application, application_id)
    _check_opinion(session, programme, app, body)
    return _store_opinion(session, outbox, audit, who, programme, app, body)


def record_opinions(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
                    programme: Programme, application_id: str, bodies: list[dict[str, Any]]
                    ) -> list[Opinion]:
    """Several departments' opinions on one applicant, all or none: each passes
    `record_opinion`'s checks (and names its department once in the batch) before any is
    stored, else `bulk.BulkRejected` with a problem per failing opinion."""
    app = find(session, Application, application_id)
    describe = bulk.Describe(application_id=lambda _b: app.id,
                             applicant_name=lambda _b: app.applicant_name,
                             key=lambda b: str(b["department"]),
                             labels=lambda b: {"department": b["department"]})
    bulk.check_all("opinions", bodies, lambda b: _check_opinion(session, programme, app, b),
                   describe)
    return [_store_opinion(session, outbox, audit, who, programme, app, b) for b in bodies]


def _check_opinion(session: Session, programme: Programme, app: Application,
                   body: dict[str, Any]) -> None:
    if body["department"] not in required_departments(programme, app):
        raise DossierError("opinion.department_unknown", status=422,
                           zh="该部门不在此类申报者的征求意见范围内。",
                           en="This department is not consulted for this kind of applicant.",
                           errors={"department": [N_("Choose a listed department.")]})
    if session.scalars(select(Opinion.id).where(
            Opinion.application_id == app.id,
            Opinion.department == body["department"])).first():
        raise Conflict("opinion.exists", zh="该部门意见已登记。",
                       en="This department's opinion is already recorded.")


def _store_opinion(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
                   programme: Programme, app: Application, body: dict[str, Any]) -> Opinion:
    opinion = Opinion(id=str(uuid.uuid4()), application_id=app.id, recorded_at=now(),
                      recorded_by=who.subject, **body)
    session.add(opinion)
    session.flush()
    audit.append(session, actor=who.subject, role=who.role, action="opinion.recorded",
                 target=f"application:{app.id}",
                 detail={"department": opinion.department, "favourable": opinion.favourable})
    if not missing_opinions(session, programme, app):
        outbox.emit(session, "opinions.completed", {
            "cycle": app.cycle, "application_id": app.id,
            "applicant_name": app.applicant_name, "case_number": app.case_number,
            "audience": [{"role": "operator"}]})
    return opinion


def find(session: Session, model: Any, key: str) -> Any:
    found = session.get(model, key)
    if found is None:
        raise NotFound()
    return found
