"""Review's HTTP API: experts, conflicts, panels and assignments."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_smorest import Blueprint
from sqlalchemy import select

from services.review import (
    applications,
    assignment_jobs,
    conflict_records,
    experts,
    panel_setup,
    panels,
    registry,
)
from services.review.models import Application, Assignment, AssignmentJob, Expert, Panel
from services.review.programme import Programme
from services.review.schemas import (
    ApplicationPage,
    ApplicationQuery,
    AssignmentJobOut,
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
from shared.audit import records_query
from shared.audit_anchors import check_chain
from shared.errors import NotFound
from shared.http import current_principal, roles, service_context
from shared.http_work import audit_caller, request_work
from shared.pagination import PageQuery, paginate

blp = Blueprint("review", __name__, url_prefix="/api", description="Experts and assignments")

STAFF = ("operator", "supervisor", "admin")


def _rules() -> dict[str, Any]:
    return Programme(service_context().settings.review_data_dir).grounds()


# -- experts ----------------------------------------------------------------------------------

@blp.get("/experts")
@blp.arguments(ExpertQuery, location="query", as_kwargs=True)
@blp.response(200, ExpertPage)
@roles(*STAFF)
def list_experts(page: int, per_page: int, q: str | None, field: str | None,
                 county: str | None) -> dict[str, Any]:
    with service_context().db.reader() as session:
        query = experts.search(session, experts.ExpertFilter(q=q, field=field, county=county))
        return paginate(session, query, page, per_page)


@blp.post("/experts")
@blp.arguments(ExpertIn)
@blp.response(201, ExpertOut)
@roles("operator", "admin")
def create_expert(body: dict[str, Any]) -> Expert:
    with request_work() as work:
        return experts.create(work, experts.NewExpert.from_body(body), _rules())


@blp.get("/experts/<expert_id>")
@blp.response(200, ExpertOut)
@roles(*STAFF, "expert")
def get_expert(expert_id: str) -> Expert:
    who = current_principal()
    with service_context().db.reader() as session:
        expert = experts.get(session, expert_id)
        if who.role == "expert" and expert.subject != who.subject:
            raise NotFound()
        return expert


@blp.put("/experts/<expert_id>")
@blp.arguments(ExpertIn)
@blp.response(200, ExpertOut)
@roles("operator", "admin")
def update_expert(body: dict[str, Any], expert_id: str) -> Expert:
    with request_work() as work:
        return experts.update(work, expert_id, experts.ExpertDetails.from_body(body), _rules())


@blp.post("/experts/<expert_id>/deactivate")
@blp.arguments(WithdrawIn)
@blp.response(200, ExpertOut)
@roles("operator", "admin")
def deactivate_expert(body: dict[str, Any], expert_id: str) -> Expert:
    """Take an expert out of service: assignments end now, replacements are proposed."""
    with request_work() as work:
        return experts.deactivate(work, expert_id, body["reason"])


@blp.post("/experts/<expert_id>/reactivate")
@blp.response(200, ExpertOut)
@roles("operator", "admin")
def reactivate_expert(expert_id: str) -> Expert:
    with request_work() as work:
        return experts.reactivate(work, expert_id)


@blp.post("/experts/import")
@blp.response(201, ImportOut)
@roles("operator", "admin")
def import_experts() -> experts.Imported:
    """Bulk import from CSV (`text/csv` body): all rows or none."""
    with request_work() as work:
        return experts.import_csv(work, request.get_data(),
                                  request.mimetype_params.get("charset"), _rules())


@blp.get("/experts/<expert_id>/conflict-check")
@blp.response(200, ConflictPage)
@roles("operator", "supervisor", "admin")
def conflict_check(expert_id: str) -> dict[str, Any]:
    """Every current conflict of an expert across all applications (before inviting them)."""
    with service_context().db.reader() as session:
        experts.get(session, expert_id)
        items = conflict_records.named(session, registry.active_conflicts(
            session, expert_id=expert_id))
        return {"items": items, "page": 1, "per_page": len(items), "total": len(items)}


# -- applications -----------------------------------------------------------------------------

@blp.get("/applications")
@blp.arguments(ApplicationQuery, location="query", as_kwargs=True)
@blp.response(200, ApplicationPage)
@roles(*STAFF)
def list_applications(page: int, per_page: int, cycle: str | None, kind: str | None
                      ) -> dict[str, Any]:
    """Accepted applications with their document and live-conflict counts."""
    with service_context().db.reader() as session:
        return applications.listing(session, page, per_page, cycle=cycle, kind=kind)


# -- conflicts --------------------------------------------------------------------------------

@blp.get("/conflicts")
@blp.arguments(ConflictQuery, location="query", as_kwargs=True)
@blp.response(200, ConflictPage)
@roles(*STAFF, "expert")
def list_conflicts(page: int, per_page: int, expert_id: str | None, application_id: str | None,
                   active: bool | None, source: str | None) -> dict[str, Any]:
    who = current_principal()
    with service_context().db.reader() as session:
        if who.role == "expert":  # an expert sees only their own declarations
            expert_id = conflict_records.expert_of(session, who.subject).id
        query = conflict_records.search(conflict_records.ConflictFilter(
            expert_id=expert_id, application_id=application_id, active=active, source=source))
        result = paginate(session, query, page, per_page)
        result["items"] = conflict_records.named(session, result["items"])
        return result


@blp.post("/conflicts")
@blp.arguments(ConflictIn)
@blp.response(201, ConflictOut)
@roles("operator", "admin", "expert")
def record_conflict(body: dict[str, Any]) -> dict[str, Any]:
    """A conflict the operator records or the expert declares; access ends at once."""
    with request_work() as work:
        done = conflict_records.record(work, conflict_records.ConflictReport(**body), _rules())
        return conflict_records.named(work.session, [done.record])[0]


@blp.get("/conflicts/<conflict_id>")
@blp.response(200, ConflictOut)
@roles(*STAFF, "expert")
def get_conflict(conflict_id: str) -> dict[str, Any]:
    """One record with its ground, source, time and any withdrawal (there is no DELETE)."""
    who = current_principal()
    with service_context().db.reader() as session:
        record = conflict_records.get(session, conflict_id)
        if who.role == "expert" and record.expert_id != conflict_records.expert_of(
                session, who.subject).id:
            raise NotFound()
        return conflict_records.named(session, [record])[0]


@blp.post("/conflicts/<conflict_id>/withdraw")
@blp.arguments(WithdrawIn)
@blp.response(200, ConflictOut)
@roles("operator", "admin")
def withdraw_conflict(body: dict[str, Any], conflict_id: str) -> dict[str, Any]:
    """Conflicts are never deleted: a false one is withdrawn with a reason (audited)."""
    with request_work() as work:
        record = conflict_records.withdraw(work, conflict_id, body["reason"])
        return conflict_records.named(work.session, [record])[0]


# -- audit ------------------------------------------------------------------------------------

@blp.get("/audit")
@blp.arguments(AuditQuery, location="query", as_kwargs=True)
@blp.response(200, AuditPage)
@roles("supervisor", "admin")
def audit_log(page: int, per_page: int, action: str | None, actor: str | None,
              target: str | None) -> dict[str, Any]:
    """The supervision group's view of review's audit log, with the hash chain verified."""
    ctx = service_context()
    query = records_query(ctx.audit.table, {"action": action, "actor": actor, "target": target},
                          exact=True)
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
        return paginate(session, panel_setup.listing(), page, per_page)


@blp.post("/panels")
@blp.arguments(PanelIn)
@blp.response(201, PanelOut)
@roles("operator", "admin")
def create_panel(body: dict[str, Any]) -> Panel:
    with request_work() as work:
        return panel_setup.create(work, panel_setup.NewPanel.from_body(body))


@blp.put("/panels/<panel_id>")
@blp.arguments(PanelSettingsIn)
@blp.response(200, PanelOut)
@roles("operator", "admin")
def update_panel(body: dict[str, Any], panel_id: str) -> Panel:
    """K, load cap, field matching, weight, deadline, pool, shortlist: only before the run."""
    with request_work() as work:
        return panel_setup.update(work, panel_id, panel_setup.PanelChanges.from_body(body))


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
        audit_caller(session, "panel.assigned", f"panel:{panel.id}", pairs=len(made))
        made.sort(key=lambda a: (a.application_id, a.expert_id))
        items = _rows(session, made[(page - 1) * per_page: page * per_page])
    return {"items": items, "page": page, "per_page": per_page, "total": len(made)}


@blp.post("/panels/<panel_id>/assignment-jobs")
@blp.response(202, AssignmentJobOut)
@roles("operator", "admin")
def start_assignment_job(panel_id: str) -> tuple[AssignmentJob, int, dict[str, str]]:
    """Queue the panel's assignment on review's worker (for panels too large to solve within
    a request); poll the job at `Location`. 409 `assignment.job_running` while one is live,
    `assignment.exists` once the panel has its assignment."""
    with request_work() as work:
        job = assignment_jobs.start(work, panel_id)
    return job, 202, {"Location": url_for(".get_assignment_job", job_id=job.id)}


@blp.get("/assignment-jobs/<job_id>")
@blp.response(200, AssignmentJobOut)
@roles(*STAFF)
def get_assignment_job(job_id: str) -> AssignmentJob:
    """A job's status, phase and progress; its reason in words when it failed."""
    with service_context().db.reader() as session:
        return assignment_jobs.get(session, job_id)


@blp.post("/assignment-jobs/<job_id>/cancel")
@blp.response(200, AssignmentJobOut)
@roles("operator", "admin")
def cancel_assignment_job(job_id: str) -> AssignmentJob:
    """A queued job ends at once, a running one at its next check (it writes nothing);
    409 `assignment.job_finished` once it has ended."""
    with request_work() as work:
        return assignment_jobs.cancel(work, job_id)


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
        audit_caller(session, "assignment.confirmed", f"assignment:{assignment.id}")
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
