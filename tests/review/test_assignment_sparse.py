"""The assignment on candidate pairs: equal to brute force and to an independent explicit
network on random instances, exact when the pool's split or the short lists need a second
round, and memory that follows the pairs rather than applications × experts."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from ortools.graph.python import min_cost_flow

from services.review import assignment
from services.review.assignment import Problem, SparseProblem, explain, solve


def _dense(p: SparseProblem) -> tuple[np.ndarray, np.ndarray]:
    """The instance as matrices (tests only): affinity with unlisted 0, and which pairs may
    be used."""
    n_app, n_exp = p.shape
    affinity = np.zeros((n_app, n_exp), dtype=np.int64)
    affinity[p.pairs[:, 0], p.pairs[:, 1]] = p.affinity  # the last listing wins
    usable = np.ones((n_app, n_exp), dtype=bool)
    if p.allowed is not None:
        usable[:] = False
        usable[p.allowed[:, 0], p.allowed[:, 1]] = True
    usable[p.conflicts[:, 0], p.conflicts[:, 1]] = False
    excluded: np.ndarray = p.excluded  # type: ignore[assignment]
    usable[excluded[:, 0], excluded[:, 1]] = False
    return affinity, usable


def _brute_force(p: SparseProblem) -> int | None:
    affinity, usable = _dense(p)
    n_app, n_exp = p.shape
    k, caps = p.per_application, p.loads()
    options = [[c for c in itertools.combinations(range(n_exp), k) if usable[a, list(c)].all()]
               for a in range(n_app)]
    best = None
    for choice in itertools.product(*options):
        loads = np.bincount([e for c in choice for e in c], minlength=n_exp)
        if (loads <= caps).all():
            value = sum(int(affinity[a, e]) for a, c in enumerate(choice) for e in c)
            best = value if best is None else max(best, value)
    return best


def _explicit_flow(p: SparseProblem) -> int | None:
    """An independent optimum: one arc per usable pair (applications × experts), plain costs."""
    affinity, usable = _dense(p)
    n_app, n_exp = p.shape
    a_idx, e_idx = np.nonzero(usable)
    source, sink = n_app + n_exp, n_app + n_exp + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    tails = np.concatenate([np.full(n_app, source), a_idx, np.arange(n_exp) + n_app])
    heads = np.concatenate([np.arange(n_app), e_idx + n_app, np.full(n_exp, sink)])
    caps = np.concatenate([np.full(n_app, p.per_application), np.ones(len(a_idx)), p.loads()])
    costs = np.concatenate([np.zeros(n_app), -affinity[a_idx, e_idx], np.zeros(n_exp)])
    flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int64), heads.astype(np.int64),
                                              caps.astype(np.int64), costs.astype(np.int64))
    flow.set_node_supply(source, n_app * p.per_application)
    flow.set_node_supply(sink, -n_app * p.per_application)
    if flow.solve() != flow.OPTIMAL:
        return None
    return int(-flow.optimal_cost())


def _random_problem(rng: np.random.Generator, n_app: int, n_exp: int, k: int, cap: int,
                    fields: bool) -> SparseProblem:
    cells = n_app * n_exp
    listed = rng.choice(cells, size=int(rng.integers(0, cells // 2 + 1)), replace=False)
    conflicts = rng.choice(cells, size=int(rng.integers(0, cells // 4 + 1)), replace=False)
    excluded = rng.choice(cells, size=int(rng.integers(0, cells // 8 + 1)), replace=False)
    allowed = rng.choice(cells, size=int(rng.integers(cells // 2, cells + 1)), replace=False)

    def pairs(codes: np.ndarray) -> np.ndarray:
        return np.stack([codes // n_exp, codes % n_exp], axis=1)

    return SparseProblem(n_app, n_exp, k, cap, pairs(listed),
                         rng.integers(-3, 10, size=len(listed)), pairs(conflicts),
                         pairs(excluded), pairs(allowed) if fields else None)


def _check(p: SparseProblem, expected: int | None) -> None:
    solution = solve(p)
    assert solution.feasible == (expected is not None), solution.message
    if expected is None:
        return
    assert solution.objective == expected
    assert solution.bound == expected and solution.gap == 0
    _, usable = _dense(p)
    pairs = solution.pairs
    assert usable[pairs[:, 0], pairs[:, 1]].all()
    assert len({tuple(x) for x in pairs.tolist()}) == len(pairs)
    assert (np.bincount(pairs[:, 0], minlength=p.shape[0]) == p.per_application).all()
    assert (np.bincount(pairs[:, 1], minlength=p.shape[1]) <= p.loads()).all()


@pytest.mark.parametrize("seed", range(40))
def test_the_sparse_solver_equals_brute_force_on_random_small_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = _random_problem(rng, int(rng.integers(1, 4)), int(rng.integers(2, 6)),
                        int(rng.integers(1, 3)), int(rng.integers(1, 4)), fields=seed % 3 == 0)
    _check(p, _brute_force(p))


@pytest.mark.parametrize("seed", range(12))
def test_short_lists_and_the_pool_give_the_explicit_networks_optimum(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Short lists from the first pair on, one pair wide: the stand-in arcs must pull the
    # rest in whenever it matters.
    monkeypatch.setattr(assignment, "_PRICING_MIN_PAIRS", 0)
    monkeypatch.setattr(assignment, "_PRICING_WIDTH", 1)
    rng = np.random.default_rng(1000 + seed)
    n_app, n_exp, k = 40, 15, 3
    cap = int(rng.integers(-(-n_app * k // n_exp), 12))
    p = _random_problem(rng, n_app, n_exp, k, cap, fields=seed % 4 == 0)
    _check(p, _explicit_flow(p))


def test_a_pool_split_that_fails_falls_back_to_explicit_pairs_and_stays_exact() -> None:
    # Application 0 may use either expert, application 1 only expert 0 (it is conflicted
    # with expert 1); each expert takes one. Greedy on the pool serves application 0 first
    # with expert 0 and strands application 1: its pairs must become explicit.
    p = SparseProblem(2, 2, 1, 1, np.zeros((0, 2)), np.zeros(0), np.array([[1, 1]]))
    solution = solve(p)
    assert solution.feasible
    assert solution.pairs.tolist() == [[0, 1], [1, 0]]
    assert solution.bound == solution.objective == 0


def test_a_panels_matrices_and_their_sparse_form_give_the_same_assignment() -> None:
    rng = np.random.default_rng(7)
    affinity = rng.integers(0, 5, size=(60, 20))
    conflicted = rng.random((60, 20)) < 0.1
    excluded = rng.random((60, 20)) < 0.05
    dense = Problem(affinity, conflicted, 3, 12, excluded=excluded)

    def price(pairs: np.ndarray) -> int:
        # The load tiers: quarters of the fair share (180 ÷ 20 = 9) priced 0–3, beyond it 4.
        loads = np.bincount(pairs[:, 1], minlength=20)
        bounds = [2, 4, 6, 9, 12]
        lows = [0, *bounds[:-1]]
        return int(sum(tier * (np.clip(loads, 0, high) - np.clip(loads, 0, low)).sum()
                       for tier, (low, high) in enumerate(zip(lows, bounds, strict=True))))

    for balance in (True, False):
        a, b = solve(dense, balance=balance), solve(dense.sparse(), balance=balance)
        assert a.objective == b.objective == a.bound == b.bound
    # Among assignments of that affinity, both spread the load equally well.
    assert price(solve(dense).pairs) == price(solve(dense.sparse()).pairs)


def test_memory_follows_the_candidate_pairs_not_applications_times_experts() -> None:
    # 40,000 × 25,000 is a billion pairs (8 GB as an int64 matrix); 8 listed per application
    # and a conflict each are 360,000. NumPy reports its allocations to tracemalloc.
    rng = np.random.default_rng(3)
    n_app, n_exp, listed = 40_000, 25_000, 8
    apps = np.repeat(np.arange(n_app), listed)
    experts = rng.integers(0, n_exp, size=n_app * listed)
    conflicts = np.stack([np.arange(n_app), rng.integers(0, n_exp, size=n_app)], axis=1)
    p = SparseProblem(n_app, n_exp, 3, 6, np.stack([apps, experts], axis=1),
                      rng.integers(1, 100, size=n_app * listed), conflicts)
    tracemalloc.start()
    try:
        solution = solve(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert solution.feasible and solution.bound == solution.objective
    assert peak < 400 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    loads = np.bincount(solution.pairs[:, 1], minlength=n_exp)
    assert loads.max() <= 6
    assert not np.isin(solution.pairs[:, 0] * n_exp + solution.pairs[:, 1],
                       conflicts[:, 0] * n_exp + conflicts[:, 1]).any()


def test_ties_spread_the_load_through_the_pool_too() -> None:
    # Nothing listed: every pair is the default 0, all through the pool. 90 places, 12
    # experts capped at 10: the fair share is 8.
    p = SparseProblem(30, 12, 3, 10, np.zeros((0, 2)), np.zeros(0), np.zeros((0, 2)))
    solution = solve(p)
    assert solution.feasible
    assert np.bincount(solution.pairs[:, 1], minlength=12).max() <= 8


def test_explanations_are_computed_for_the_pairs_asked_for() -> None:
    p = SparseProblem(2, 4, 1, 2, np.array([[0, 0], [0, 1], [0, 2], [1, 3]]),
                      np.array([5, 9, -2, 4]), np.array([[0, 3]]))
    why = explain(p, np.array([[0, 0], [0, 2], [1, 1]]))
    # Application 0: experts 0, 1, 2 eligible (3 conflicted); 9 > 5; for the −2 pair the
    # 9, the 5 and nobody unlisted… expert 3 is conflicted, so 2 rank higher.
    assert why[0] == {"affinity": 5, "eligible_experts": 3, "eligible_with_higher_affinity": 1}
    assert why[1] == {"affinity": -2, "eligible_experts": 3, "eligible_with_higher_affinity": 2}
    # Application 1: expert 1 is unlisted (0); expert 3's 4 ranks higher.
    assert why[2] == {"affinity": 0, "eligible_experts": 4, "eligible_with_higher_affinity": 1}


def test_dossier_assign_states_the_proof_and_explains_each_pair(tmp_path: Path) -> None:
    (tmp_path / "E.csv").write_text("id,name,organisation,fields\ne1,甲,山西大学,机械\n"
                                    "e2,乙,太原理工,机械\ne3,丙,中北大学,机械\n",
                                    encoding="utf-8")
    (tmp_path / "A.csv").write_text("id,applicant,organisation,field\na1,某厂,山西大学,机械\n"
                                    "a2,某公司,某公司,机械\n", encoding="utf-8")
    (tmp_path / "F.csv").write_text("expert_id,application_id,score\ne1,a1,90\ne2,a1,7.5\n",
                                    encoding="utf-8")
    out = tmp_path / "OUT.csv"
    done = subprocess.run(
        [sys.executable, "-m", "dossier.cli", "assign", "--experts", str(tmp_path / "E.csv"),
         "--applications", str(tmp_path / "A.csv"), "--affinity", str(tmp_path / "F.csv"),
         "--per-application", "1", "--max-load", "1", "--explain", "--out", str(out)],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "total affinity 7.5 (optimal)" in done.stderr
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0] == ("application_id,expert_id,affinity,eligible_experts,"
                       "eligible_with_higher_affinity")
    # e1 works at a1's organisation (detected): a1 gets e2, the best of the two left.
    assert rows[1] == "a1,e2,7.5,2,0"
    assert rows[2].startswith("a2,") and rows[2].endswith(",0,3,0")
