"""Panels (review stages) and their assignments: build the flow problem from the database,
store the optimum with its explanation, and handle recusal with a replacement proposal."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from services.review.assignment import Problem, Solution, propose_replacement, solve
from services.review.conflicts import normalise_name
from services.review.models import Application, Assignment, ConflictRecord, Expert, Panel
from services.review.registry import now
from shared.errors import Conflict, DossierError
from shared.events import Outbox

STAGES = ("material", "on-site", "defence")
FIELD_MATCH = 100  # affinity for an expert whose fields cover the applicant's field
OTHER_COUNTY = 10  # a little preference for experts from outside the applicant's county


def application_field(application: Application) -> str:
    profile = application.profile or {}
    return str(profile.get("field") or profile.get("industry") or "")


class Infeasible(DossierError):
    code = "assignment.infeasible"
    status = 409
    zh = "无法完成分配：{summary}"
    en = "No assignment exists: {summary}"


@dataclass
class Matrices:
    problem: Problem
    field_match: np.ndarray
    other_county: np.ndarray

    def terms(self, a: int, e: int) -> dict[str, int]:
        """The named parts of a pair's affinity, so the choice can be explained."""
        terms = {}
        if self.field_match[a, e]:
            terms["field-match"] = FIELD_MATCH
        if self.other_county[a, e]:
            terms["other-county"] = OTHER_COUNTY
        return terms


def _matrices(session: Session, panel: Panel, apps: Sequence[Application],
              experts: Sequence[Expert]) -> Matrices:
    """Affinity, conflicts, field mismatches and exclusions as matrices, built column-wise
    (thousands × hundreds of pairs: no Python loop over pairs)."""
    a_pos = {a.id: i for i, a in enumerate(apps)}
    e_pos = {e.id: j for j, e in enumerate(experts)}
    shape = (len(apps), len(experts))
    vocabulary: dict[str, int] = {}
    app_field = np.array([vocabulary.setdefault(normalise_name(application_field(a)), len(
        vocabulary)) if application_field(a) else -1 for a in apps], dtype=np.int64)
    covers = np.zeros((len(experts), len(vocabulary) + 1), dtype=bool)  # last column: no field
    for j, expert in enumerate(experts):
        for f in expert.fields or []:
            if normalise_name(f) in vocabulary:
                covers[j, vocabulary[normalise_name(f)]] = True
    match = covers[:, app_field].T if len(apps) else np.zeros(shape, dtype=bool)
    counties = [str((a.profile or {}).get("county") or "") for a in apps]
    other_county = np.array([[bool(c) and bool(e.county) and c != e.county for e in experts]
                             for c in sorted(set(counties))], dtype=bool).reshape(
        len(set(counties)), len(experts))
    county_row = {c: i for i, c in enumerate(sorted(set(counties)))}
    other = other_county[[county_row[c] for c in counties]] if apps else \
        np.zeros(shape, dtype=bool)
    affinity = match.astype(np.int64) * FIELD_MATCH + other.astype(np.int64) * OTHER_COUNTY
    mismatch = ~match if panel.require_field_match else np.zeros(shape, dtype=bool)
    conflicted = np.zeros(shape, dtype=bool)
    for c in session.scalars(select(ConflictRecord).where(ConflictRecord.withdrawn_at.is_(None))):
        if c.application_id in a_pos and c.expert_id in e_pos:
            conflicted[a_pos[c.application_id], e_pos[c.expert_id]] = True
    excluded = np.zeros(shape, dtype=bool)
    for s in session.scalars(select(Assignment).where(Assignment.panel_id == panel.id,
                                                      Assignment.status != "active")):
        # Someone who left an application (recusal) is not offered it again.
        if s.application_id in a_pos and s.expert_id in e_pos:
            excluded[a_pos[s.application_id], e_pos[s.expert_id]] = True
    problem = Problem(affinity, conflicted, panel.per_application, panel.max_load,
                      field_mismatch=mismatch, excluded=excluded)
    return Matrices(problem, match, other)


def _explain(terms: Mapping[str, int], affinity: np.ndarray, eligible: np.ndarray,
             e: int) -> dict[str, Any]:
    """Why this expert: the affinity terms, and how the pair ranks among the eligible ones."""
    better = int((affinity[eligible] > affinity[e]).sum())
    return {"terms": dict(terms), "affinity": int(affinity[e]),
            "eligible_experts": int(eligible.sum()), "eligible_with_higher_affinity": better,
            "why": "maximum total affinity under coverage, load caps and conflicts"}


def shortlist(session: Session, panel: Panel) -> list[Application]:
    """The applications the panel reviews, in a stable order (id)."""
    query = select(Application).where(Application.cycle == panel.cycle).order_by(Application.id)
    if panel.applications:
        query = query.where(Application.id.in_(panel.applications))
    return list(session.scalars(query))


def pool(session: Session, panel: Panel) -> list[Expert]:
    """The panel's experts in a stable order (subject): the solver's tie-break order."""
    query = select(Expert).where(Expert.active.is_(True)).order_by(Expert.subject)
    if panel.pool:
        query = query.where(Expert.id.in_(panel.pool))
    return list(session.scalars(query))


@dataclass
class Prepared:
    """A panel's problem as read from the database: what the solver needs and what storing
    its answer needs, so that the solve itself runs with no transaction open."""

    apps: list[Application]
    experts: list[Expert]
    matrices: Matrices


def refuse_second(session: Session, panel: Panel) -> None:
    if session.scalars(select(Assignment.id).where(Assignment.panel_id == panel.id)).first():
        raise Conflict("assignment.exists", zh="该评审阶段已完成分配。",
                       en="This panel already has its assignment.")


def prepare(session: Session, panel: Panel) -> Prepared:
    """Read the panel's shortlist, pool and conflicts into the solver's problem."""
    refuse_second(session, panel)
    apps = shortlist(session, panel)
    experts = pool(session, panel)
    if not apps:
        raise DossierError("assignment.nothing", status=409, zh="该届次尚无已受理的申报。",
                           en="No accepted applications in this cycle yet.")
    return Prepared(apps, experts, _matrices(session, panel, apps, experts))


def run_assignment(session: Session, outbox: Outbox, panel: Panel) -> list[Assignment]:
    prepared = prepare(session, panel)
    return store(session, outbox, panel, prepared, solve(prepared.matrices.problem))


def store(session: Session, outbox: Outbox, panel: Panel, prepared: Prepared,
          solution: Solution) -> list[Assignment]:
    """Write the solver's optimum as the panel's assignments and tell each expert; or raise
    `Infeasible` naming each uncovered application and why."""
    apps, experts, problem = prepared.apps, prepared.experts, prepared.matrices.problem
    if not solution.feasible:
        errors = {apps[s.application].id: s.reason() for s in solution.shortfalls}
        raise Infeasible(summary=solution.message, errors=errors or None)
    made: list[Assignment] = []
    eligible = problem.eligible()
    for a, e in solution.pairs.tolist():
        made.append(Assignment(
            id=str(uuid.uuid4()), panel_id=panel.id, application_id=apps[a].id,
            expert_id=experts[e].id, status="active", affinity=int(problem.affinity[a, e]),
            explanation=_explain(prepared.matrices.terms(a, e), problem.affinity[a],
                                 eligible[a], e),
            created_at=now()))
    session.add_all(made)
    session.flush()
    by_id = {a.id: a for a in apps}
    by_expert: dict[str, list[Application]] = defaultdict(list)
    for m in made:
        by_expert[m.expert_id].append(by_id[m.application_id])
    for expert in experts:
        if by_expert.get(expert.id):
            announce(session, outbox, panel, expert, by_expert[expert.id])
    return made


def conflicted_since(session: Session, prepared: Prepared, solution: Solution) -> int:
    """How many chosen pairs gained a conflict of interest after the problem was read (a
    background solve reads, works, then writes: the write checks what changed meanwhile)."""
    chosen = {(prepared.apps[a].id, prepared.experts[e].id)
              for a, e in solution.pairs.tolist()}
    if not chosen:
        return 0
    records = session.execute(select(ConflictRecord.application_id, ConflictRecord.expert_id)
                              .where(ConflictRecord.withdrawn_at.is_(None),
                                     ConflictRecord.expert_id.in_({e for _, e in chosen})))
    return sum(1 for a, e in records if (a, e) in chosen)


def announce(session: Session, outbox: Outbox, panel: Panel, expert: Expert,
             apps: Sequence[Application]) -> None:
    outbox.emit(session, "assignment.made", {
        "cycle": panel.cycle, "stage": panel.stage, "expert": expert.subject,
        "applications": [{"application_id": a.id, "applicant_name": a.applicant_name}
                         for a in apps],
        "deadline": panel.deadline.isoformat() if panel.deadline else None,
        "audience": [{"subject": expert.subject}],
    })


def recuse(session: Session, outbox: Outbox, record: ConflictRecord) -> list[Assignment]:
    """End the expert's assignments on this application at once; propose one replacement per
    panel, leaving every other assignment as it is. Returns the proposals."""
    ended = list(session.scalars(select(Assignment).where(
        Assignment.expert_id == record.expert_id,
        Assignment.application_id == record.application_id,
        Assignment.status.in_(("active", "proposed")))))
    expert = session.get(Expert, record.expert_id)
    application = session.get(Application, record.application_id)
    proposals: list[Assignment] = []
    for old in ended:
        old.status, old.ended_at = "ended", now()
        old.end_reason = f"recusal: {record.ground}"
    session.flush()
    for old in ended:
        panel = session.get(Panel, old.panel_id)
        proposal = _replacement(session, panel, application)  # type: ignore[arg-type]
        if proposal is not None:
            proposals.append(proposal)
    replacement = None
    if proposals:
        replacement = session.get(Expert, proposals[0].expert_id).subject  # type: ignore[union-attr]
    if ended or record.source != "detected":
        outbox.emit(session, "recusal.recorded", {
            "cycle": application.cycle, "expert": expert.subject,  # type: ignore[union-attr]
            "application_id": record.application_id, "ground": record.ground,
            "source": record.source, "replacement": replacement,
            "applicant_name": application.applicant_name,  # type: ignore[union-attr]
            "case_number": application.case_number,  # type: ignore[union-attr]
            "audience": [{"role": "operator"}, {"role": "supervisor"},
                         {"subject": expert.subject}],  # type: ignore[union-attr]
        })
    return proposals


def withdraw_expert(session: Session, expert: Expert, reason: str) -> list[Assignment]:
    """An expert leaves the registry (retired, unreachable): every assignment ends at once and
    each gets a replacement proposal; nobody else moves. Returns the proposals."""
    expert.active = False
    ended = list(session.scalars(select(Assignment).where(
        Assignment.expert_id == expert.id, Assignment.status.in_(("active", "proposed")))))
    for old in ended:
        old.status, old.ended_at, old.end_reason = "ended", now(), f"withdrawn: {reason}"[:200]
    session.flush()
    proposals = []
    for old in ended:
        proposal = _replacement(session, session.get(Panel, old.panel_id),  # type: ignore[arg-type]
                                session.get(Application, old.application_id))  # type: ignore[arg-type]
        if proposal is not None:
            proposals.append(proposal)
    return proposals


def sweep(session: Session, outbox: Outbox) -> int:
    """Recuse every expert still assigned where a live conflict now exists (one detected after
    the assignment, e.g. from an updated record or a re-accepted packet)."""
    records = list(session.scalars(
        select(ConflictRecord).join(Assignment, and_(
            Assignment.expert_id == ConflictRecord.expert_id,
            Assignment.application_id == ConflictRecord.application_id)).where(
            Assignment.status.in_(("active", "proposed")),
            ConflictRecord.withdrawn_at.is_(None)).order_by(ConflictRecord.recorded_at)))
    done: set[tuple[str, str]] = set()
    for record in records:
        pair = (record.expert_id, record.application_id)
        if pair not in done:
            done.add(pair)
            recuse(session, outbox, record)
    return len(done)


def _replacement(session: Session, panel: Panel, application: Application
                 ) -> Assignment | None:
    apps = shortlist(session, panel)
    experts = pool(session, panel)
    matrices = _matrices(session, panel, apps, experts)
    problem = matrices.problem
    a = [x.id for x in apps].index(application.id)
    loads = np.zeros(len(experts), dtype=np.int64)
    e_pos = {e.id: j for j, e in enumerate(experts)}
    serving = np.zeros(len(experts), dtype=bool)
    for s in session.scalars(select(Assignment).where(Assignment.panel_id == panel.id,
                                                      Assignment.status.in_(("active",
                                                                             "proposed")))):
        if s.expert_id in e_pos:
            loads[e_pos[s.expert_id]] += 1
            if s.application_id == application.id:
                serving[e_pos[s.expert_id]] = True
    problem.excluded = problem.excluded | np.broadcast_to(serving, problem.shape)
    chosen = propose_replacement(problem, a, loads)
    if chosen is None:
        return None
    proposal = Assignment(id=str(uuid.uuid4()), panel_id=panel.id, application_id=application.id,
                          expert_id=experts[chosen].id, status="proposed",
                          affinity=int(problem.affinity[a, chosen]),
                          explanation={**_explain(matrices.terms(a, chosen),
                                                problem.affinity[a], problem.eligible()[a],
                                                chosen),
                                       "why": "best eligible expert with room under the cap; "
                                              "other assignments unchanged"},
                          created_at=now())
    session.add(proposal)
    session.flush()
    return proposal


def candidates(session: Session, panel: Panel, application: Application
               ) -> list[dict[str, Any]]:
    """Every expert of the panel's pool for one application: eligible or not and why, the
    affinity terms, the current load, and whether they serve on it — the operator's answer to
    "why this expert, why not that one"."""
    apps = shortlist(session, panel)
    if application.id not in {a.id for a in apps}:
        return []
    experts = pool(session, panel)
    matrices = _matrices(session, panel, apps, experts)
    problem = matrices.problem
    a = [x.id for x in apps].index(application.id)
    grounds: dict[str, list[str]] = defaultdict(list)
    for c in session.scalars(select(ConflictRecord).where(
            ConflictRecord.application_id == application.id,
            ConflictRecord.withdrawn_at.is_(None))):
        grounds[c.expert_id].append(c.ground)
    loads: dict[str, int] = defaultdict(int)
    serving: dict[str, str] = {}
    for s in session.scalars(select(Assignment).where(Assignment.panel_id == panel.id)):
        if s.status == "active":
            loads[s.expert_id] += 1
        if s.application_id == application.id:
            serving[s.expert_id] = s.status
    rows = []
    for e, expert in enumerate(experts):
        reasons = [f"conflict: {g}" for g in sorted(set(grounds.get(expert.id, [])))]
        if problem.field_mismatch[a, e]:  # type: ignore[index]
            reasons.append("field mismatch")
        if problem.excluded[a, e] and not problem.conflicted[a, e]:  # type: ignore[index]
            reasons.append("left this application earlier")
        rows.append({"expert_id": expert.id, "expert_subject": expert.subject,
                     "expert_name": expert.name, "eligible": not reasons,
                     "reasons": reasons, "terms": matrices.terms(a, e),
                     "affinity": int(problem.affinity[a, e]), "load": loads[expert.id],
                     "max_load": panel.max_load, "assignment": serving.get(expert.id)})
    return sorted(rows, key=lambda r: (not r["eligible"], -r["affinity"], r["expert_subject"]))


def confirm(session: Session, outbox: Outbox, assignment: Assignment) -> Assignment:
    if assignment.status != "proposed":
        raise Conflict("assignment.not_proposed", zh="只有待确认的替补分配可以确认。",
                       en="Only a proposed replacement can be confirmed.")
    live = session.scalars(select(ConflictRecord.id).where(
        ConflictRecord.expert_id == assignment.expert_id,
        ConflictRecord.application_id == assignment.application_id,
        ConflictRecord.withdrawn_at.is_(None))).first()
    if live:
        raise Conflict("assignment.conflicted", zh="该专家与申报者存在利益冲突。",
                       en="This expert has a conflict of interest with the applicant.")
    assignment.status = "active"
    session.flush()
    panel = session.get(Panel, assignment.panel_id)
    announce(session, outbox, panel, session.get(Expert, assignment.expert_id),  # type: ignore[arg-type]
             [session.get(Application, assignment.application_id)])  # type: ignore[list-item]
    return assignment


def check_members(session: Session, cycle: str, pool_ids: Sequence[str],
                  application_ids: Sequence[str]) -> None:
    """A panel's expert pool and shortlist must name registered experts and accepted
    applications of its cycle (the API and the operator's pages check the same way)."""
    if pool_ids:
        known = set(session.scalars(select(Expert.id).where(Expert.id.in_(pool_ids))))
        unknown = sorted(set(pool_ids) - known)
        if unknown:
            raise DossierError("panel.pool_unknown", status=422,
                               zh="专家库中有未登记的专家：{ids}",
                               en="The pool names unregistered experts: {ids}",
                               ids=", ".join(unknown))
    if application_ids:
        known = set(session.scalars(select(Application.id).where(
            Application.id.in_(application_ids), Application.cycle == cycle)))
        unknown = sorted(set(application_ids) - known)
        if unknown:
            raise DossierError("panel.applications_unknown", status=422,
                               zh="以下申报不属于该届次：{ids}",
                               en="Not accepted applications of this cycle: {ids}",
                               ids=", ".join(unknown))


SETTINGS = ("per_application", "max_load", "require_field_match", "weight", "deadline", "pool",
            "applications", "pledge_scope")


def update_settings(session: Session, panel: Panel, body: Mapping[str, Any]) -> Panel:
    """Change K, the load cap, field matching, weight, deadline, pool or shortlist — the ways to
    fix an infeasible set-up. Only before the assignment is run: afterwards the experts already
    hold their dossiers, and a change would silently break the optimum they were given."""
    if session.scalars(select(Assignment.id).where(Assignment.panel_id == panel.id)).first():
        raise Conflict("panel.assigned", zh="该评审阶段已完成分配，不能再修改设置。",
                       en="This panel has its assignment; its settings can no longer change.")
    check_members(session, panel.cycle, body.get("pool") or [], body.get("applications") or [])
    for key in SETTINGS:
        if key in body:
            setattr(panel, key, body[key])
    session.flush()
    return panel


@dataclass(frozen=True)
class Diagnosis:
    """One application the solver cannot cover, with the counts behind the reason."""

    application: Application
    needed: int
    eligible: int
    reachable: int
    conflicted: int
    field_mismatch: int
    excluded: int

    @property
    def load_bound(self) -> bool:
        """Enough eligible experts exist, but their load caps are full."""
        return self.eligible >= self.needed


def diagnose(session: Session, panel: Panel) -> list[Diagnosis]:
    """Why the panel's assignment is infeasible, per application, as numbers a page can word in
    the reader's language (the API's 409 carries the same facts as English sentences)."""
    apps = shortlist(session, panel)
    experts = pool(session, panel)
    if not apps:
        return []
    solution = solve(_matrices(session, panel, apps, experts).problem)
    return [Diagnosis(apps[s.application], s.needed, s.eligible, s.reachable, s.conflicted,
                      s.field_mismatch, s.excluded) for s in solution.shortfalls]
