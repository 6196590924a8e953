"""The expert registry's actions: add, change, import, take out of and back into service.

One function per action, called alike by the API (`api.py`), the operator's pages
(`pages_office.py`) and any task: each validates, changes, refreshes the detected conflicts,
recuses whoever a new conflict touches, emits the account event and writes the audit record.
Views only parse a request into a command here and render what comes back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.review import panels, registry
from services.review.conflicts import Rules
from services.review.csvtext import decode_csv
from services.review.models import Application, Assignment, ConflictRecord, Expert, Panel
from shared.errors import Conflict, NotFound
from shared.textsearch import contains_text
from shared.unit_of_work import UnitOfWork


def _json_rows(rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Affiliations and relations as stored in their JSON columns: dates as ISO strings."""
    return tuple({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
                 for row in rows)


@dataclass(frozen=True)
class ExpertDetails:
    """What an operator states about an expert (everything but the account, which never
    changes once registered)."""

    name: str
    organisation: str
    organisation_credit_code: str | None = None
    fields: tuple[str, ...] = ()
    county: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str = "zh-CN"
    # [{organisation, credit_code, role, started_on, ended_on}], dates as ISO strings
    past_affiliations: tuple[dict[str, Any], ...] = ()
    # [{name, relation, credit_code, ended_on}], dates as ISO strings
    relations: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ExpertDetails:
        """From a validated `ExpertIn` body or an import row (its `subject` is not a detail)."""
        return cls(name=body["name"], organisation=body["organisation"],
                   organisation_credit_code=body.get("organisation_credit_code"),
                   fields=tuple(body.get("fields") or ()), county=body.get("county"),
                   email=body.get("email"), phone=body.get("phone"),
                   language=body.get("language") or "zh-CN",
                   past_affiliations=_json_rows(body.get("past_affiliations") or ()),
                   relations=_json_rows(body.get("relations") or ()))

    def columns(self) -> dict[str, Any]:
        """The expert's columns as `registry.save_expert` sets them (lists for JSON)."""
        out = asdict(self)
        for key in ("fields", "past_affiliations", "relations"):
            out[key] = list(out[key])
        return out


@dataclass(frozen=True)
class NewExpert:
    subject: str  # the expert's sign-in account
    details: ExpertDetails

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> NewExpert:
        return cls(subject=str(body["subject"]), details=ExpertDetails.from_body(body))


@dataclass(frozen=True)
class Imported:
    imported: int
    conflicts_detected: int


@dataclass(frozen=True)
class ExpertFilter:
    """The registry's search: words in name, organisation or account; a field; a county;
    in service or not (None: both)."""

    q: str | None = None
    field: str | None = None
    county: str | None = None
    active: bool | None = None


# -- reads ------------------------------------------------------------------------------------

def get(session: Session, expert_id: str) -> Expert:
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound()
    return expert


def search(session: Session, wanted: ExpertFilter) -> Select[Expert]:
    """The registry's experts matching `wanted`, by name then account."""
    query = select(Expert).order_by(Expert.name, Expert.subject)
    if wanted.q:
        query = query.where(contains_text(wanted.q, Expert.name, Expert.organisation,
                                          Expert.subject))
    if wanted.county:
        query = query.where(Expert.county == wanted.county)
    if wanted.active is not None:
        query = query.where(Expert.active.is_(wanted.active))
    if wanted.field:
        # JSON list membership is written differently per database; filter the ids in
        # Python once, which is portable.
        ids = [e.id for e in session.scalars(select(Expert)) if wanted.field in (e.fields or [])]
        query = query.where(Expert.id.in_(ids))
    return query


def live_conflicts(session: Session, expert_ids: Sequence[str]) -> dict[str, int]:
    """Live (not withdrawn) conflicts per expert, in one query."""
    return {k: int(v) for k, v in session.execute(
        select(ConflictRecord.expert_id, func.count()).where(
            ConflictRecord.expert_id.in_(expert_ids), ConflictRecord.withdrawn_at.is_(None))
        .group_by(ConflictRecord.expert_id)).all()}


def counties(session: Session) -> list[str]:
    return sorted(c for c in session.scalars(select(Expert.county).distinct()) if c)


# -- actions ----------------------------------------------------------------------------------

def create(work: UnitOfWork, new: NewExpert, rules: Rules) -> Expert:
    """Register an expert: account announced, conflicts detected, anyone conflicted recused."""
    expert = registry.save_expert(work.session, work.outbox,
                                  {"subject": new.subject, **new.details.columns()}, rules=rules)
    panels.sweep(work.session, work.outbox)
    work.audit("expert.created", f"expert:{expert.id}", subject=expert.subject)
    return expert


def update(work: UnitOfWork, expert_id: str, details: ExpertDetails, rules: Rules) -> Expert:
    """Change an expert's record; a conflict the change reveals recuses them at once."""
    expert = get(work.session, expert_id)
    registry.save_expert(work.session, work.outbox, details.columns(), expert, rules=rules)
    recused = panels.sweep(work.session, work.outbox)
    work.audit("expert.updated", f"expert:{expert.id}", recusals=recused)
    return expert


def import_csv(work: UnitOfWork, data: bytes, charset: str | None, rules: Rules) -> Imported:
    """Bulk registration from a CSV file (UTF-8 or GBK, as Excel saves it): every row or none."""
    rows = [NewExpert.from_body(row) for row in registry.parse_expert_csv(
        decode_csv(data, charset))]
    session = work.session
    existing = set(session.scalars(select(Expert.subject).where(
        Expert.subject.in_([r.subject for r in rows]))))
    if existing:
        raise Conflict("expert.exists", zh="以下专家账号已登记：{subjects}",
                       en="These expert accounts already exist: {subjects}",
                       subjects=", ".join(sorted(existing)))
    before = len(registry.active_conflicts(session))
    index = registry.ApplicationIndex(session)
    for row in rows:
        registry.save_expert(session, work.outbox, {"subject": row.subject,
                                                    **row.details.columns()},
                             index=index, rules=rules)
    panels.sweep(session, work.outbox)
    detected = len(registry.active_conflicts(session)) - before
    work.audit("expert.imported", "experts", count=len(rows))
    return Imported(imported=len(rows), conflicts_detected=detected)


def deactivate(work: UnitOfWork, expert_id: str, reason: str) -> Expert:
    """Take an expert out of service: their assignments end now, replacements are proposed."""
    expert = get(work.session, expert_id)
    proposals = panels.withdraw_expert(work.session, expert, reason)
    work.emit("account.saved", registry.account_payload(expert))
    work.audit("expert.deactivated", f"expert:{expert.id}", reason=reason,
               replacements=[p.id for p in proposals])
    return expert


def reactivate(work: UnitOfWork, expert_id: str) -> Expert:
    expert = get(work.session, expert_id)
    expert.active = True
    work.emit("account.saved", registry.account_payload(expert))
    work.audit("expert.reactivated", f"expert:{expert.id}")
    return expert


@dataclass(frozen=True)
class Profile:
    """What the operator's page of one expert shows: the record, every conflict record,
    every assignment and the panels and applications they name."""

    expert: Expert
    records: list[ConflictRecord]
    applications: dict[str, Application]
    served: list[Assignment]
    panels: dict[str, Panel]


def profile(session: Session, expert_id: str) -> Profile:
    expert = get(session, expert_id)
    records = list(session.scalars(select(ConflictRecord).where(
        ConflictRecord.expert_id == expert.id).order_by(ConflictRecord.recorded_at)))
    # All applications: the page's conflict form offers each of them.
    apps = {a.id: a for a in session.scalars(select(Application).order_by(
        Application.cycle.desc(), Application.applicant_name))}
    served = list(session.scalars(select(Assignment).where(
        Assignment.expert_id == expert.id).order_by(Assignment.created_at)))
    panel_of = {p.id: p for p in session.scalars(select(Panel).where(
        Panel.id.in_({a.panel_id for a in served})))}
    return Profile(expert, records, apps, served, panel_of)
