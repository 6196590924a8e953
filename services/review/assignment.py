"""Optimal expert assignment as a min-cost flow over candidate pairs (pure logic, no Flask or
Celery).

A problem is given by its candidate pairs: listed affinities, declared and detected conflicts,
exclusions and, when fields must match, the pairs whose fields match. Every other pair takes the
documented default: allowed with affinity 0 (when fields must match: not allowed). Memory and
time follow these pairs, never applications × experts, so a national programme (10⁵ × 10⁴) fits.

Network: source → application (capacity K) → expert (capacity 1, cost −affinity, one arc per
candidate pair) → sink (capacity L). The default pairs of every application share one pool node:
application → pool (capacity K, or fewer if it has fewer allowed unlisted experts; cost 0) and
pool → expert (capacity L). Every true assignment is a flow of this network at the same cost, so
its optimum bounds the best total affinity from above. The pool's flow is then split into real
pairs — distinct experts the application is neither conflicted with, excluded from nor listed
for, and exactly the per-expert amounts of the flow, so every load and the cost stay as they are.
When the split succeeds the assignment reaches the bound: it is optimal, and the bound is returned
with it as the proof. An application the split cannot serve gets its default pairs as explicit
arcs and the solve repeats (still exact; at worst the explicit network).

Large problems are first solved on each application's short list (its best listed pairs). The
pairs left out are stood for by one arc application → pool priced at the best affinity left out:
again a relaxation, so when no flow takes such an arc the short lists' optimum is optimal for every
pair; applications whose flow takes it get all their pairs and the solve repeats.

Optionally each expert's capacity is split into tiers (quarters of the fair share, then the
rest) priced 0, 1, 2, …: a convex price on load, so among assignments of equal affinity the
loads stay even. The affinity is scaled so that this secondary preference can never trade
away a single point of affinity.

Arcs are built from NumPy arrays in one call: with millions of candidate pairs a Python loop
over pairs costs more than the solve itself.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

# OR-Tools multiplies costs by the node count internally; stay well inside int64.
_COST_LIMIT = 2**62
_TIERS = 4
# Above this many candidate pairs, solve on short lists first and prove the result optimal.
_PRICING_MIN_PAIRS = 50_000
_PRICING_WIDTH = 2  # short list: the best 2·K listed experts of each application (and ties)
_PRICING_ROUNDS = 8  # after this many rounds every listed pair joins


class AssignmentError(Exception):
    """The problem is malformed (shapes, indices out of range, negative K or L)."""


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


def _pair_array(value: Any, name: str, shape: tuple[int, int]) -> np.ndarray:
    pairs = np.asarray(value if value is not None else np.zeros((0, 2)), dtype=np.int64)
    pairs = pairs.reshape(-1, 2)
    if len(pairs) and ((pairs.min(axis=0) < 0).any()
                       or (pairs.max(axis=0) >= np.array(shape)).any()):
        raise AssignmentError(f"{name}: an application or expert index is out of range")
    return pairs


@dataclass
class SparseProblem:
    """Applications × experts given by their candidate pairs; index order is the stable
    tie-break order. Unlisted pairs: affinity 0, allowed unless conflicted or excluded — or,
    when `allowed` is given (fields must match), not allowed unless in it."""

    n_applications: int
    n_experts: int
    per_application: int
    max_load: int | np.ndarray  # scalar or int per expert
    pairs: np.ndarray  # int (n, 2): application, expert with a listed affinity
    affinity: np.ndarray  # int (n,): a pair listed twice keeps its last value
    conflicts: np.ndarray  # int (m, 2): declared and detected
    excluded: np.ndarray | None = None  # int (x, 2): e.g. already serving on this application
    allowed: np.ndarray | None = None  # int (f, 2): the only usable pairs (fields must match)

    def __post_init__(self) -> None:
        shape = self.shape
        self.pairs = _pair_array(self.pairs, "pairs", shape)
        self.affinity = np.asarray(self.affinity, dtype=np.int64).reshape(-1)
        if len(self.affinity) != len(self.pairs):
            raise AssignmentError("one affinity per listed pair")
        self.conflicts = _pair_array(self.conflicts, "conflicts", shape)
        self.excluded = _pair_array(self.excluded, "excluded", shape)
        if self.allowed is not None:
            self.allowed = _pair_array(self.allowed, "allowed", shape)
        loads = np.asarray(self.max_load)
        if loads.ndim and loads.shape != (self.n_experts,):
            raise AssignmentError("one load cap per expert")
        if self.per_application < 0 or np.any(loads < 0) or min(shape) < 0:
            raise AssignmentError("K and the load cap must not be negative")

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_applications, self.n_experts

    def loads(self) -> np.ndarray:
        return np.broadcast_to(np.asarray(self.max_load, dtype=np.int64),
                               (self.n_experts,)).copy()


@dataclass
class Problem:
    """Applications × experts as dense matrices (a panel on the service); solved through
    `sparse()`. Row/column order is the stable tie-break order."""

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

    def sparse(self) -> SparseProblem:
        n_app, n_exp = self.shape
        listed = np.argwhere(self.affinity != 0)
        mismatch: np.ndarray = self.field_mismatch  # type: ignore[assignment]
        excluded: np.ndarray = self.excluded  # type: ignore[assignment]
        return SparseProblem(
            n_app, n_exp, self.per_application, self.max_load, listed,
            self.affinity[listed[:, 0], listed[:, 1]], np.argwhere(self.conflicted),
            np.argwhere(excluded), np.argwhere(~mismatch) if mismatch.any() else None)


@dataclass
class Solution:
    feasible: bool
    pairs: np.ndarray  # int (n, 2): application index, expert index; sorted
    objective: int
    shortfalls: list[Shortfall] = field(default_factory=list)
    message: str = ""
    # The relaxation's optimum: no assignment has a higher total affinity. objective == bound
    # proves the assignment optimal; otherwise the difference is the honest gap.
    bound: int | None = None

    @property
    def gap(self) -> float | None:
        if self.bound is None:
            return None
        return (self.bound - self.objective) / max(abs(self.bound), 1)


class _Candidates:
    """The problem's pairs as sorted codes (application · E + expert): the candidate arcs
    sorted by application, best affinity first, and what each application may still use."""

    def __init__(self, p: SparseProblem | Problem) -> None:
        self.n_exp = p.shape[1]
        self.dense: tuple[np.ndarray, np.ndarray] | None = None
        if isinstance(p, Problem):
            self._from_dense(p)
        else:
            self._from_sparse(p)

    def _from_dense(self, p: Problem) -> None:
        """A panel's matrices: every eligible pair is an explicit arc (no pool), as the
        matrices are already applications × experts."""
        n_exp = self.n_exp
        eligible = p.eligible()
        conflicted: np.ndarray = p.conflicted
        self.conflicted = conflicted.sum(axis=1)
        self.field_mismatch = p.field_mismatch.sum(axis=1)  # type: ignore[union-attr]
        self.excluded = (p.excluded & ~conflicted).sum(axis=1)
        self.eligible = eligible.sum(axis=1)
        self.unlisted = np.zeros(len(eligible), dtype=np.int64)
        self.forbidden = np.flatnonzero(~eligible)
        self.codes = np.flatnonzero(eligible)
        self.app, self.exp = self.codes // n_exp, self.codes % n_exp
        self.gain = p.affinity.ravel()[self.codes]
        self.dense = (p.affinity, eligible)

    def _from_sparse(self, p: SparseProblem) -> None:
        n_app, n_exp = p.shape
        conflicts = np.unique(_codes(p.conflicts, n_exp))
        excluded = np.unique(_codes(p.excluded, n_exp))  # type: ignore[arg-type]
        self.conflicted = np.bincount(conflicts // n_exp, minlength=n_app)
        self.excluded = np.bincount(np.setdiff1d(excluded, conflicts, assume_unique=True)
                                    // n_exp, minlength=n_app)
        self.forbidden = np.union1d(conflicts, excluded)
        listed, gains = _codes(p.pairs, n_exp), p.affinity
        if len(listed) > 1 and not (np.diff(listed) > 0).all():
            order = np.argsort(listed)
            listed, gains = listed[order], gains[order]
            if not (np.diff(listed) > 0).all():
                # Listed twice: the last listing of a pair wins.
                listed, first = np.unique(_codes(p.pairs, n_exp)[::-1], return_index=True)
                gains = p.affinity[::-1][first]
        if p.allowed is None:
            # A listed 0 is the default: it stays in the pool rather than costing an arc.
            keep = (gains != 0) & ~_member(listed, self.forbidden)
            codes, gains = listed[keep], gains[keep]
            self.field_mismatch = np.zeros(n_app, dtype=np.int64)
            self.eligible = n_exp - np.bincount(self.forbidden // n_exp, minlength=n_app)
            self.unlisted = self.eligible - np.bincount(codes // n_exp, minlength=n_app)
        else:
            codes = np.unique(_codes(p.allowed, n_exp))
            self.field_mismatch = n_exp - np.bincount(codes // n_exp, minlength=n_app)
            codes = codes[~_member(codes, self.forbidden)]
            at = np.minimum(np.searchsorted(listed, codes), max(len(listed) - 1, 0))
            hit = listed[at] == codes if len(listed) else np.zeros(len(codes), dtype=bool)
            gains = np.where(hit, gains[at] if len(listed) else 0, 0)
            self.eligible = np.bincount(codes // n_exp, minlength=n_app)
            self.unlisted = np.zeros(n_app, dtype=np.int64)
        # The explicit pairs in code order (application, then expert): a stable arc order.
        self.codes = codes
        self.app, self.exp, self.gain = codes // n_exp, codes % n_exp, gains.astype(np.int64)

    def cutoffs(self, width: int) -> np.ndarray:
        """Per application, the affinity of its `width`-th best pair (its worst if fewer).
        One sort of packed keys (application, affinity descending): cheaper than ordering
        the pairs themselves."""
        n_app = len(self.eligible)
        if not len(self.app):
            return np.zeros(n_app, dtype=np.int64)
        if self.dense is not None and width < self.dense[0].shape[1]:
            affinity, eligible = self.dense
            masked = np.where(eligible, affinity, np.iinfo(np.int64).min)
            kth = affinity.shape[1] - width  # the width-th largest
            return np.partition(masked, kth, axis=1)[:, kth]
        low, high = int(self.gain.min()), int(self.gain.max())
        span = high - low + 1
        if n_app * span >= _COST_LIMIT:
            keys = np.lexsort((-self.gain, self.app))
            app, gain = self.app[keys], self.gain[keys]
        else:
            packed = np.sort(self.app * span + (high - self.gain))
            app, gain = packed // span, high - packed % span
        starts = np.searchsorted(app, np.arange(n_app))
        ends = np.searchsorted(app, np.arange(n_app), side="right")
        last = np.maximum(np.minimum(starts + width, ends) - 1, 0)
        return np.where(ends > starts, gain[np.minimum(last, len(gain) - 1)], high)

    def shortfall(self, app: int, needed: int, reachable: int) -> Shortfall:
        return Shortfall(application=app, needed=needed, eligible=int(self.eligible[app]),
                         reachable=reachable, conflicted=int(self.conflicted[app]),
                         field_mismatch=int(self.field_mismatch[app]),
                         excluded=int(self.excluded[app]))

    def blocked(self, app: int) -> set[int]:
        """The experts the pool may not give `app`: forbidden, or listed (their arcs carry
        the listed affinity, and an expert serves an application once)."""
        lo, hi = app * self.n_exp, (app + 1) * self.n_exp
        parts = []
        for codes in (self.forbidden, self.codes):
            a, b = np.searchsorted(codes, [lo, hi])
            parts.append(codes[a:b] - lo)
        return set(np.concatenate(parts).tolist())


def _member(codes: np.ndarray, sorted_codes: np.ndarray) -> np.ndarray:
    """Which of `codes` are in `sorted_codes` (a binary search each: cheaper than isin's sort)."""
    if not len(sorted_codes):
        return np.zeros(len(codes), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_codes, codes), len(sorted_codes) - 1)
    return sorted_codes[at] == codes


def _codes(pairs: np.ndarray, n_exp: int) -> np.ndarray:
    return pairs[:, 0] * n_exp + pairs[:, 1]


def solve(problem: Problem | SparseProblem, *, balance: bool = True, pricing: bool = True,
          on_round: Callable[[int], None] | None = None) -> Solution:
    """The maximum-affinity assignment with its proof (bound), or the applications that cannot
    be covered and why. `on_round(n)` is called before each round of the flow search (a
    background job reports progress there, and stops the solve by raising)."""
    p = problem
    n_app, n_exp = p.shape
    k = p.per_application
    caps = p.loads()
    empty = np.zeros((0, 2), dtype=np.int64)
    if n_app == 0 or k == 0:
        return Solution(True, empty, 0, bound=0)
    cand = _Candidates(p)
    short = np.nonzero(cand.eligible < k)[0]
    if len(short):
        shortfalls = [cand.shortfall(int(a), k, int(cand.eligible[a])) for a in short]
        return Solution(False, empty, 0, shortfalls,
                        f"{len(short)} application(s) have fewer than {k} eligible experts")
    if int(caps.sum()) < n_app * k:
        return Solution(False, empty, 0, [], f"the experts' load caps total {int(caps.sum())}, "
                        f"fewer than the {n_app * k} places to fill")

    # Tiers of each expert's capacity: up to a quarter of the fair share (places ÷ experts)
    # free, each further quarter one unit dearer per review, beyond the fair share dearer
    # still. A convex price on load: among assignments of equal affinity, loads stay even.
    fair = -(-(n_app * k) // max(n_exp, 1))
    max_cap = int(caps.max()) if n_exp else 0
    bounds = [min(fair * q // _TIERS, max_cap) for q in range(1, _TIERS + 1)] + [max_cap]
    scale = 1
    if balance and max_cap > bounds[0]:
        # One point of affinity must outweigh any difference the tiers can make between two
        # assignments: at most the dearest way to fill the places minus the cheapest.
        scale = _tier_spread(caps, bounds, n_app * k) + 1
        top = max(int(np.abs(cand.gain).max(initial=0)), 1) * scale
        if top * (n_app + n_exp + 4) >= _COST_LIMIT or top * n_app * k >= _COST_LIMIT:
            scale = 1  # too large to balance safely: affinity alone decides
    network = _Network(n_app, n_exp, k, caps, bounds if scale > 1 else None)
    return _search(cand, network, scale, pricing, on_round)


def _tier_spread(caps: np.ndarray, bounds: list[int], places: int) -> int:
    """The dearest total tier price of `places` units minus the cheapest (tier t costs t)."""
    low = np.zeros(len(caps), dtype=np.int64)
    sizes = []
    for bound in bounds:
        size = np.clip(caps, 0, bound) - low
        low = low + size
        sizes.append(int(size.sum()))

    def fill(order: list[int]) -> int:
        left, total = places, 0
        for tier in order:
            used = min(left, sizes[tier])
            total, left = total + used * tier, left - used
        return total

    tiers = list(range(len(sizes)))
    return fill(tiers[::-1]) - fill(tiers)


def _search(cand: _Candidates, network: _Network, scale: int, pricing: bool,
            on_round: Callable[[int], None] | None = None) -> Solution:
    n_app, n_exp, k = network.n_app, network.n_exp, network.k
    inside = np.ones(len(cand.app), dtype=bool)
    if pricing and len(cand.app) > _PRICING_MIN_PAIRS:
        # The short list keeps ties with its last pair: a stand-in priced like a pair inside
        # would be taken on ties alone (for balance) and cost a round.
        inside = cand.gain >= cand.cutoffs(_PRICING_WIDTH * k)[cand.app]
    unlisted = cand.unlisted.copy()
    extra_app = extra_exp = np.zeros(0, dtype=np.int64)  # default pairs made explicit
    for round_no in range(n_app + _PRICING_ROUNDS + 1):
        if on_round is not None:
            on_round(round_no)
        out = np.nonzero(~inside)[0]  # sorted by application
        out_app = cand.app[out]
        first = np.nonzero(np.diff(out_app, prepend=-1))[0]
        left_apps = out_app[first]
        left_count = np.diff(np.append(first, len(out)))
        left_best = np.maximum.reduceat(cand.gain[out], first) if len(out) else \
            np.zeros(0, dtype=np.int64)
        pool_apps = np.nonzero(unlisted > 0)[0]
        arcs = _Arcs(
            pair_app=np.concatenate([cand.app[inside], extra_app]),
            pair_exp=np.concatenate([cand.exp[inside], extra_exp]),
            pair_cost=np.concatenate([-cand.gain[inside] * scale,
                                      np.zeros(len(extra_app), dtype=np.int64)]),
            stand_app=left_apps, stand_cap=np.minimum(left_count, k),
            stand_cost=-left_best * scale,
            pool_app=pool_apps, pool_cap=np.minimum(unlisted[pool_apps], k))
        status, flows = network.solve(arcs)
        if status == "bad-cost" and scale > 1:
            # OR-Tools found the balanced costs too large after all: affinity alone decides.
            network = _Network(n_app, n_exp, k, network.caps, None)
            return _search(cand, network, 1, pricing, on_round)
        if status == "infeasible":
            return _diagnose(cand, network, arcs)
        stood = flows[arcs.stand_slice] > 0
        if stood.any():
            # A left-out pair may be worth more than the short list: those applications get
            # all their pairs (after a few rounds, everyone does).
            widen = np.zeros(n_app, dtype=bool)
            widen[left_apps[stood]] = True
            inside |= widen[cand.app] | (round_no + 1 >= _PRICING_ROUNDS)
            continue
        pool_flow = np.zeros(n_app, dtype=np.int64)
        pool_flow[pool_apps] = flows[arcs.pool_slice]
        placed, failed = _split_pool(cand, pool_flow, flows[network.pool_out_slice(arcs)])
        if failed:
            # The split could not serve these applications: their default pairs become
            # explicit arcs (a few applications × the experts) and the solve repeats.
            extra = [np.setdiff1d(np.arange(n_exp), np.fromiter(cand.blocked(a), np.int64))
                     for a in failed]
            extra_app = np.concatenate([extra_app] + [np.full(len(x), a) for a, x in
                                                      zip(failed, extra, strict=True)])
            extra_exp = np.concatenate([extra_exp, *extra])
            unlisted[failed] = 0
            continue
        chosen = flows[arcs.pair_slice] > 0
        pair_gain = -arcs.pair_cost[chosen] // scale
        pairs = np.concatenate([np.stack([arcs.pair_app[chosen], arcs.pair_exp[chosen]], axis=1),
                                placed]).astype(np.int64)
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
        objective = int(pair_gain.sum())
        # The relaxation's affinity: what the flow's arcs are worth, stand-ins included.
        bound = objective + int((-arcs.stand_cost // scale * flows[arcs.stand_slice]).sum())
        return Solution(True, pairs, objective, bound=bound)
    raise AssignmentError("the assignment did not settle")  # unreachable: each round widens


@dataclass
class _Arcs:
    """The arcs of one round besides the fixed ones: candidate pairs, stand-ins for the pairs
    left out of the short lists, and each application's share of the pool."""

    pair_app: np.ndarray
    pair_exp: np.ndarray
    pair_cost: np.ndarray
    stand_app: np.ndarray
    stand_cap: np.ndarray
    stand_cost: np.ndarray
    pool_app: np.ndarray
    pool_cap: np.ndarray
    pair_slice: slice = field(default_factory=lambda: slice(0))
    stand_slice: slice = field(default_factory=lambda: slice(0))
    pool_slice: slice = field(default_factory=lambda: slice(0))


class _Network:
    """The flow network: applications, experts (with their load tiers), the pool, source and
    sink. Fixed arcs are built once; each round adds its own."""

    def __init__(self, n_app: int, n_exp: int, k: int, caps: np.ndarray,
                 bounds: list[int] | None) -> None:
        self.n_app, self.n_exp, self.k, self.caps = n_app, n_exp, k, caps
        self.pool, self.source, self.sink = n_app + n_exp, n_app + n_exp + 1, n_app + n_exp + 2
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
        self.tier_arcs = [np.concatenate(x).astype(np.int64)
                          for x in (tails, heads, capacities, costs)]

    def pool_out_slice(self, arcs: _Arcs) -> slice:
        start = arcs.pool_slice.stop
        return slice(start, start + self.n_exp)

    def arrays(self, arcs: _Arcs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Arc order: source arcs, pairs, stand-ins, pool shares, pool → experts, tiers."""
        n, pool = self.n_app, self.pool
        n_pairs, n_stand, n_pool = len(arcs.pair_app), len(arcs.stand_app), len(arcs.pool_app)
        arcs.pair_slice = slice(n, n + n_pairs)
        arcs.stand_slice = slice(arcs.pair_slice.stop, arcs.pair_slice.stop + n_stand)
        arcs.pool_slice = slice(arcs.stand_slice.stop, arcs.stand_slice.stop + n_pool)
        t, h, c, w = self.tier_arcs
        tails = np.concatenate([np.full(n, self.source), arcs.pair_app, arcs.stand_app,
                                arcs.pool_app, np.full(self.n_exp, pool), t])
        heads = np.concatenate([np.arange(n), arcs.pair_exp + n, np.full(n_stand, pool),
                                np.full(n_pool, pool), np.arange(self.n_exp) + n, h])
        caps = np.concatenate([np.full(n, self.k), np.ones(n_pairs), arcs.stand_cap,
                               arcs.pool_cap, self.caps, c])
        costs = np.concatenate([np.zeros(n), arcs.pair_cost, arcs.stand_cost,
                                np.zeros(n_pool + self.n_exp), w])
        return (tails.astype(np.int64), heads.astype(np.int64), caps.astype(np.int64),
                costs.astype(np.int64))

    def _flow(self, tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, costs: np.ndarray
              ) -> min_cost_flow.SimpleMinCostFlow:
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        nodes = self.n_app + self.n_exp + 3
        supplies = np.zeros(nodes, dtype=np.int64)
        supplies[self.source], supplies[self.sink] = self.n_app * self.k, -self.n_app * self.k
        flow.set_nodes_supplies(np.arange(nodes, dtype=np.int64), supplies)
        return flow

    def solve(self, arcs: _Arcs) -> tuple[str, np.ndarray]:
        tails, heads, caps, costs = self.arrays(arcs)
        flow = self._flow(tails, heads, caps, costs)
        status = flow.solve()
        if status == flow.INFEASIBLE:
            return "infeasible", np.zeros(0, dtype=np.int64)
        if status == flow.BAD_COST_RANGE:
            return "bad-cost", np.zeros(0, dtype=np.int64)
        if status != flow.OPTIMAL:
            raise AssignmentError(f"the flow solver failed with status {status}")
        return "optimal", flow.flows(np.arange(len(tails), dtype=np.int64))

    def served(self, arcs: _Arcs) -> np.ndarray:
        """How many places each application can fill at most (a maximum flow)."""
        tails, heads, caps, costs = self.arrays(arcs)
        flow = self._flow(tails, heads, caps, np.zeros_like(costs))
        flow.solve_max_flow_with_min_cost()
        return flow.flows(np.arange(self.n_app, dtype=np.int64))


def _split_pool(cand: _Candidates, demand: np.ndarray, supply: np.ndarray
                ) -> tuple[np.ndarray, list[int]]:
    """Real pairs for the pool's flow: each application its `demand` distinct experts it may
    use by default, each expert exactly its `supply`. Greedy on the largest remaining supply —
    exact when nothing is blocked (Gale–Ryser), and blocked pairs are few per application.
    Returns the pairs and the applications it could not serve."""
    apps = np.nonzero(demand > 0)[0]
    if not len(apps):
        return np.zeros((0, 2), dtype=np.int64), []
    heap = [(-int(s), int(e)) for e, s in enumerate(supply.tolist()) if s > 0]
    heapq.heapify(heap)
    out_app: list[int] = []
    out_exp: list[int] = []
    failed: list[int] = []
    # The most constrained first: applications needing most from the pool.
    for a in sorted(apps.tolist(), key=lambda x: (-int(demand[x]), x)):
        need = int(demand[a])
        blocked = cand.blocked(a)
        taken: list[tuple[int, int]] = []
        skipped: list[tuple[int, int]] = []
        while need and heap:
            item = heapq.heappop(heap)
            if item[1] in blocked:
                skipped.append(item)
                continue
            taken.append(item)
            need -= 1
        if need:
            failed.append(a)
        else:
            for _, e in taken:
                out_app.append(a)
                out_exp.append(e)
        for s, e in skipped:
            heapq.heappush(heap, (s, e))
        for s, e in taken:
            left = s + 1 if not need else s  # a failed application gives its experts back
            if left < 0:
                heapq.heappush(heap, (left, e))
    pairs = np.stack([np.asarray(out_app, dtype=np.int64), np.asarray(out_exp, dtype=np.int64)],
                     axis=1)
    return pairs, failed


def _diagnose(cand: _Candidates, network: _Network, arcs: _Arcs) -> Solution:
    """Every application has enough eligible experts but the caps cannot serve them all: find
    a maximum flow and name the applications it leaves short."""
    k = network.k
    served = network.served(arcs)
    short = np.nonzero(served < k)[0]
    shortfalls = [cand.shortfall(int(a), k, int(served[a])) for a in short]
    return Solution(False, np.zeros((0, 2), dtype=np.int64), 0, shortfalls,
                    f"load caps leave {len(short)} application(s) without {k} experts")


def explain(problem: SparseProblem, pairs: np.ndarray) -> list[dict[str, int]]:
    """Why these pairs, and only these: each one's affinity, its application's eligible experts
    and how many of them have a higher affinity (the unlisted count at 0)."""
    cand = _Candidates(problem)
    asked = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    starts = np.searchsorted(cand.app, asked[:, 0])
    ends = np.searchsorted(cand.app, asked[:, 0], side="right")
    result = []
    for (a, e), lo, hi in zip(asked.tolist(), starts.tolist(), ends.tolist(), strict=True):
        gains, experts = cand.gain[lo:hi], cand.exp[lo:hi]
        mine = gains[experts == e]
        gain = int(mine[0]) if len(mine) else 0
        higher = int((gains > gain).sum()) + (int(cand.unlisted[a]) if gain < 0 else 0)
        result.append({"affinity": gain, "eligible_experts": int(cand.eligible[a]),
                       "eligible_with_higher_affinity": higher})
    return result


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
