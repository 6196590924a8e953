"""Optimal expert assignment as a min-cost flow (pure logic, no Flask or Celery).

Network: source → application (capacity K) → expert (capacity 1, cost −affinity, only for
eligible pairs) → sink (capacity L). A flow of K × applications at minimum cost is an exact
maximum-affinity assignment that covers every application with K distinct experts, keeps every
expert within the load cap and never uses a conflicted pair.

Optionally each expert's capacity is split into tiers (quarters of the fair share, then the
rest) priced 0, 1, 2, …: a convex price on load, so among assignments of equal affinity the
loads stay even. The affinity is scaled so that this secondary preference can never trade
away a single point of affinity.

Arcs are built from NumPy arrays in one call: with millions of candidate pairs a Python loop
over pairs costs more than the solve itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

# OR-Tools scales costs by the node count internally; stay well inside int64.
_COST_LIMIT = 2**62
_TIERS = 4


class AssignmentError(Exception):
    """The problem is malformed (shapes, negative K or L)."""


@dataclass(frozen=True)
class Shortfall:
    """An application that cannot get K experts, and why."""

    application: int
    needed: int
    eligible: int
    reachable: int
    conflicted: int
    field_mismatch: int
    excluded: int

    def reason(self) -> str:
        if self.eligible < self.needed:
            return (f"only {self.eligible} eligible expert(s) for {self.needed} places: "
                    f"{self.conflicted} conflicted, {self.field_mismatch} outside the field, "
                    f"{self.excluded} excluded or already serving")
        return (f"{self.eligible} eligible expert(s), but load caps leave room for only "
                f"{self.reachable} of {self.needed}")


@dataclass
class Problem:
    """Applications × experts; row/column order is the stable tie-break order."""

    affinity: np.ndarray  # int64 (A, E)
    conflicted: np.ndarray  # bool (A, E)
    per_application: int
    max_load: int | np.ndarray  # scalar or int per expert
    field_mismatch: np.ndarray | None = None  # bool (A, E): counts only when fields must match
    excluded: np.ndarray | None = None  # bool (A, E): e.g. already serving on this application

    def __post_init__(self) -> None:
        self.affinity = np.asarray(self.affinity, dtype=np.int64)
        shape = self.affinity.shape
        if len(shape) != 2:
            raise AssignmentError("affinity must be a matrix applications × experts")
        self.conflicted = np.asarray(self.conflicted, dtype=bool)
        if self.conflicted.shape != shape:
            raise AssignmentError("conflict matrix does not match the affinity matrix")
        for name in ("field_mismatch", "excluded"):
            value = getattr(self, name)
            value = np.zeros(shape, dtype=bool) if value is None else np.asarray(value, bool)
            if value.shape != shape:
                raise AssignmentError(f"{name} matrix does not match the affinity matrix")
            setattr(self, name, value)
        if self.per_application < 0 or np.any(np.asarray(self.max_load) < 0):
            raise AssignmentError("K and the load cap must not be negative")

    @property
    def shape(self) -> tuple[int, int]:
        return self.affinity.shape  # type: ignore[return-value]

    def eligible(self) -> np.ndarray:
        return ~(self.conflicted | self.field_mismatch | self.excluded)  # type: ignore[operator]

    def loads(self) -> np.ndarray:
        _, n_exp = self.shape
        return np.broadcast_to(np.asarray(self.max_load, dtype=np.int64), (n_exp,)).copy()


@dataclass
class Solution:
    feasible: bool
    pairs: np.ndarray  # int (n, 2): application index, expert index; sorted
    objective: int
    shortfalls: list[Shortfall] = field(default_factory=list)
    message: str = ""


def _shortfall(problem: Problem, eligible: np.ndarray, app: int, reachable: int) -> Shortfall:
    return Shortfall(
        application=app, needed=problem.per_application, eligible=int(eligible[app].sum()),
        reachable=reachable, conflicted=int(problem.conflicted[app].sum()),
        field_mismatch=int(problem.field_mismatch[app].sum()),  # type: ignore[index]
        excluded=int((problem.excluded[app] & ~problem.conflicted[app]).sum()),  # type: ignore[index]
    )


def solve(problem: Problem, *, balance: bool = True) -> Solution:
    """The maximum-affinity assignment, or the applications that cannot be covered and why."""
    n_app, n_exp = problem.shape
    k = problem.per_application
    caps = problem.loads()
    eligible = problem.eligible()
    empty = np.zeros((0, 2), dtype=np.int64)
    if n_app == 0 or k == 0:
        return Solution(True, empty, 0)

    counts = eligible.sum(axis=1)
    short = np.nonzero(counts < k)[0]
    if len(short):
        shortfalls = [_shortfall(problem, eligible, int(a), int(counts[a])) for a in short]
        return Solution(False, empty, 0, shortfalls,
                        f"{len(short)} application(s) have fewer than {k} eligible experts")
    if int(caps.sum()) < n_app * k:
        return Solution(False, empty, 0, [], f"the experts' load caps total {int(caps.sum())}, "
                        f"fewer than the {n_app * k} places to fill")

    app_idx, exp_idx = np.nonzero(eligible)  # row-major: a stable, deterministic arc order
    gains = problem.affinity[app_idx, exp_idx]
    # Tiers of each expert's capacity: up to a quarter of the fair share (places ÷ experts)
    # free, each further quarter one unit dearer per review, beyond the fair share dearer
    # still. A convex price on load: among assignments of equal affinity, loads stay even.
    fair = -(-(n_app * k) // max(n_exp, 1))
    max_cap = int(caps.max()) if n_exp else 0
    bounds = [min(fair * q // _TIERS, max_cap) for q in range(1, _TIERS + 1)] + [max_cap]
    scale = 1
    if balance and max_cap > bounds[0]:
        scale = _TIERS * n_app * k + 1
        biggest = int(np.abs(gains).max(initial=0)) * scale * (n_app + n_exp + 2)
        if biggest >= _COST_LIMIT // max(n_app * k, 1):
            scale = 1  # too large to balance safely: affinity alone decides
    balance = balance and scale > 1
    source, sink = n_app + n_exp, n_app + n_exp + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = [np.full(n_app, source, dtype=np.int64), app_idx.astype(np.int64)]
    heads = [np.arange(n_app, dtype=np.int64), exp_idx.astype(np.int64) + n_app]
    capacities = [np.full(n_app, k, dtype=np.int64), np.ones(len(app_idx), dtype=np.int64)]
    costs = [np.zeros(n_app, dtype=np.int64), -gains * scale]
    if balance:
        low = np.zeros(n_exp, dtype=np.int64)
        for tier, bound in enumerate(bounds):
            size = np.clip(caps, 0, bound) - low
            low = low + size
            room = np.nonzero(size > 0)[0]
            tails.append(room.astype(np.int64) + n_app)
            heads.append(np.full(len(room), sink, dtype=np.int64))
            capacities.append(size[room].astype(np.int64))
            costs.append(np.full(len(room), tier, dtype=np.int64))
    else:
        tails.append(np.arange(n_exp, dtype=np.int64) + n_app)
        heads.append(np.full(n_exp, sink, dtype=np.int64))
        capacities.append(caps.astype(np.int64))
        costs.append(np.zeros(n_exp, dtype=np.int64))
    flow.add_arcs_with_capacity_and_unit_cost(np.concatenate(tails), np.concatenate(heads),
                                              np.concatenate(capacities), np.concatenate(costs))
    supplies = np.zeros(n_app + n_exp + 2, dtype=np.int64)
    supplies[source], supplies[sink] = n_app * k, -n_app * k
    flow.set_nodes_supplies(np.arange(n_app + n_exp + 2, dtype=np.int64), supplies)

    status = flow.solve()
    if status == flow.OPTIMAL:
        pair_arcs = np.arange(n_app, n_app + len(app_idx), dtype=np.int64)
        chosen = flow.flows(pair_arcs) > 0
        pairs = np.stack([app_idx[chosen], exp_idx[chosen]], axis=1).astype(np.int64)
        return Solution(True, pairs, int(gains[chosen].sum()))
    if status != flow.INFEASIBLE:
        raise AssignmentError(f"the flow solver failed with status {status}")
    return _diagnose(problem, eligible, app_idx, exp_idx)


def _diagnose(problem: Problem, eligible: np.ndarray, app_idx: np.ndarray,
              exp_idx: np.ndarray) -> Solution:
    """Every application has enough eligible experts but the caps cannot serve them all: find
    a maximum flow and name the applications it leaves short."""
    n_app, n_exp = problem.shape
    k = problem.per_application
    source, sink = n_app + n_exp, n_app + n_exp + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate([np.full(n_app, source), app_idx, np.arange(n_exp) + n_app])
    heads = np.concatenate([np.arange(n_app), exp_idx + n_app, np.full(n_exp, sink)])
    caps = np.concatenate([np.full(n_app, k), np.ones(len(app_idx)), problem.loads()])
    flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int64), heads.astype(np.int64),
                                              caps.astype(np.int64),
                                              np.zeros(len(tails), dtype=np.int64))
    flow.set_node_supply(source, n_app * k)
    flow.set_node_supply(sink, -n_app * k)
    flow.solve_max_flow_with_min_cost()
    served = flow.flows(np.arange(n_app, dtype=np.int64))
    short = np.nonzero(served < k)[0]
    shortfalls = [_shortfall(problem, eligible, int(a), int(served[a])) for a in short]
    return Solution(False, np.zeros((0, 2), dtype=np.int64), 0, shortfalls,
                    f"load caps leave {len(short)} application(s) without {k} experts")


def propose_replacement(problem: Problem, application: int, current_loads: np.ndarray
                        ) -> int | None:
    """The best expert to add to `application` without moving anyone else, or None.

    Highest affinity among eligible experts with room under the cap; ties go to the lighter
    load, then to the stable order.
    """
    eligible = problem.eligible()[application] & (current_loads < problem.loads())
    candidates = np.nonzero(eligible)[0]
    if not len(candidates):
        return None
    order = np.lexsort((candidates, current_loads[candidates],
                        -problem.affinity[application, candidates]))
    return int(candidates[order[0]])
