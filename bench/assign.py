"""assign: review's assignment solver vs a straightforward OR-Tools SimpleMinCostFlow script.

3,000 applications × 800 experts, 5 experts per application, load ≤ 20, affinities 0–99 with
about 1% of pairs conflicted. The reference adds one arc per Python call, the way a first
script would; review's solver builds the same network from NumPy arrays (and spreads loads on
ties). Both objectives are printed and must be equal; ratio = solver time ÷ reference time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from services.review.assignment import Problem, solve

APPLICATIONS, EXPERTS, PER_APPLICATION, MAX_LOAD = 3000, 800, 5, 20


def instance(seed: int = 20251) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    affinity = rng.integers(0, 100, size=(APPLICATIONS, EXPERTS), dtype=np.int64)
    conflicted = rng.random((APPLICATIONS, EXPERTS)) < 0.01
    return affinity, conflicted


def reference(affinity: np.ndarray, conflicted: np.ndarray) -> int:
    """The script an engineer would write first: one `add_arc...` call per pair."""
    n_app, n_exp = affinity.shape
    source, sink = n_app + n_exp, n_app + n_exp + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    for a in range(n_app):
        flow.add_arc_with_capacity_and_unit_cost(source, a, PER_APPLICATION, 0)
    rows = affinity.tolist()
    blocked = conflicted.tolist()
    for a in range(n_app):
        row, bad = rows[a], blocked[a]
        for e in range(n_exp):
            if not bad[e]:
                flow.add_arc_with_capacity_and_unit_cost(a, n_app + e, 1, -row[e])
    for e in range(n_exp):
        flow.add_arc_with_capacity_and_unit_cost(n_app + e, sink, MAX_LOAD, 0)
    flow.set_node_supply(source, n_app * PER_APPLICATION)
    flow.set_node_supply(sink, -n_app * PER_APPLICATION)
    if flow.solve() != flow.OPTIMAL:
        raise RuntimeError("reference found no optimum")
    return -flow.optimal_cost()


def run(env: Any = None) -> list[str]:
    affinity, conflicted = instance()
    start = time.perf_counter()
    expected = reference(affinity, conflicted)
    baseline = time.perf_counter() - start

    problem = Problem(affinity, conflicted, PER_APPLICATION, MAX_LOAD)
    start = time.perf_counter()
    balanced = solve(problem)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    plain = solve(problem, balance=False)
    plain_time = time.perf_counter() - start

    pairs = balanced.pairs
    loads = np.bincount(pairs[:, 1], minlength=EXPERTS)
    valid = (balanced.feasible
             and len(pairs) == APPLICATIONS * PER_APPLICATION
             and not conflicted[pairs[:, 0], pairs[:, 1]].any()
             and int(loads.max()) <= MAX_LOAD
             and (np.bincount(pairs[:, 0], minlength=APPLICATIONS) == PER_APPLICATION).all())
    return [f"assign: ratio={ours / baseline:.3f} solver={ours:.2f}s reference={baseline:.2f}s "
            f"plain={plain_time:.2f}s objective={balanced.objective} "
            f"reference_objective={expected} "
            f"equal={balanced.objective == expected == plain.objective} valid={valid} "
            f"load_spread={int(loads.min())}-{int(loads.max())}"]


if __name__ == "__main__":
    print("\n".join(run()))
