"""The expert registry and the conflict records: what the API and the event handlers share.

Functions take a session and plain values; no Flask or Celery here.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.conflicts import (
    DATE_MARK,
    ExpertFacts,
    Finding,
    Rules,
    applicant_keys,
    detect,
    expert_keys,
    ground_codes,
    undated,
)
from services.review.models import Application, Assignment, ConflictRecord, Cycle, Expert
from shared import clock
from shared.errors import Conflict, DossierError, NotFound
from shared.events import Outbox

CSV_COLUMNS = ("subject", "name", "organisation")


def now() -> datetime:
    return datetime.now(UTC)


def facts(expert: Expert) -> ExpertFacts:
    return ExpertFacts(name=expert.name, organisation=expert.organisation,
                       organisation_credit_code=expert.organisation_credit_code,
                       past_affiliations=list(expert.past_affiliations or []),
                       relations=list(expert.relations or []))


def account_payload(expert: Expert) -> dict[str, Any]:
    return {"subject": expert.subject, "role": "expert", "name": expert.name,
            "email": expert.email, "language": expert.language or "zh-CN", "unit": None,
            "active": bool(expert.active), "audience": [{"subject": expert.subject}]}


def save_expert(session: Session, outbox: Outbox, body: Mapping[str, Any],
                expert: Expert | None = None, index: ApplicationIndex | None = None,
                rules: Rules | None = None) -> Expert:
    """Create (or update) an expert, announce the account, refresh detected conflicts."""
    if expert is None:
        taken = session.execute(select(Expert.id).where(Expert.subject == body["subject"])
                                ).first()
        if taken:
            raise Conflict("expert.exists", zh="该专家账号已登记。",
                           en="An expert with this account already exists.")
        expert = Expert(id=str(uuid.uuid4()), created_at=now(), active=True, fields=[],
                        past_affiliations=[], relations=[], language="zh-CN")
        session.add(expert)
    for key, value in body.items():
        if key != "subject" or expert.subject is None:
            setattr(expert, key, value)
    session.flush()
    outbox.emit(session, "account.saved", account_payload(expert))
    refresh_for_expert(session, expert, index=index, rules=rules)
    return expert


def parse_expert_csv(text: str) -> list[dict[str, Any]]:
    """Rows of `subject,name,organisation[,organisation_credit_code,fields,county,email,phone]`
    (fields `;`-separated). Raises with every bad line listed, importing nothing."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise DossierError("expert.csv_columns", status=422,
                           zh="CSV 缺少列：{cols}", en="The CSV lacks columns: {cols}",
                           cols=", ".join(missing))
    rows: list[dict[str, Any]] = []
    problems: dict[str, str] = {}
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        empty = [c for c in CSV_COLUMNS if not row.get(c)]
        if empty:
            problems[str(line)] = f"empty: {', '.join(empty)}"
            continue
        rows.append({
            "subject": row["subject"], "name": row["name"], "organisation": row["organisation"],
            "organisation_credit_code": row.get("organisation_credit_code") or None,
            "fields": [f.strip() for f in (row.get("fields") or "").split(";") if f.strip()],
            "county": row.get("county") or None, "email": row.get("email") or None,
            "phone": row.get("phone") or None,
        })
    subjects = [r["subject"] for r in rows]
    for s in {s for s in subjects if subjects.count(s) > 1}:
        problems[s] = "subject appears twice"
    if problems:
        raise DossierError("expert.csv_rows", status=422, zh="CSV 中有无效行，未导入任何数据。",
                           en="The CSV has invalid rows; nothing was imported.",
                           errors=problems)
    return rows


# -- conflicts --------------------------------------------------------------------------------

STAGE_DAYS = {"material": "材料评审日", "on-site": "现场评审日", "defence": "陈述答辩日"}
SYSTEM = "system"
OUTDATED = ("周期日期变更后按新的评审日不再构成回避 "
            "no longer a conflict at the cycle's new review date")


@dataclass(frozen=True)
class ReviewDate:
    """The day a conflict window is counted back from, and what that day is, in words."""

    on: date
    basis: str


def review_date(cycle: Cycle | None) -> ReviewDate:
    """The cycle's first review day: the earliest date of its stages (a start, else an end);
    without stage dates the application deadline (earlier than any review, so no conflict is
    missed); only a cycle review has not heard of yet falls back to the office's today.
    Conflicts are kept per expert and applicant, not per stage: the earliest review counts,
    so an expert conflicted at any stage is recused from the applicant."""
    days = []
    for stage in (cycle.stages or []) if cycle else []:
        day = stage.get("starts_on") or stage.get("ends_on")
        if day:
            days.append((date.fromisoformat(str(day)[:10]),
                         STAGE_DAYS.get(str(stage.get("stage")), "评审日")))
    if days:
        return ReviewDate(*min(days))
    if cycle is not None and cycle.closes_on is not None:
        return ReviewDate(cycle.closes_on, "申报截止日")
    return ReviewDate(clock.today(), "今日")


class ReviewDates:
    """Review dates per cycle, read once per batch."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[str, ReviewDate] = {}

    def of(self, application: Application) -> ReviewDate:
        if application.cycle not in self.known:
            self.known[application.cycle] = review_date(
                self.session.get(Cycle, application.cycle))
        return self.known[application.cycle]


def _store_findings(session: Session, expert: Expert, application: Application,
                    findings: Iterable[Finding]) -> list[ConflictRecord]:
    """Keep the pair's detections in step with `findings`. A finding counted to another date
    is the same finding: its record keeps its standing and takes the new date in its reason.
    A dated finding that no longer holds (the cycle's dates moved) is withdrawn by the system,
    and comes back if the dates move back; one the operator withdrew stays withdrawn."""
    findings = list(findings)
    records = list(session.scalars(
        select(ConflictRecord).where(ConflictRecord.expert_id == expert.id,
                                     ConflictRecord.application_id == application.id,
                                     ConflictRecord.source == "detected")))
    existing = {(c.ground, undated(c.reason)): c for c in records}
    current = {(f.ground, undated(f.reason[:500])) for f in findings}
    for key, c in existing.items():
        if key not in current and DATE_MARK in c.reason and c.withdrawn_at is None:
            c.withdrawn_at, c.withdrawn_by, c.withdrawal_reason = now(), SYSTEM, OUTDATED
    added = []
    for f in findings:
        record = existing.get((f.ground, undated(f.reason[:500])))
        if record is not None:
            # A detection the operator withdrew (with a reason) stays withdrawn: never re-added.
            if record.withdrawn_at is None or record.withdrawn_by == SYSTEM:
                if record.withdrawn_at is not None:
                    added.append(record)
                record.reason = f.reason[:500]
                record.withdrawn_at = record.withdrawn_by = record.withdrawal_reason = None
            continue
        record = ConflictRecord(id=str(uuid.uuid4()), expert_id=expert.id,
                                application_id=application.id, ground=f.ground,
                                source="detected", reason=f.reason[:500], recorded_by="system",
                                recorded_at=now())
        session.add(record)
        added.append(record)
    session.flush()
    return added


class ApplicationIndex:
    """Applications by every name and code a conflict rule can match, built once per batch."""

    def __init__(self, session: Session) -> None:
        self.by_key: dict[str, list[Application]] = {}
        for application in session.scalars(select(Application).order_by(Application.id)):
            for key in applicant_keys(application.profile or {}):
                self.by_key.setdefault(key, []).append(application)

    def candidates(self, expert: Expert) -> list[Application]:
        seen: dict[str, Application] = {}
        for key in expert_keys(facts(expert)):
            for application in self.by_key.get(key, []):
                seen.setdefault(application.id, application)
        return [seen[k] for k in sorted(seen)]


def _detect(expert: Expert, application: Application, on: ReviewDate,
            rules: Rules | None) -> list[Finding]:
    return detect(facts(expert), application.profile, on.on, rules, on.basis)


def refresh_for_expert(session: Session, expert: Expert, index: ApplicationIndex | None = None,
                       rules: Rules | None = None) -> int:
    """Detect the expert's conflicts with every application (only pairs sharing a key), each
    counted to its cycle's review date."""
    count = 0
    dates = ReviewDates(session)
    for application in (index or ApplicationIndex(session)).candidates(expert):
        found = _detect(expert, application, dates.of(application), rules)
        count += len(_store_findings(session, expert, application, found))
    return count


def refresh_for_application(session: Session, application: Application,
                            rules: Rules | None = None) -> int:
    keys = applicant_keys(application.profile or {})
    on = ReviewDates(session).of(application)
    count = 0
    for expert in session.scalars(select(Expert).order_by(Expert.subject)):
        if not keys & expert_keys(facts(expert)):
            continue
        count += len(_store_findings(session, expert, application,
                                     _detect(expert, application, on, rules)))
    return count


def refresh_for_cycle(session: Session, cycle: str, rules: Rules | None = None) -> int:
    """Count every application's conflicts of `cycle` again (its review dates changed)."""
    count = 0
    for application in session.scalars(select(Application).where(Application.cycle == cycle)
                                       .order_by(Application.id)):
        count += refresh_for_application(session, application, rules)
    return count


def active_conflicts(session: Session, expert_id: str | None = None,
                     application_id: str | None = None) -> list[ConflictRecord]:
    query = select(ConflictRecord).where(ConflictRecord.withdrawn_at.is_(None))
    if expert_id:
        query = query.where(ConflictRecord.expert_id == expert_id)
    if application_id:
        query = query.where(ConflictRecord.application_id == application_id)
    return list(session.scalars(query.order_by(ConflictRecord.recorded_at)))


def record_conflict(session: Session, *, expert: Expert, application_id: str, ground: str,
                    source: str, reason: str, actor: str, rules: Rules | None = None
                    ) -> ConflictRecord:
    if ground not in ground_codes(rules):
        raise DossierError("conflict.ground_unknown", status=422,
                           zh="未知的回避事由：{ground}", en="Unknown recusal ground: {ground}",
                           ground=ground)
    if session.get(Application, application_id) is None:
        raise NotFound(detail="application")
    record = ConflictRecord(id=str(uuid.uuid4()), expert_id=expert.id,
                            application_id=application_id, ground=ground, source=source,
                            reason=reason[:500], recorded_by=actor, recorded_at=now())
    session.add(record)
    session.flush()
    return record


def withdraw_conflict(session: Session, record: ConflictRecord, *, reason: str,
                      actor: str) -> ConflictRecord:
    if record.withdrawn_at is not None:
        raise Conflict("conflict.already_withdrawn", zh="该回避记录已撤回。",
                       en="This conflict has already been withdrawn.")
    record.withdrawn_at, record.withdrawn_by, record.withdrawal_reason = now(), actor, reason
    session.flush()
    return record


def serving(session: Session, expert_id: str, application_id: str) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(
        Assignment.expert_id == expert_id, Assignment.application_id == application_id,
        Assignment.status == "active")))
