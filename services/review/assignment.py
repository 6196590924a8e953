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
over pairs costs more than the solve itself. Large instances are first solved on each
application's short list of best candidates; the result is then proved optimal for all pairs
with the residual network's potentials (a left-out pair with a negative reduced cost joins the
short list and the solve repeats), so the answer stays exact at a fraction of the work.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

# OR-Tools scales costs by the node count internally; stay well inside int64.
_COST_LIMIT = 2**62
_TIERS = 4
# Above this many candidate pairs, solve on short lists first and prove the result optimal.
_PRICING_MIN_PAIRS = 50_000
_PRICING_WIDTH = 4  # short list: the best 4·K experts of each application
_PRICING_ROUNDS = 8


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
        return self.affinity.shape

    def eligible(self) -> np.ndarray:
        return ~(self.conflicted | self.field_mismatch | self.excluded)

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


def solve(problem: Problem, *, balance: bool = True, pricing: bool = True) -> Solution:
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
    network = _Network(n_app, n_exp, k, caps, bounds if balance else None)
    costs = -problem.affinity * scale
    chosen_pairs = _priced_solve(network, eligible, costs, k) if \
        pricing and n_app * n_exp > _PRICING_MIN_PAIRS else None
    if chosen_pairs is None:
        app_idx, exp_idx = np.nonzero(eligible)  # row-major: a stable arc order
        status, flows = network.solve(app_idx, exp_idx, costs[app_idx, exp_idx])
        if status == "infeasible":
            return _diagnose(problem, eligible, app_idx, exp_idx)
        chosen = flows[network.pair_slice(len(app_idx))] > 0
        chosen_pairs = np.stack([app_idx[chosen], exp_idx[chosen]], axis=1)
    pairs = chosen_pairs.astype(np.int64)
    objective = int(problem.affinity[pairs[:, 0], pairs[:, 1]].sum()) if len(pairs) else 0
    return Solution(True, pairs, objective)


class _Network:
    """The flow network around a set of candidate pairs: source, applications, experts
    (with their load tiers), sink."""

    def __init__(self, n_app: int, n_exp: int, k: int, caps: np.ndarray,
                 bounds: list[int] | None) -> None:
        self.n_app, self.n_exp, self.k = n_app, n_exp, k
        self.source, self.sink = n_app + n_exp, n_app + n_exp + 1
        tails, heads, capacities, costs = [], [], [], []
        if bounds is not None:
            low = np.zeros(n_exp, dtype=np.int64)
            for tier, bound in enumerate(bounds):
                size = np.clip(caps, 0, bound) - low
                low = low + size
                room = np.nonzero(size > 0)[0]
                tails.append(room + n_app)
                heads.append(np.full(len(room), self.sink))
                capacities.append(size[room])
                costs.append(np.full(len(room), tier))
        else:
            tails.append(np.arange(n_exp) + n_app)
            heads.append(np.full(n_exp, self.sink))
            capacities.append(caps)
            costs.append(np.zeros(n_exp))
        # Arc order: source arcs, then pair arcs, then these expert arcs.
        self.tail_arcs = [np.concatenate(x).astype(np.int64)
                          for x in (tails, heads, capacities, costs)]

    def pair_slice(self, n_pairs: int) -> slice:
        return slice(self.n_app, self.n_app + n_pairs)

    def arrays(self, app_idx: np.ndarray, exp_idx: np.ndarray, pair_costs: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n = self.n_app
        t, h, c, w = self.tail_arcs
        tails = np.concatenate([np.full(n, self.source), app_idx, t]).astype(np.int64)
        heads = np.concatenate([np.arange(n), exp_idx + n, h]).astype(np.int64)
        caps = np.concatenate([np.full(n, self.k), np.ones(len(app_idx)), c]).astype(np.int64)
        costs = np.concatenate([np.zeros(n), pair_costs, w]).astype(np.int64)
        return tails, heads, caps, costs

    def solve(self, app_idx: np.ndarray, exp_idx: np.ndarray, pair_costs: np.ndarray
              ) -> tuple[str, np.ndarray]:
        tails, heads, caps, costs = self.arrays(app_idx, exp_idx, pair_costs)
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        nodes = self.n_app + self.n_exp + 2
        supplies = np.zeros(nodes, dtype=np.int64)
        supplies[self.source], supplies[self.sink] = self.n_app * self.k, -self.n_app * self.k
        flow.set_nodes_supplies(np.arange(nodes, dtype=np.int64), supplies)
        status = flow.solve()
        if status == flow.INFEASIBLE:
            return "infeasible", np.zeros(0, dtype=np.int64)
        if status != flow.OPTIMAL:
            raise AssignmentError(f"the flow solver failed with status {status}")
        return "optimal", flow.flows(np.arange(len(tails), dtype=np.int64))


def _potentials(tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, costs: np.ndarray,
                flows: np.ndarray, nodes: int) -> np.ndarray | None:
    """Shortest-path distances in the residual network (Bellman–Ford from a virtual root).
    At an optimum there is no negative cycle, so they exist and every residual arc has a
    non-negative reduced cost; None if they did not settle (never expected)."""
    forward = flows < caps
    backward = flows > 0
    rt = np.concatenate([tails[forward], heads[backward]])
    rh = np.concatenate([heads[forward], tails[backward]])
    rc = np.concatenate([costs[forward], -costs[backward]])
    dist = np.zeros(nodes, dtype=np.int64)
    for _ in range(nodes + 1):
        relaxed = dist.copy()
        np.minimum.at(relaxed, rh, dist[rt] + rc)
        if np.array_equal(relaxed, dist):
            return dist
        dist = relaxed
    return None


def _priced_solve(network: _Network, eligible: np.ndarray, costs: np.ndarray, k: int
                  ) -> np.ndarray | None:
    """Solve on each application's best candidates, then prove the result optimal for every
    eligible pair (no pair left out has a negative reduced cost under the residual network's
    potentials); pairs that fail the proof join and the solve repeats. None: give up and let
    the caller solve the whole network."""
    n_app, n_exp = eligible.shape
    width = min(n_exp, _PRICING_WIDTH * k)
    masked = np.where(eligible, costs, np.iinfo(np.int64).max)
    best = np.argpartition(masked, width - 1, axis=1)[:, :width] if width < n_exp else \
        np.broadcast_to(np.arange(n_exp), (n_app, n_exp))
    selected = np.zeros(eligible.shape, dtype=bool)
    np.put_along_axis(selected, best, True, axis=1)
    selected &= eligible
    for _ in range(_PRICING_ROUNDS):
        app_idx, exp_idx = np.nonzero(selected)
        pair_costs = costs[app_idx, exp_idx]
        status, flows = network.solve(app_idx, exp_idx, pair_costs)
        if status == "infeasible":
            return None  # the short list may be too short: the full network decides
        tails, heads, caps, arc_costs = network.arrays(app_idx, exp_idx, pair_costs)
        dist = _potentials(tails, heads, caps, arc_costs, flows, n_app + n_exp + 2)
        if dist is None:
            return None
        reduced = costs + dist[:n_app, None] - dist[None, n_app:n_app + n_exp]
        missing = eligible & ~selected & (reduced < 0)
        if not missing.any():
            chosen = flows[network.pair_slice(len(app_idx))] > 0
            return np.stack([app_idx[chosen], exp_idx[chosen]], axis=1)
        selected |= missing
    return None


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
