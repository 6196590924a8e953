"""Review's HTTP API: experts, conflicts, panels and assignments."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask_smorest import Blueprint
from sqlalchemy import func, select

from services.review import panels, registry
from services.review.csvtext import decode_csv
from services.review.dossiers import is_secret
from services.review.models import Application, Assignment, ConflictRecord, Expert, Panel
from services.review.programme import Programme
from services.review.schemas import (
    ApplicationPage,
    ApplicationQuery,
    AssignmentOut,
    AssignmentPage,
    AssignmentQuery,
    AuditPage,
    AuditQuery,
    CandidateOut,
    ConflictIn,
    ConflictOut,
    ConflictPage,
    ConflictQuery,
    ExpertIn,
    ExpertOut,
    ExpertPage,
    ExpertQuery,
    ImportOut,
    PanelIn,
    PanelOut,
    PanelPage,
    PanelSettingsIn,
    WithdrawIn,
)
from shared.audit_anchors import check_chain
from shared.errors import Conflict, DossierError, NotFound
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, paginate
from shared.textsearch import contains_text

blp = Blueprint("review", __name__, url_prefix="/api", description="Experts and assignments")

STAFF = ("operator", "supervisor", "admin")


def _rules() -> dict[str, Any]:
    return Programme(service_context().settings.review_data_dir).grounds()


def _audit(session: Any, action: str, target: str, **detail: Any) -> None:
    who = current_principal()
    service_context().audit.append(session, actor=who.subject, role=who.role, action=action,
                                   target=target, detail=detail)


# -- experts ----------------------------------------------------------------------------------

@blp.get("/experts")
@blp.arguments(ExpertQuery, location="query", as_kwargs=True)
@blp.response(200, ExpertPage)
@roles(*STAFF)
def list_experts(page: int, per_page: int, q: str | None, field: str | None,
                 county: str | None) -> dict[str, Any]:
    query = select(Expert).order_by(Expert.name, Expert.subject)
    if q:
        query = query.where(contains_text(q, Expert.name, Expert.organisation, Expert.subject))
    if county:
        query = query.where(Expert.county == county)
    with service_context().db.reader() as session:
        if field:
            # JSON list membership differs per database; filter the ids in Python once.
            ids = [e.id for e in session.scalars(select(Expert))
                   if field in (e.fields or [])]
            query = query.where(Expert.id.in_(ids))
        return paginate(session, query, page, per_page)


@blp.post("/experts")
@blp.arguments(ExpertIn)
@blp.response(201, ExpertOut)
@roles("operator", "admin")
def create_expert(body: dict[str, Any]) -> Expert:
    ctx = service_context()
    with ctx.db.session() as session:
        expert = registry.save_expert(session, ctx.outbox, _plain(body), rules=_rules())
        panels.sweep(session, ctx.outbox)
        _audit(session, "expert.created", f"expert:{expert.id}", subject=expert.subject)
    return expert


@blp.get("/experts/<expert_id>")
@blp.response(200, ExpertOut)
@roles(*STAFF, "expert")
def get_expert(expert_id: str) -> Expert:
    who = current_principal()
    with service_context().db.reader() as session:
        expert = session.get(Expert, expert_id)
        if expert is None or (who.role == "expert" and expert.subject != who.subject):
            raise NotFound()
        return expert


@blp.put("/experts/<expert_id>")
@blp.arguments(ExpertIn)
@blp.response(200, ExpertOut)
@roles("operator", "admin")
def update_expert(body: dict[str, Any], expert_id: str) -> Expert:
    ctx = service_context()
    with ctx.db.session() as session:
        expert = session.get(Expert, expert_id)
        if expert is None:
            raise NotFound()
        body = _plain(body)
        body.pop("subject", None)
        registry.save_expert(session, ctx.outbox, body, expert, rules=_rules())
        recused = panels.sweep(session, ctx.outbox)
        _audit(session, "expert.updated", f"expert:{expert.id}", recusals=recused)
    return expert


@blp.post("/experts/<expert_id>/deactivate")
@blp.arguments(WithdrawIn)
@blp.response(200, ExpertOut)
@roles("operator", "admin")
def deactivate_expert(body: dict[str, Any], expert_id: str) -> Expert:
    """Take an expert out of service: assignments end now, replacements are proposed."""
    ctx = service_context()
    with ctx.db.session() as session:
        expert = session.get(Expert, expert_id)
        if expert is None:
            raise NotFound()
        proposals = panels.withdraw_expert(session, expert, body["reason"])
        ctx.outbox.emit(session, "account.saved", registry.account_payload(expert))
        _audit(session, "expert.deactivated", f"expert:{expert.id}", reason=body["reason"],
               replacements=[p.id for p in proposals])
    return expert


@blp.post("/experts/<expert_id>/reactivate")
@blp.response(200, ExpertOut)
@roles("operator", "admin")
def reactivate_expert(expert_id: str) -> Expert:
    ctx = service_context()
    with ctx.db.session() as session:
        expert = session.get(Expert, expert_id)
        if expert is None:
            raise NotFound()
        expert.active = True
        ctx.outbox.emit(session, "account.saved", registry.account_payload(expert))
        _audit(session, "expert.reactivated", f"expert:{expert.id}")
    return expert


@blp.post("/experts/import")
@blp.response(201, ImportOut)
@roles("operator", "admin")
def import_experts() -> dict[str, int]:
    """Bulk import from CSV (`text/csv` body): all rows or none."""
    ctx = service_context()
    rows = registry.parse_expert_csv(decode_csv(request.get_data(),
                                                         request.mimetype_params.get("charset")))
    with ctx.db.session() as session:
        existing = set(session.scalars(select(Expert.subject).where(
            Expert.subject.in_([r["subject"] for r in rows]))))
        if existing:
            raise Conflict("expert.exists", zh="以下专家账号已登记：{subjects}",
                           en="These expert accounts already exist: {subjects}",
                           subjects=", ".join(sorted(existing)))
        before = len(registry.active_conflicts(session))
        index, rules = registry.ApplicationIndex(session), _rules()
        for row in rows:
            registry.save_expert(session, ctx.outbox, row, index=index, rules=rules)
        panels.sweep(session, ctx.outbox)
        detected = len(registry.active_conflicts(session)) - before
        _audit(session, "expert.imported", "experts", count=len(rows))
    return {"imported": len(rows), "conflicts_detected": detected}


@blp.get("/experts/<expert_id>/conflict-check")
@blp.response(200, ConflictPage)
@roles("operator", "supervisor", "admin")
def conflict_check(expert_id: str) -> dict[str, Any]:
    """Every current conflict of an expert across all applications (before inviting them)."""
    with service_context().db.reader() as session:
        if session.get(Expert, expert_id) is None:
            raise NotFound()
        items = _named(session, registry.active_conflicts(session, expert_id=expert_id))
        return {"items": items, "page": 1, "per_page": len(items), "total": len(items)}


def _plain(body: dict[str, Any]) -> dict[str, Any]:
    """Dates inside nested lists as ISO strings (they are stored in JSON columns)."""
    out = dict(body)
    for key in ("past_affiliations", "relations"):
        if key in out:
            out[key] = [{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                         for k, v in item.items()} for item in out[key]]
    return out


# -- applications -----------------------------------------------------------------------------

@blp.get("/applications")
@blp.arguments(ApplicationQuery, location="query", as_kwargs=True)
@blp.response(200, ApplicationPage)
@roles(*STAFF)
def list_applications(page: int, per_page: int, cycle: str | None, kind: str | None
                      ) -> dict[str, Any]:
    """Accepted applications with their document and live-conflict counts."""
    query = select(Application).order_by(Application.cycle, Application.id)
    if cycle:
        query = query.where(Application.cycle == cycle)
    if kind:
        query = query.where(Application.kind == kind)
    with service_context().db.reader() as session:
        result = paginate(session, query, page, per_page)
        ids = [a.id for a in result["items"]]
        counts = dict(session.execute(
            select(ConflictRecord.application_id, func.count()).where(
                ConflictRecord.application_id.in_(ids), ConflictRecord.withdrawn_at.is_(None))
            .group_by(ConflictRecord.application_id)).all())
        result["items"] = [{
            "id": a.id, "cycle": a.cycle, "kind": a.kind, "applicant_name": a.applicant_name,
            "unit": a.unit, "accepted_at": a.accepted_at, "documents": len(a.documents or []),
            "trade_secret_documents": sum(1 for d in a.documents or [] if is_secret(d)),
            "active_conflicts": int(counts.get(a.id, 0))} for a in result["items"]]
        return result


# -- conflicts --------------------------------------------------------------------------------

@blp.get("/conflicts")
@blp.arguments(ConflictQuery, location="query", as_kwargs=True)
@blp.response(200, ConflictPage)
@roles(*STAFF, "expert")
def list_conflicts(page: int, per_page: int, expert_id: str | None, application_id: str | None,
                   active: bool | None, source: str | None) -> dict[str, Any]:
    who = current_principal()
    query = select(ConflictRecord).order_by(ConflictRecord.recorded_at, ConflictRecord.id)
    with service_context().db.reader() as session:
        if who.role == "expert":
            expert_id = _me(session).id  # an expert sees only their own declarations
        if expert_id:
            query = query.where(ConflictRecord.expert_id == expert_id)
        if application_id:
            query = query.where(ConflictRecord.application_id == application_id)
        if active is not None:
            query = query.where(ConflictRecord.withdrawn_at.is_(None) if active
                                else ConflictRecord.withdrawn_at.is_not(None))
        if source:
            query = query.where(ConflictRecord.source == source)
        result = paginate(session, query, page, per_page)
        result["items"] = _named(session, result["items"])
        return result


def _named(session: Any, records: list[ConflictRecord]) -> list[dict[str, Any]]:
    """Conflicts with the expert's name and subject and the applicant's name beside the ids, so
    a client needs no second lookup per row. Two queries whatever the page size."""
    experts = {e.id: e for e in session.scalars(select(Expert).where(
        Expert.id.in_({r.expert_id for r in records})))}
    applicants = dict(session.execute(select(Application.id, Application.applicant_name).where(
        Application.id.in_({r.application_id for r in records}))).all())
    out = []
    for r in records:
        expert = experts.get(r.expert_id)
        out.append({**{c.key: getattr(r, c.key) for c in ConflictRecord.__table__.columns},
                    "expert_name": expert.name if expert else None,
                    "expert_subject": expert.subject if expert else None,
                    "applicant_name": applicants.get(r.application_id)})
    return out


def _me(session: Any) -> Expert:
    expert = session.scalars(select(Expert).where(
        Expert.subject == current_principal().subject)).first()
    if expert is None:
        raise NotFound()
    return expert


@blp.post("/conflicts")
@blp.arguments(ConflictIn)
@blp.response(201, ConflictOut)
@roles("operator", "admin", "expert")
def record_conflict(body: dict[str, Any]) -> dict[str, Any]:
    """A conflict the operator records or the expert declares; access ends at once."""
    ctx = service_context()
    who = current_principal()
    with ctx.db.session() as session:
        expert: Expert | None
        if who.role == "expert":
            expert, source = _me(session), "expert"
        else:
            expert = session.get(Expert, body.get("expert_id") or "")
            source = "applicant" if body.get("requested_by_applicant") else "operator"
            if expert is None:
                raise DossierError("conflict.expert_unknown", status=422,
                                   zh="请指定已登记的专家。", en="Name a registered expert.")
        if session.get(Application, body["application_id"]) is None:
            raise DossierError("conflict.application_unknown", status=422,
                               zh="没有该申报。", en="There is no such application.")
        record = registry.record_conflict(session, expert=expert,
                                          application_id=body["application_id"],
                                          ground=body["ground"], source=source,
                                          reason=body["reason"], actor=who.subject,
                                          rules=_rules())
        proposals = panels.recuse(session, ctx.outbox, record)
        _audit(session, "conflict.recorded", f"conflict:{record.id}", ground=record.ground,
               source=source, expert=expert.subject, application=record.application_id,
               replacements=[p.id for p in proposals])
        return _named(session, [record])[0]


@blp.get("/conflicts/<conflict_id>")
@blp.response(200, ConflictOut)
@roles(*STAFF, "expert")
def get_conflict(conflict_id: str) -> dict[str, Any]:
    """One record with its ground, source, time and any withdrawal (there is no DELETE)."""
    who = current_principal()
    with service_context().db.reader() as session:
        record = session.get(ConflictRecord, conflict_id)
        if record is None or (who.role == "expert" and record.expert_id != _me(session).id):
            raise NotFound()
        return _named(session, [record])[0]


@blp.post("/conflicts/<conflict_id>/withdraw")
@blp.arguments(WithdrawIn)
@blp.response(200, ConflictOut)
@roles("operator", "admin")
def withdraw_conflict(body: dict[str, Any], conflict_id: str) -> dict[str, Any]:
    """Conflicts are never deleted: a false one is withdrawn with a reason (audited)."""
    ctx = service_context()
    who = current_principal()
    with ctx.db.session() as session:
        record = session.get(ConflictRecord, conflict_id)
        if record is None:
            raise NotFound()
        registry.withdraw_conflict(session, record, reason=body["reason"], actor=who.subject)
        _audit(session, "conflict.withdrawn", f"conflict:{record.id}", reason=body["reason"])
        return _named(session, [record])[0]


# -- audit ------------------------------------------------------------------------------------

@blp.get("/audit")
@blp.arguments(AuditQuery, location="query", as_kwargs=True)
@blp.response(200, AuditPage)
@roles("supervisor", "admin")
def audit_log(page: int, per_page: int, action: str | None, actor: str | None,
              target: str | None) -> dict[str, Any]:
    """The supervision group's view of review's audit log, with the hash chain verified."""
    ctx = service_context()
    table = ctx.audit.table
    query = select(table).order_by(table.c.seq.desc())
    for column, value in ((table.c.action, action), (table.c.actor, actor),
                          (table.c.target, target)):
        if value:
            query = query.where(column == value)
    check = check_chain(ctx.db, ctx.audit, ctx.store, ctx.name)
    with ctx.db.reader() as session:
        result = paginate(session, query, page, per_page, scalars=False)
    result["items"] = [dict(row._mapping) for row in result["items"]]
    return {**result, "chain_ok": check.ok, "chain_records": check.records}


# -- panels and assignments -------------------------------------------------------------------

@blp.get("/panels")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, PanelPage)
@roles(*STAFF)
def list_panels(page: int, per_page: int) -> dict[str, Any]:
    with service_context().db.reader() as session:
        return paginate(session, select(Panel).order_by(Panel.cycle, Panel.stage), page,
                        per_page)


@blp.post("/panels")
@blp.arguments(PanelIn)
@blp.response(201, PanelOut)
@roles("operator", "admin")
def create_panel(body: dict[str, Any]) -> Panel:
    ctx = service_context()
    with ctx.db.session() as session:
        if session.scalars(select(Panel.id).where(Panel.cycle == body["cycle"],
                                                  Panel.stage == body["stage"])).first():
            raise Conflict("panel.exists", zh="该届次已设此评审阶段。",
                           en="This cycle already has a panel for this stage.")
        panels.check_members(session, body["cycle"], body["pool"], body["applications"])
        panel = Panel(id=str(uuid.uuid4()), created_at=registry.now(), **body)
        session.add(panel)
        session.flush()
        _audit(session, "panel.created", f"panel:{panel.id}", stage=panel.stage)
    return panel


@blp.put("/panels/<panel_id>")
@blp.arguments(PanelSettingsIn)
@blp.response(200, PanelOut)
@roles("operator", "admin")
def update_panel(body: dict[str, Any], panel_id: str) -> Panel:
    """K, load cap, field matching, weight, deadline, pool, shortlist: only before the run."""
    ctx = service_context()
    with ctx.db.session() as session:
        panel = session.get(Panel, panel_id)
        if panel is None:
            raise NotFound()
        panels.update_settings(session, panel, body)
        _audit(session, "panel.updated", f"panel:{panel.id}", changed=sorted(body))
    return panel


@blp.post("/panels/<panel_id>/assign")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(201, AssignmentPage)
@roles("operator", "admin")
def assign(page: int, per_page: int, panel_id: str) -> dict[str, Any]:
    """Run the exact optimum and answer its first page (the rest: `GET /assignments`);
    409 `assignment.infeasible` names each uncovered application and why."""
    ctx = service_context()
    with ctx.db.session() as session:
        panel = session.get(Panel, panel_id)
        if panel is None:
            raise NotFound()
        made = panels.run_assignment(session, ctx.outbox, panel)
        _audit(session, "panel.assigned", f"panel:{panel.id}", pairs=len(made))
        made.sort(key=lambda a: (a.application_id, a.expert_id))
        items = _rows(session, made[(page - 1) * per_page: page * per_page])
    return {"items": items, "page": page, "per_page": per_page, "total": len(made)}


@blp.get("/panels/<panel_id>/candidates/<application_id>")
@blp.response(200, CandidateOut(many=True))
@roles(*STAFF)
def panel_candidates(panel_id: str, application_id: str) -> list[dict[str, Any]]:
    """Every pool expert for one application: eligible or not and why, affinity, load."""
    with service_context().db.reader() as session:
        panel = session.get(Panel, panel_id)
        application = session.get(Application, application_id)
        if panel is None or application is None:
            raise NotFound()
        return panels.candidates(session, panel, application)


@blp.get("/assignments")
@blp.arguments(AssignmentQuery, location="query", as_kwargs=True)
@blp.response(200, AssignmentPage)
@roles(*STAFF)
def list_assignments(page: int, per_page: int, panel_id: str | None,
                     application_id: str | None, expert_id: str | None,
                     status: str | None) -> dict[str, Any]:
    query = select(Assignment).order_by(Assignment.application_id, Assignment.expert_id)
    for column, value in ((Assignment.panel_id, panel_id),
                          (Assignment.application_id, application_id),
                          (Assignment.expert_id, expert_id), (Assignment.status, status)):
        if value:
            query = query.where(column == value)
    with service_context().db.reader() as session:
        result = paginate(session, query, page, per_page)
        result["items"] = _rows(session, result["items"])
        return result


@blp.post("/assignments/<assignment_id>/confirm")
@blp.response(200, AssignmentOut)
@roles("operator", "admin")
def confirm_assignment(assignment_id: str) -> dict[str, Any]:
    ctx = service_context()
    with ctx.db.session() as session:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None:
            raise NotFound()
        panels.confirm(session, ctx.outbox, assignment)
        _audit(session, "assignment.confirmed", f"assignment:{assignment.id}")
        return _rows(session, [assignment])[0]


def _rows(session: Any, assignments: list[Assignment]) -> list[dict[str, Any]]:
    """Assignments with the names a page shows, in two queries rather than one per row."""
    experts = {e.id: e for e in session.scalars(select(Expert).where(
        Expert.id.in_({a.expert_id for a in assignments})))}
    apps = {a.id: a for a in session.scalars(select(Application).where(
        Application.id.in_({a.application_id for a in assignments})))}
    rows = []
    for a in assignments:
        row = {c: getattr(a, c) for c in ("id", "panel_id", "application_id", "expert_id",
                                          "status", "affinity", "explanation", "created_at",
                                          "ended_at", "end_reason")}
        row["expert_subject"] = experts[a.expert_id].subject
        row["expert_name"] = experts[a.expert_id].name
        row["applicant_name"] = apps[a.application_id].applicant_name
        rows.append(row)
    return rows
