"""The expert registry and the conflict records: what the API and the event handlers share.

Functions take a session and plain values; no Flask or Celery here.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.conflicts import (
    ExpertFacts,
    Finding,
    Rules,
    applicant_keys,
    detect,
    expert_keys,
    ground_codes,
)
from services.review.models import Application, Assignment, ConflictRecord, Expert
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
    rows, problems = [], {}
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

def _store_findings(session: Session, expert: Expert, application: Application,
                    findings: Iterable[Finding]) -> list[ConflictRecord]:
    existing = {(c.ground, c.reason) for c in session.scalars(
        select(ConflictRecord).where(ConflictRecord.expert_id == expert.id,
                                     ConflictRecord.application_id == application.id,
                                     ConflictRecord.source == "detected"))}
    added = []
    for f in findings:
        # A detection the operator withdrew (with a reason) stays withdrawn: never re-added.
        if (f.ground, f.reason[:500]) in existing:
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


def refresh_for_expert(session: Session, expert: Expert, today: date | None = None,
                       index: ApplicationIndex | None = None, rules: Rules | None = None
                       ) -> int:
    """Detect the expert's conflicts with every application (only pairs sharing a key)."""
    count = 0
    for application in (index or ApplicationIndex(session)).candidates(expert):
        found = detect(facts(expert), application.profile, today or date.today(), rules)
        count += len(_store_findings(session, expert, application, found))
    return count


def refresh_for_application(session: Session, application: Application,
                            today: date | None = None, rules: Rules | None = None) -> int:
    keys = applicant_keys(application.profile or {})
    count = 0
    for expert in session.scalars(select(Expert).order_by(Expert.subject)):
        if not keys & expert_keys(facts(expert)):
            continue
        found = detect(facts(expert), application.profile, today or date.today(), rules)
        count += len(_store_findings(session, expert, application, found))
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
