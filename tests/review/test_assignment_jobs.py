"""A panel's assignment as a background job (`assignment_jobs`), in process: a SQLite file per
test, the real outbox and audit tables, the worker's `run` called as the task calls it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select

from services.review import assignment_jobs
from services.review.assignment import AssignmentError, Problem, Solution, solve
from services.review.models import Application, Assignment, AssignmentJob, Expert, Panel, metadata
from shared.audit import AuditKey, AuditLog
from shared.auth import Principal
from shared.db import Database
from shared.errors import DossierError
from shared.events import Outbox
from shared.unit_of_work import open_work

OPERATOR = Principal(subject="op-wang", role="operator")


class World:
    def __init__(self, root: Path) -> None:
        self.db = Database(f"sqlite:///{root / 'review.db'}")
        metadata.create_all(self.db.engine)
        self.outbox = Outbox(metadata, "review")
        self.audit = AuditLog(metadata.tables["audit_log"], AuditKey("审计密钥-测试"))

    def work(self) -> Any:
        return open_work(self.db, self.outbox, self.audit, OPERATOR)

    def add(self, *rows: Any) -> None:
        with self.db.session() as session:
            session.add_all(rows)

    def panel(self, per_application: int = 1, max_load: int = 2) -> str:
        panel = Panel(id=str(uuid.uuid4()), cycle="xz-2027", stage="material",
                      per_application=per_application, max_load=max_load,
                      require_field_match=False, weight=1.0, pool=[], applications=[],
                      deadline=None, created_at=datetime.now(UTC))
        self.add(panel)
        return panel.id

    def start(self, panel_id: str) -> str:
        with self.work() as work:
            return assignment_jobs.start(work, panel_id).id

    def run(self, job_id: str) -> str:
        return assignment_jobs.run(self.db, self.outbox, self.audit, job_id)

    def job(self, job_id: str) -> AssignmentJob:
        with self.db.reader() as session:
            return assignment_jobs.get(session, job_id)

    def assignments(self, panel_id: str) -> int:
        with self.db.reader() as session:
            return int(session.scalar(select(func.count()).select_from(Assignment).where(
                Assignment.panel_id == panel_id)) or 0)

    def count(self, table: str, **where: str) -> int:
        t = metadata.tables[table]
        query = select(func.count()).select_from(t)
        for column, value in where.items():
            query = query.where(t.c[column] == value)
        with self.db.reader() as session:
            return int(session.scalar(query) or 0)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    now = datetime.now(UTC)
    w.add(*[Application(id=f"app-{i}", cycle="xz-2027", kind="organisation", owner=f"owner-{i}",
                        applicant_name=name, unit="140902", profile={"industry": "机械制造"},
                        documents=[], accepted_at=now)
            for i, name in enumerate(["忻州精工机械有限公司", "忻州示范农业合作社"])],
          *[Expert(id=f"exp-{i}", subject=f"e-{i}", name=name, organisation="山西大学",
                   fields=["机械制造"], created_at=now, active=True)
            for i, name in enumerate(["李明", "王芳"])])
    yield w
    w.db.engine.dispose()


def test_starting_queues_the_job_through_the_outbox_and_audits_who_asked(world: World) -> None:
    panel_id = world.panel()
    job_id = world.start(panel_id)
    job = world.job(job_id)
    assert (job.status, job.phase, job.fraction, job.requested_by) == (
        "queued", "queued", 0.0, "op-wang")
    assert world.count("outbox", type="assignment.requested") == 1
    assert world.count("audit_log", action="assignment.job_started") == 1


def test_a_second_start_while_one_is_live_is_refused_with_a_stable_code(world: World) -> None:
    panel_id = world.panel()
    world.start(panel_id)
    with pytest.raises(DossierError) as refused:
        world.start(panel_id)
    assert (refused.value.code, refused.value.status) == ("assignment.job_running", 409)
    assert world.count("outbox", type="assignment.requested") == 1


def test_running_writes_the_assignments_and_a_redelivery_does_not_run_it_again(
        world: World) -> None:
    panel_id = world.panel()
    job_id = world.start(panel_id)
    assert world.run(job_id) == "done"
    job = world.job(job_id)
    assert (job.status, job.phase, job.fraction, job.pairs) == ("done", "finished", 1.0, 2)
    assert job.started_at is not None and job.finished_at is not None
    assert world.assignments(panel_id) == 2
    assert world.count("outbox", type="assignment.made") >= 1
    assert world.count("audit_log", action="panel.assigned") == 1
    assert world.run(job_id) == "done"  # the task delivered twice
    assert world.assignments(panel_id) == 2
    assert world.count("audit_log", action="panel.assigned") == 1
    with pytest.raises(DossierError) as again:  # and the panel now has its assignment
        world.start(panel_id)
    assert again.value.code == "assignment.exists"


def test_a_job_left_running_by_a_killed_worker_runs_again_to_the_end(world: World) -> None:
    panel_id = world.panel()
    job_id = world.start(panel_id)
    with world.db.session() as session:
        job = session.get(AssignmentJob, job_id)
        assert job is not None
        job.status, job.phase = "running", "solving"
    assert world.run(job_id) == "done"
    assert world.assignments(panel_id) == 2


def test_cancelling_a_queued_job_ends_it_and_the_worker_then_skips_it(world: World) -> None:
    panel_id = world.panel()
    job_id = world.start(panel_id)
    with world.work() as work:
        assignment_jobs.cancel(work, job_id)
    assert world.job(job_id).status == "cancelled"
    assert world.run(job_id) == "cancelled"
    assert world.assignments(panel_id) == 0
    with pytest.raises(DossierError) as finished, world.work() as work:
        assignment_jobs.cancel(work, job_id)
    assert (finished.value.code, finished.value.status) == ("assignment.job_finished", 409)
    world.start(panel_id)  # a cancelled job does not block a new one


def test_cancelling_while_the_solver_runs_stops_it_at_the_next_round_writing_nothing(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    panel_id = world.panel()
    job_id = world.start(panel_id)
    seen: list[str] = []

    def solve_then_cancel(problem: Problem, **options: Any) -> Solution:
        seen.append(world.job(job_id).status)
        with world.work() as work:  # the operator presses 取消 while the solve runs
            assignment_jobs.cancel(work, job_id)
        return solve(problem, **options)

    monkeypatch.setattr(assignment_jobs, "solve", solve_then_cancel)
    assert world.run(job_id) == "cancelled"
    assert seen == ["running"]
    job = world.job(job_id)
    assert (job.status, job.cancel_requested, job.pairs) == ("cancelled", True, None)
    assert world.assignments(panel_id) == 0


def test_a_failure_is_recorded_with_its_reason_in_words(world: World) -> None:
    panel_id = world.panel(per_application=3)  # two experts cannot give anyone three
    job_id = world.start(panel_id)
    assert world.run(job_id) == "failed"
    job = world.job(job_id)
    assert job.error_code == "assignment.infeasible"
    assert job.error is not None
    assert job.error["zh"].startswith("无法完成分配：2 项申报的合格专家不足")
    assert not re.search(r"[A-Za-z_]", job.error["zh"])  # words, not codes
    assert "cannot get enough eligible experts" in job.error["en"]
    assert world.assignments(panel_id) == 0
    world.start(panel_id)  # a failed job does not block a new one


def test_the_solver_calls_the_round_hook_before_each_round() -> None:
    rounds: list[int] = []
    problem = Problem(np.array([[3, 1], [1, 3]]), np.zeros((2, 2), dtype=bool), 1, 1)
    solution = solve(problem, on_round=rounds.append)
    assert solution.feasible and rounds and rounds[0] == 0


def test_a_solver_that_breaks_fails_the_job_in_words_and_a_time_limit_can_be_recorded(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    panel_id = world.panel()
    job_id = world.start(panel_id)

    def broken(problem: Problem, **options: Any) -> Solution:
        raise AssignmentError("the assignment did not settle")

    monkeypatch.setattr(assignment_jobs, "solve", broken)
    assert world.run(job_id) == "failed"
    job = world.job(job_id)
    assert job.error_code == "assignment.solver_failed" and job.error is not None
    assert job.error["zh"] == "求解器未能得出结果，已记录，请联系管理员。"
    second = world.start(panel_id)
    assert assignment_jobs.fail(world.db, second, assignment_jobs.TooLong()) == "failed"
    assert world.job(second).error_code == "assignment.too_long"
    assert world.assignments(panel_id) == 0
