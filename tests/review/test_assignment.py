"""The exact assignment: optimum, constraints, determinism, explanations, replacement."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from services.review.assignment import Problem, propose_replacement, solve


def brute_force(affinity: np.ndarray, conflicted: np.ndarray, k: int, cap: int) -> int | None:
    n_app, n_exp = affinity.shape
    best = None
    options = [[c for c in itertools.combinations(range(n_exp), k)
                if not any(conflicted[a, e] for e in c)] for a in range(n_app)]
    for choice in itertools.product(*options):
        loads = np.bincount([e for c in choice for e in c], minlength=n_exp)
        if loads.max() <= cap:
            value = sum(int(affinity[a, e]) for a, c in enumerate(choice) for e in c)
            best = value if best is None else max(best, value)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_the_solver_reaches_the_brute_force_optimum_and_keeps_every_constraint(
        seed: int) -> None:
    rng = np.random.default_rng(seed)
    affinity = rng.integers(0, 10, size=(4, 5))
    conflicted = rng.random((4, 5)) < 0.2
    expected = brute_force(affinity, conflicted, 2, 2)
    solution = solve(Problem(affinity, conflicted, 2, 2))
    assert solution.feasible == (expected is not None)
    if expected is None:
        return
    assert solution.objective == expected
    pairs = solution.pairs
    assert not conflicted[pairs[:, 0], pairs[:, 1]].any()
    assert (np.bincount(pairs[:, 0], minlength=4) == 2).all()
    assert np.bincount(pairs[:, 1], minlength=5).max() <= 2


def test_a_conflicted_pair_is_never_assigned_even_when_it_has_the_highest_affinity() -> None:
    affinity = np.array([[100, 1, 1], [100, 1, 1]])
    conflicted = np.array([[True, False, False], [False, False, False]])
    pairs = solve(Problem(affinity, conflicted, 1, 2)).pairs.tolist()
    assert [0, 0] not in pairs
    assert [1, 0] in pairs


def test_the_same_input_gives_the_same_assignment() -> None:
    affinity = np.ones((30, 12), dtype=np.int64)  # all ties
    conflicted = np.zeros((30, 12), dtype=bool)
    first = solve(Problem(affinity, conflicted, 3, 10)).pairs
    second = solve(Problem(affinity, conflicted, 3, 10)).pairs
    assert np.array_equal(first, second)
    loads = np.bincount(first[:, 1], minlength=12)
    # Ties are spread: nobody above the fair share (90 places / 12 experts → 8), cap 10.
    assert loads.max() <= 8


def test_an_application_without_enough_eligible_experts_is_named_with_the_reasons() -> None:
    affinity = np.zeros((2, 3), dtype=np.int64)
    conflicted = np.array([[True, True, False], [False, False, False]])
    mismatch = np.array([[False, False, True], [False, False, False]])
    solution = solve(Problem(affinity, conflicted, 2, 5, field_mismatch=mismatch))
    assert not solution.feasible
    [short] = solution.shortfalls
    assert short.application == 0
    assert (short.eligible, short.conflicted, short.field_mismatch) == (0, 2, 1)
    assert "2 conflicted" in short.reason()


def test_load_caps_that_cannot_cover_everyone_are_reported_per_application() -> None:
    affinity = np.zeros((3, 3), dtype=np.int64)
    # Every application may only use experts 0 and 1, each capped at 2: 4 places for 6.
    conflicted = np.array([[False, False, True]] * 3)
    solution = solve(Problem(affinity, conflicted, 2, 2))
    assert not solution.feasible
    assert solution.shortfalls
    assert all("load caps" in s.reason() for s in solution.shortfalls)


def test_total_capacity_below_demand_is_reported() -> None:
    solution = solve(Problem(np.zeros((5, 2)), np.zeros((5, 2), bool), 1, 2))
    assert not solution.feasible
    assert "load caps total 4" in solution.message


def test_a_replacement_is_the_best_free_eligible_expert() -> None:
    affinity = np.array([[5, 9, 9, 7]])
    conflicted = np.array([[False, True, False, False]])
    loads = np.array([0, 0, 2, 0])
    problem = Problem(affinity, conflicted, 1, 2)
    assert propose_replacement(problem, 0, loads) == 3  # 1 conflicted, 2 at its cap


def test_dossier_assign_writes_an_optimal_assignment_and_detects_same_organisation(
        tmp_path: Path) -> None:
    # Saved by Excel on Chinese Windows: GBK. The organisations must still match.
    (tmp_path / "E.csv").write_text(
        "id,name,organisation,fields\ne1,甲,山西大学,机械制造;食品\ne2,乙,示例机械有限公司,"
        "机械制造\ne3,丙,太原理工,食品\n", encoding="gbk")
    (tmp_path / "A.csv").write_text(
        "id,applicant,organisation,field\na1,示例机械有限公司,示例机械有限公司,机械制造\n"
        "a2,张三,食品公司,食品\n", encoding="gbk")
    (tmp_path / "C.csv").write_text("expert_id,application_id,reason\ne3,a2,relative\n",
                                    encoding="utf-8")
    (tmp_path / "F.csv").write_text(
        "expert_id,application_id,score\ne2,a1,99\ne1,a1,3\ne3,a1,2.5\ne1,a2,1\ne2,a2,4\n",
        encoding="utf-8")
    out = tmp_path / "OUT.csv"
    args = [sys.executable, "-m", "dossier.cli", "assign", "--experts", str(tmp_path / "E.csv"),
            "--applications", str(tmp_path / "A.csv"), "--conflicts", str(tmp_path / "C.csv"),
            "--affinity", str(tmp_path / "F.csv"), "--per-application", "1", "--max-load", "1",
            "--out", str(out)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "application_id,expert_id"
    # e2 works for a1's organisation (detected), e3 declared a conflict with a2.
    assert sorted(rows[1:]) == ["a1,e1", "a2,e2"]  # 3 + 4: the best total left
    assert "total affinity 7" in done.stderr

    args[args.index("--max-load") + 1] = "5"
    args[args.index("--per-application") + 1] = "3"
    failed = subprocess.run(args, capture_output=True, text=True, check=False)
    assert failed.returncode != 0
    assert "no assignment exists" in failed.stderr
    assert "application a1: only 2 eligible expert(s) for 3 places: 1 conflicted" in \
        failed.stderr


@pytest.mark.parametrize(("seed", "k", "cap"), [(1, 3, 6), (2, 5, 9), (3, 2, 3)])
def test_short_lists_proved_by_potentials_give_the_full_networks_optimum(
        seed: int, k: int, cap: int) -> None:
    rng = np.random.default_rng(seed)
    # Few distinct affinities (many ties) and tight caps make the short lists insufficient
    # at first, so the proof has to pull left-out pairs in.
    affinity = rng.integers(0, 4, size=(300, 200)) * 10 + rng.integers(0, 2, size=(300, 200))
    conflicted = rng.random((300, 200)) < 0.05
    problem = Problem(affinity, conflicted, k, cap)
    for balance in (True, False):
        full = solve(problem, balance=balance, pricing=False)
        priced = solve(problem, balance=balance)
        assert priced.feasible and full.feasible
        assert priced.objective == full.objective
        pairs = priced.pairs
        assert not conflicted[pairs[:, 0], pairs[:, 1]].any()
        assert (np.bincount(pairs[:, 0], minlength=300) == k).all()
        assert np.bincount(pairs[:, 1], minlength=200).max() <= cap


def test_dossier_assign_reads_spreadsheet_exports_and_matches_fields_when_asked(
        tmp_path: Path) -> None:
    # What Excel writes: a byte-order mark, CRLF line ends, full-width separators, spaces.
    (tmp_path / "E.csv").write_bytes(
        "\ufeffid,name,organisation,fields\r\ne1, 甲 ,山西大学,机械；食品\r\n"
        "e2,乙,太原理工,食品、化工\r\ne3,丙,中北大学,化工\r\n".encode())
    (tmp_path / "A.csv").write_bytes(
        "\ufeffid,applicant,organisation,field\r\na1,某机械厂,某机械厂,机械\r\n"
        "a2,某化工厂,某化工厂,化工\r\n".encode())
    (tmp_path / "F.csv").write_text("expert_id,application_id,score\ne3,a1,0.75\n",
                                    encoding="utf-8")
    out = tmp_path / "OUT.csv"
    args = [sys.executable, "-m", "dossier.cli", "assign", "--experts", str(tmp_path / "E.csv"),
            "--applications", str(tmp_path / "A.csv"), "--affinity", str(tmp_path / "F.csv"),
            "--per-application", "1", "--max-load", "1", "--require-field-match",
            "--out", str(out)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    pairs = sorted(out.read_text(encoding="utf-8").splitlines()[1:])
    # e3 scores best on a1 but knows no 机械制造: the field rule wins over the score.
    assert pairs[0] == "a1,e1"
    assert pairs[1] in {"a2,e2", "a2,e3"}

    (tmp_path / "F.csv").write_text("expert_id,application_id,score\ne9,a1,1\n",
                                    encoding="utf-8")
    failed = subprocess.run(args, capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert "F.csv:2: unknown expert or application (e9, a1)" in failed.stderr
