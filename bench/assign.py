"""assign: review's assignment solver vs a straightforward OR-Tools SimpleMinCostFlow script.

3,000 applications × 800 experts, 5 experts per application, load ≤ 20, affinities 0–99 with
about 1% of pairs conflicted. The reference adds one arc per Python call, the way a first
script would; review's solver builds the same network from NumPy arrays (and spreads loads on
ties). Both objectives are printed and must be equal; ratio = solver time ÷ reference time.

assign-scale: a national programme, 100,000 applications × 10,000 experts, K=5, L=60, 60
listed affinities per application, declared conflicts and hidden same-organisation ones (found
by name, inside the timed part). Each side runs in its own process, so its peak memory (max RSS)
is its own; the reference is an independent sparse OR-Tools script whose optimum is an upper
bound, so gap ≤ 1e-6 with a valid assignment proves optimality. About three minutes on a busy
machine; DOSSIER_BENCH_ASSIGN_SCALE=0 leaves it out.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
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
            f"load_spread={int(loads.min())}-{int(loads.max())}"] + \
        ([] if os.environ.get("DOSSIER_BENCH_ASSIGN_SCALE") == "0" else [scale_line()])


# --- The scale line: a national programme, candidate pairs only -------------------------------

SCALE_APPLICATIONS, SCALE_EXPERTS, SCALE_K, SCALE_L, SCALE_LISTED = 100_000, 10_000, 5, 60, 60
SCALE_ORGANISATIONS = 2_500  # experts' organisations, four experts each on average


def scale_instance(seed: int = 20261) -> dict[str, np.ndarray]:
    """60 listed affinities (1–100) per application to distinct experts, two declared
    conflicts per application (one on a listed pair, where it bites), and organisations: a
    third of the applicants belong to an organisation some experts work for — the hidden
    same-organisation conflicts the solver's caller must find by name."""
    rng = np.random.default_rng(seed)
    n_app, n_exp, listed = SCALE_APPLICATIONS, SCALE_EXPERTS, SCALE_LISTED
    steps = rng.integers(1, n_exp // listed, size=(n_app, listed))  # sums stay below n_exp
    experts = (rng.integers(0, n_exp, size=(n_app, 1)) + np.cumsum(steps, axis=1)) % n_exp
    scores = rng.integers(1, 101, size=(n_app, listed))
    apps = np.repeat(np.arange(n_app), listed)
    declared = np.concatenate([
        np.stack([np.arange(n_app), experts[np.arange(n_app), rng.integers(0, listed, n_app)]],
                 axis=1),
        np.stack([np.arange(n_app), rng.integers(0, n_exp, n_app)], axis=1)])
    expert_org = rng.integers(0, SCALE_ORGANISATIONS, size=n_exp)
    app_org = np.where(rng.random(n_app) < 1 / 3,
                       rng.integers(0, SCALE_ORGANISATIONS, size=n_app), -1)
    return {"pairs": np.stack([apps, experts.reshape(-1)], axis=1),
            "scores": scores.reshape(-1), "declared": declared,
            "expert_org": expert_org, "app_org": app_org}


def _cpu() -> float:
    """This process's processor time: on a shared machine, wall time says more about the
    neighbours than about the solver."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _org_name(code: int) -> str:
    return f"第{code}研究院" if code >= 0 else ""


def _ours(path: str) -> dict[str, Any]:
    """Review's path: detect same-organisation conflicts by name, then solve (child process)."""
    from services.review.assignment import SparseProblem
    from services.review.batch import same_organisation

    data = dict(np.load(path))
    expert_names = [_org_name(int(c)) for c in data["expert_org"]]
    applicant_names = [(_org_name(int(c)), f"申报单位{i}") for i, c in enumerate(data["app_org"])]
    start, cpu = time.perf_counter(), _cpu()
    detected = same_organisation(expert_names, applicant_names)
    problem = SparseProblem(SCALE_APPLICATIONS, SCALE_EXPERTS, SCALE_K, SCALE_L, data["pairs"],
                            data["scores"], np.concatenate([detected, data["declared"]]))
    solution = solve(problem)
    elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    np.save(path + ".pairs.npy", solution.pairs)
    return {"time": elapsed, "cpu": cpu, "objective": solution.objective, "bound": solution.bound,
            "feasible": solution.feasible, "detected": len(detected)}


def _reference(path: str) -> dict[str, Any]:
    """An independent sparse OR-Tools script on the same instance (child process): the listed
    arcs minus every conflict (organisations compared by code), and one shared node standing
    for all unlisted pairs at affinity 0. Every assignment is a flow of this network, so its
    optimum is an upper bound that an optimal assignment reaches."""
    data = dict(np.load(path))
    start, cpu = time.perf_counter(), _cpu()
    n_app, n_exp = SCALE_APPLICATIONS, SCALE_EXPERTS
    pairs, scores = data["pairs"], data["scores"]
    app_org, expert_org = data["app_org"], data["expert_org"]
    same = (app_org[pairs[:, 0]] >= 0) & (app_org[pairs[:, 0]] == expert_org[pairs[:, 1]])
    declared = np.isin(pairs[:, 0] * n_exp + pairs[:, 1],
                       data["declared"][:, 0] * n_exp + data["declared"][:, 1])
    keep = ~(same | declared)
    source, sink, other = n_app + n_exp, n_app + n_exp + 1, n_app + n_exp + 2
    tails = np.concatenate([np.full(n_app, source), pairs[keep, 0], np.arange(n_app),
                            np.full(n_exp, other), np.arange(n_exp) + n_app])
    heads = np.concatenate([np.arange(n_app), pairs[keep, 1] + n_app, np.full(n_app, other),
                            np.arange(n_exp) + n_app, np.full(n_exp, sink)])
    caps = np.concatenate([np.full(n_app, SCALE_K), np.ones(int(keep.sum())),
                           np.full(n_app, SCALE_K), np.full(2 * n_exp, SCALE_L)])
    costs = np.concatenate([np.zeros(n_app), -scores[keep], np.zeros(n_app + 2 * n_exp)])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int64), heads.astype(np.int64),
                                              caps.astype(np.int64), costs.astype(np.int64))
    flow.set_node_supply(source, n_app * SCALE_K)
    flow.set_node_supply(sink, -n_app * SCALE_K)
    if flow.solve() != flow.OPTIMAL:
        raise RuntimeError("reference found no optimum")
    return {"time": time.perf_counter() - start, "cpu": _cpu() - cpu,
            "objective": -flow.optimal_cost()}


def _child(role: str, path: str) -> tuple[dict[str, Any], float]:
    """Run one side in its own process: its result and its peak memory in GiB."""
    proc = subprocess.Popen([sys.executable, "-m", "bench.assign", role, path],
                            stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{role} failed with exit code {proc.returncode}")
    return json.loads(out), usage.ru_maxrss / 2**20  # Linux: KiB


def scale_line() -> str:
    with tempfile.TemporaryDirectory(prefix="dossier-assign-") as tmp:
        path = str(Path(tmp) / "instance.npz")
        data = scale_instance()
        np.savez(path, pairs=data["pairs"], scores=data["scores"], declared=data["declared"],
                 expert_org=data["expert_org"], app_org=data["app_org"])
        ours, ours_gib = _child("ours", path)
        ref, ref_gib = _child("reference", path)
        pairs = np.load(path + ".pairs.npy")
    n_app, n_exp = SCALE_APPLICATIONS, SCALE_EXPERTS
    codes = pairs[:, 0] * n_exp + pairs[:, 1]
    listed = data["pairs"][:, 0] * n_exp + data["pairs"][:, 1]
    order = np.argsort(listed)
    at = np.minimum(np.searchsorted(listed[order], codes), len(listed) - 1)
    hit = listed[order][at] == codes
    objective = int(np.where(hit, data["scores"][order][at], 0).sum())  # unlisted: 0
    app_org, expert_org = data["app_org"], data["expert_org"]
    declared = set((data["declared"][:, 0] * n_exp + data["declared"][:, 1]).tolist())
    loads = np.bincount(pairs[:, 1], minlength=n_exp)
    valid = (ours["feasible"] and len(np.unique(codes)) == len(codes) == n_app * SCALE_K
             and (np.bincount(pairs[:, 0], minlength=n_app) == SCALE_K).all()
             and int(loads.max()) <= SCALE_L
             and not ((app_org[pairs[:, 0]] >= 0)
                      & (app_org[pairs[:, 0]] == expert_org[pairs[:, 1]])).any()
             and not declared.intersection(codes.tolist())
             and objective == ours["objective"])
    gap = (ref["objective"] - objective) / ref["objective"]
    return (f"assign-scale: ratio={ours['time'] / ref['time']:.3f} solver={ours['time']:.1f}s "
            f"reference={ref['time']:.1f}s cpu_ratio={ours['cpu'] / ref['cpu']:.3f} "
            f"solver_cpu={ours['cpu']:.1f}s reference_cpu={ref['cpu']:.1f}s "
            f"peak_memory={ours_gib:.2f}GiB "
            f"reference_memory={ref_gib:.2f}GiB objective={objective} "
            f"reference_bound={ref['objective']} gap={gap:.1e} "
            f"optimal={gap <= 1e-6 and ours['bound'] == objective} valid={valid} "
            f"detected={ours['detected']} load_spread={int(loads.min())}-{int(loads.max())} "
            f"size={n_app}x{n_exp} K={SCALE_K} L={SCALE_L}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("ours", "reference"):
        side = _ours if sys.argv[1] == "ours" else _reference
        print(json.dumps(side(sys.argv[2])))
    else:
        print("\n".join(run()))
