"""Who may read which packet's completeness reports and inspections, and the audit of a read.

One set of rules for the API (`api.py`) and the report page (`pages_report.py`), so a page can
never show more than the JSON would: an applicant sees only their own applications (anything
else answers 404), a recommender only packets submitted to their unit (the `unit` claim of
their token or session — intake routes packets, documents applies the same rule again rather
than trusting the caller), an operator, supervisor or admin everything. Reading a report or an
inspection of someone else's packet is written to the audit log.

No Flask here: callers pass the service context and the principal of the request.
"""

from __future__ import annotations

from typing import Any, TypeVarTuple

from sqlalchemy import Select, select

from services.documents.models import CompletenessReport, Packet
from shared.auth import Principal
from shared.errors import Concealed, NotFound
from shared.service import ServiceContext

# The roles that read reports and inspections (each sees what `scoped` leaves them).
READERS = ("applicant", "recommender", "operator", "supervisor", "admin")
Row = TypeVarTuple("Row")


def unit_of(who: Principal) -> str | None:
    value = who.scope.get("unit") or who.scope.get("jurisdiction")
    return str(value) if value else None


def scoped(query: Select[*Row], who: Principal, owner_col: Any,
           app_col: Any) -> Select[*Row]:
    """`query` narrowed to the rows `who` may read; `owner_col` and `app_col` are the owner
    and application columns of the table it selects from."""
    if who.role == "applicant":
        return query.where(owner_col == who.subject)
    if who.role == "recommender":
        # Fail closed: a recommender token without a unit sees nothing.
        units = select(Packet.application_id).where(Packet.unit == unit_of(who),
                                                    Packet.submission > 0)
        return query.where(app_col.in_(units))
    return query


def may_read(who: Principal, packet: Packet) -> bool:
    """`scoped`'s rule for one packet already loaded (a recommender: only once submitted)."""
    if who.role == "applicant":
        return packet.owner == who.subject
    if who.role == "recommender":
        unit = unit_of(who)
        return unit is not None and packet.unit == unit and packet.submission > 0
    return who.role in READERS


def audit_read(ctx: ServiceContext, who: Principal, action: str, target: str,
               application_id: str, owner: str, **detail: Any) -> None:
    """Record a read of someone else's packet; an applicant reading their own is not audited."""
    if who.role == "applicant" and who.subject == owner:
        return
    with ctx.db.session() as session:
        ctx.audit.append(session, actor=who.subject, role=who.role, action=action,
                         target=target, detail={"application": application_id, **detail})


def report(ctx: ServiceContext, who: Principal, report_id: str
           ) -> tuple[CompletenessReport, Packet | None]:
    """The report and its packet (detached), or NotFound when `who` may not read it — a
    recommender never sees the draft checklist (submission 0)."""
    query = scoped(select(CompletenessReport).where(CompletenessReport.id == report_id), who,
                   CompletenessReport.owner, CompletenessReport.application_id)
    with ctx.db.reader() as session:
        found = session.execute(query).scalar_one_or_none()
        if found is None or (who.role == "recommender" and found.submission == 0):
            if session.get(CompletenessReport, report_id) is not None:
                raise Concealed(f"report:{report_id}", detail=f"report {report_id}")
            raise NotFound(detail=f"report {report_id}")
        packet = session.get(Packet, found.application_id)
        session.expunge_all()
    return found, packet


def latest_report_id(ctx: ServiceContext, who: Principal, application_id: str,
                     submission: int | None) -> str:
    """The id of the application's report of `submission`, else of its latest one that `who`
    may read; NotFound when there is none (audited when one exists that `who` may not read)."""
    wanted = select(CompletenessReport.id, CompletenessReport.submission).where(
        CompletenessReport.application_id == application_id)
    if submission is not None:
        wanted = wanted.where(CompletenessReport.submission == submission)
    query = scoped(wanted, who, CompletenessReport.owner, CompletenessReport.application_id)
    if who.role == "recommender":
        query = query.where(CompletenessReport.submission > 0)
    query = query.order_by(CompletenessReport.submission.desc()).limit(1)
    with ctx.db.reader() as session:
        row = session.execute(query).first()
        hidden = row is None and session.execute(wanted.limit(1)).first() is not None
    if row is None:
        error = f"no completeness report for {application_id}"
        if hidden:
            raise Concealed(f"application:{application_id}", detail=error)
        raise NotFound(detail=error)
    return str(row.id)
