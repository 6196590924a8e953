"""A panel's assignment as a background job on review's worker: queued, running (reading the
panel, solving, saving), then done, failed with its reason in words, or cancelled.

`start` records the job and asks the worker for it through the outbox (`assignment.requested`,
in the same transaction), so a broker outage delays the job but never loses it. `run` is what
the worker calls: it reads the panel, solves with no transaction open, and writes the
assignments with the same domain function as the synchronous endpoint (`panels.store`),
reporting its phase between steps and checking for a cancel before each solver round. A job
already finished is not run again; a job left `running` by a killed worker is run again from the
start on redelivery (nothing is written before the last step's one transaction).
No Flask or Celery here.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from services.review import panel_setup, panels
from services.review.assignment import AssignmentError, Solution, solve
from services.review.models import AssignmentJob, Panel
from shared import clock
from shared.audit import AuditLog
from shared.db import Database
from shared.errors import Conflict, DossierError, NotFound
from shared.events import Outbox
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

EVENT = "assignment.requested"
LIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled")
STATUSES = LIVE + FINISHED
PHASES = ("queued", "reading", "solving", "writing", "finished")
# Progress at each phase; the solve moves between SOLVING and WRITING round by round.
READING, SOLVING, WRITING = 0.05, 0.2, 0.9


class JobRunning(Conflict):
    code = "assignment.job_running"
    zh = "该评审阶段的分配正在进行，请等待其完成或先取消。"
    en = "This panel's assignment is already running; wait for it or cancel it first."


class JobFinished(Conflict):
    code = "assignment.job_finished"
    zh = "该分配任务已结束，无法取消。"
    en = "This assignment job has already finished; it cannot be cancelled."


class TooLong(DossierError):
    code = "assignment.too_long"
    status = 503
    zh = "分配超出了后台任务允许的运行时间，请联系管理员延长时限后重新运行。"
    en = ("The assignment ran past the worker's time limit; ask an administrator to raise it, "
          "then run it again.")


class SolverFailed(DossierError):
    code = "assignment.solver_failed"
    status = 500
    zh = "求解器未能得出结果，已记录，请联系管理员。"
    en = "The solver could not reach a result; it has been logged for the administrator."


class Cancelled(Exception):
    """Raised between solver rounds when the job's cancel was requested."""


def get(session: Any, job_id: str) -> AssignmentJob:
    job = session.get(AssignmentJob, job_id)
    if job is None:
        raise NotFound(detail=f"assignment job {job_id}")
    return job


def latest(session: Any, panel_id: str) -> AssignmentJob | None:
    """The panel's most recent job, if any (what its page shows)."""
    return session.scalars(select(AssignmentJob).where(AssignmentJob.panel_id == panel_id)
                           .order_by(AssignmentJob.requested_at.desc()).limit(1)).first()


def start(work: UnitOfWork, panel_id: str) -> AssignmentJob:
    """Queue the panel's assignment; refused while another job of the panel is live or once the
    panel has its assignment."""
    session = work.session
    panel_setup.get(session, panel_id)
    # Serialises two starts for one panel on PostgreSQL (SQLite serialises every writer).
    panel = session.scalars(select(Panel).where(Panel.id == panel_id).with_for_update()).one()
    panels.refuse_second(session, panel)
    live = session.scalars(select(AssignmentJob.id).where(
        AssignmentJob.panel_id == panel_id, AssignmentJob.status.in_(LIVE))).first()
    if live is not None:
        raise JobRunning()
    job = AssignmentJob(id=str(uuid.uuid4()), panel_id=panel_id, status="queued",
                        phase="queued", fraction=0.0, cancel_requested=False,
                        requested_by=work.who.subject, requested_role=work.who.role,
                        requested_at=work.now())
    session.add(job)
    session.flush()
    work.audit("assignment.job_started", f"panel:{panel_id}", job=job.id)
    work.emit(EVENT, {"job_id": job.id, "panel_id": panel_id, "audience": []})
    return job


def cancel(work: UnitOfWork, job_id: str) -> AssignmentJob:
    """A queued job ends at once; a running one stops at its next check (between solver
    rounds, or before it writes)."""
    job = get(work.session, job_id)
    if job.status in FINISHED:
        raise JobFinished()
    job.cancel_requested = True
    if job.status == "queued":
        _finish(job, "cancelled", work.now())
    work.audit("assignment.job_cancelled", f"panel:{job.panel_id}", job=job.id)
    work.session.flush()
    return job


def run(db: Database, outbox: Outbox, audit_log: AuditLog, job_id: str) -> str:
    """Run the job to its end; returns its final status. Transient failures (database, broker)
    propagate so the task retries; the job then stays `running` and is run again."""
    status = db.transact(lambda s: _claim(s, job_id))
    if status != "running":
        return status
    try:
        with db.reader() as session:
            job = get(session, job_id)
            prepared = panels.prepare(session, panel_setup.get(session, job.panel_id))
        progress(db, job_id, "solving", SOLVING)
        solution = solve(prepared.matrices.problem, on_round=lambda n: progress(
            db, job_id, "solving", min(SOLVING + 0.1 * (n + 1), WRITING - 0.05)))
        if not solution.feasible:
            raise _infeasible(solution)
        progress(db, job_id, "writing", WRITING)
        return db.transact(lambda s: _write(s, outbox, audit_log, job_id, prepared, solution))
    except Cancelled:
        return db.transact(lambda s: _end(s, job_id, "cancelled"))
    except AssignmentError:
        log.exception("assignment job %s: the solver failed", job_id)
        return fail(db, job_id, SolverFailed())
    except DossierError as exc:
        log.info("assignment job %s failed: %s", job_id, exc)
        return fail(db, job_id, exc)


def fail(db: Database, job_id: str, error: DossierError) -> str:
    """Record the job as failed with its reason in words (also for the task, when the worker's
    time limit stops it)."""
    return db.transact(lambda s: _end(s, job_id, "failed", error))


def progress(db: Database, job_id: str, phase: str, fraction: float) -> None:
    """Record the phase in a short transaction of its own; raise `Cancelled` if asked to."""
    def record(session: Any) -> bool:
        job = get(session, job_id)
        job.phase, job.fraction = phase, round(fraction, 3)
        return job.cancel_requested

    if db.transact(record):
        raise Cancelled()


def _claim(session: Any, job_id: str) -> str:
    job = session.get(AssignmentJob, job_id)
    if job is None:
        log.warning("assignment job %s is not known; nothing to run", job_id)
        return "missing"
    if job.status in FINISHED:
        return job.status  # a redelivery of a finished job: nothing to do
    if job.cancel_requested:
        _finish(job, "cancelled", _now())
        return job.status
    # `running` too: a worker killed mid-job left it so, and nothing of it was written.
    job.status, job.phase, job.fraction = "running", "reading", READING
    job.started_at = job.started_at or _now()
    return job.status


def _write(session: Any, outbox: Outbox, audit_log: AuditLog, job_id: str,
           prepared: panels.Prepared, solution: Solution) -> str:
    job = get(session, job_id)
    if job.cancel_requested:
        _finish(job, "cancelled", _now())
        return job.status
    panel = panel_setup.get(session, job.panel_id)
    if panels.conflicted_since(session, prepared, solution):
        raise DossierError("assignment.changed", status=409,
                           zh="求解期间有专家登记了回避关系，请重新运行分配。",
                           en="A conflict of interest was recorded while the solver ran; "
                              "run the assignment again.")
    made = panels.store(session, outbox, panel, prepared, solution)
    audit_log.append(session, actor=job.requested_by, role=job.requested_role,
                     action="panel.assigned", target=f"panel:{panel.id}", detail={
                         "pairs": len(made), "job": job.id})
    job.pairs = len(made)
    _finish(job, "done", _now())
    return job.status


def _end(session: Any, job_id: str, status: str, exc: DossierError | None = None) -> str:
    job = get(session, job_id)
    if exc is not None:
        job.error_code, job.error = exc.code, {"zh": exc.zh, "en": exc.en}
    _finish(job, status, _now())
    return status


def _finish(job: AssignmentJob, status: str, at: datetime) -> None:
    job.status, job.finished_at = status, at
    job.phase = "finished"
    if status == "done":
        job.fraction = 1.0


def _infeasible(solution: Solution) -> DossierError:
    """The solver's refusal in words (its own message is an English sentence for logs)."""
    short = len(solution.shortfalls)
    if short:
        return DossierError("assignment.infeasible", status=409,
                            zh=f"无法完成分配：{short} 项申报的合格专家不足，"
                               "请在评审阶段页面查看原因。",
                            en=f"No assignment exists: {short} application(s) cannot get enough "
                               "eligible experts; the panel's page shows why.")
    return DossierError("assignment.infeasible", status=409,
                        zh="无法完成分配：专家的评审上限合计少于需要填补的名额。",
                        en="No assignment exists: the experts' load caps total fewer than the "
                           "places to fill.")


def _now() -> datetime:
    # In UTC, as `UnitOfWork.now`: SQLite keeps no offset.
    return clock.now().astimezone(UTC)
