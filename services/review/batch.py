"""`dossier assign`: the assignment solver on CSV files, for batch use outside the service.

Same-organisation conflicts are detected here (by normalised organisation name); declared
conflicts come from the conflicts file. Affinity scores may be decimals: they are scaled to
integers (thousandths) for the exact solver and reported back unscaled.
"""

from __future__ import annotations

import csv
import io
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.review.assignment import SparseProblem, solve
from services.review.assignment import explain as explain_pairs
from services.review.conflicts import normalise_name
from services.review.csvtext import decode_csv
from shared.errors import DossierError


class BatchError(Exception):
    """Bad input or no assignment: the message says which and why."""


@dataclass
class BatchResult:
    pairs: list[tuple[str, str]]
    objective: float
    detected_conflicts: int
    bound: float  # no assignment has a higher total: equal to `objective` proves it optimal
    explanations: list[dict[str, int]] | None = None  # per pair, when asked for
    scale: int = 1  # explanations' affinities are in 1/scale units


def _rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    try:
        # Names may come from Excel in GBK; the same decoding as the service's import.
        text = decode_csv(path.read_bytes())
    except OSError as exc:
        raise BatchError(f"{path}: {exc.strerror or exc}") from exc
    except DossierError as exc:
        raise BatchError(f"{path}: {exc.en}") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in columns if c not in header]
    if missing:
        raise BatchError(f"{path}: missing column(s) {', '.join(missing)}")
    return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def _index(rows: list[dict[str, str]], path: Path) -> dict[str, int]:
    index: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not row["id"]:
            raise BatchError(f"{path}:{line}: empty id")
        if row["id"] in index:
            raise BatchError(f"{path}:{line}: id {row['id']} appears twice")
        index[row["id"]] = len(index)
    return index


def _read_affinity(path: Path, a_idx: dict[str, int], e_idx: dict[str, int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The listed pairs and their scores from `expert_id,application_id,score` rows, streamed:
    millions of rows must not become millions of dicts (nor a dense matrix)."""
    rows_a, rows_e, values = array("q"), array("q"), array("d")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in ("expert_id", "application_id", "score") if c not in header]
            if missing:
                raise BatchError(f"{path}: missing column(s) {', '.join(missing)}")
            ce, ca, cs = (header.index(c) for c in ("expert_id", "application_id", "score"))
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                try:
                    a, e = a_idx[row[ca].strip()], e_idx[row[ce].strip()]
                    value = float(row[cs])
                except KeyError as exc:
                    raise BatchError(f"{path}:{line}: unknown expert or application "
                                     f"({row[ce]}, {row[ca]})") from exc
                except (ValueError, IndexError) as exc:
                    raise BatchError(f"{path}:{line}: score is not a number") from exc
                rows_a.append(a)
                rows_e.append(e)
                values.append(value)
    except OSError as exc:
        raise BatchError(f"{path}: {exc.strerror or exc}") from exc
    scores = np.frombuffer(values, dtype=np.float64)
    if not np.isfinite(scores).all():
        raise BatchError(f"{path}: scores must be finite numbers")
    pairs = np.stack([np.frombuffer(rows_a, dtype=np.int64),
                      np.frombuffer(rows_e, dtype=np.int64)], axis=1)
    return pairs, scores


def same_organisation(expert_organisations: Sequence[str],
                      application_names: Sequence[Sequence[str]]) -> np.ndarray:
    """(application, expert) pairs where the expert's organisation is, by normalised name, the
    applicant's organisation or the applicant itself (an organisation applying). Grouped by
    organisation: the cost follows the pairs found, not applications × experts."""
    by_org: dict[str, list[int]] = {}
    for j, org in enumerate(expert_organisations):
        by_org.setdefault(normalise_name(org), []).append(j)
    by_org.pop("", None)
    apps: list[int] = []
    experts: list[int] = []
    for i, names in enumerate(application_names):
        for name in {normalise_name(n) for n in names} - {""}:
            found = by_org.get(name, [])
            apps.extend([i] * len(found))
            experts.extend(found)
    return np.stack([np.asarray(apps, dtype=np.int64), np.asarray(experts, dtype=np.int64)],
                    axis=1)


def _field_pairs(e_rows: list[dict[str, str]], a_rows: list[dict[str, str]]) -> np.ndarray:
    """(application, expert) pairs whose fields match: the only usable ones when asked."""
    by_field: dict[str, list[int]] = {}
    for j, e in enumerate(e_rows):
        # `;` as specified; the full-width `；` and `、` are what Chinese spreadsheets hold.
        for f in {normalise_name(f) for f in re.split(r"[;；、]", e["fields"]) if f.strip()}:
            by_field.setdefault(f, []).append(j)
    groups = [np.asarray(by_field.get(normalise_name(a["field"]), []), dtype=np.int64)
              for a in a_rows]
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    experts = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    return np.stack([np.repeat(np.arange(len(a_rows), dtype=np.int64), sizes), experts], axis=1)


def assign_files(experts: Path, applications: Path, conflicts: Path | None,
                 affinity: Path | None, per_application: int, max_load: int,
                 require_field_match: bool = False, explain: bool = False) -> BatchResult:
    if per_application < 1 or max_load < 1:
        raise BatchError("--per-application and --max-load must be at least 1")
    e_rows = _rows(experts, ("id", "name", "organisation", "fields"))
    a_rows = _rows(applications, ("id", "applicant", "organisation", "field"))
    e_idx, a_idx = _index(e_rows, experts), _index(a_rows, applications)
    detected = same_organisation([e["organisation"] for e in e_rows],
                                 [(a["organisation"], a["applicant"]) for a in a_rows])
    declared: list[tuple[int, int]] = []
    if conflicts is not None:
        for line, row in enumerate(_rows(conflicts, ("expert_id", "application_id")), start=2):
            if row["expert_id"] not in e_idx or row["application_id"] not in a_idx:
                raise BatchError(f"{conflicts}:{line}: unknown expert or application "
                                 f"({row['expert_id']}, {row['application_id']})")
            declared.append((a_idx[row["application_id"]], e_idx[row["expert_id"]]))
    pairs, scores = (_read_affinity(affinity, a_idx, e_idx) if affinity is not None
                     else (np.zeros((0, 2), dtype=np.int64), np.zeros(0)))
    integral = bool(np.all(scores == np.round(scores)))
    scale = 1 if integral else 1000
    problem = SparseProblem(
        len(a_rows), len(e_rows), per_application, max_load, pairs,
        np.round(scores * scale).astype(np.int64),
        np.concatenate([detected, np.asarray(declared, dtype=np.int64).reshape(-1, 2)]),
        allowed=_field_pairs(e_rows, a_rows) if require_field_match else None)
    solution = solve(problem)
    if not solution.feasible:
        a_ids = [a["id"] for a in a_rows]
        lines = [f"no assignment exists: {solution.message}"]
        lines += [f"  application {a_ids[s.application]}: {s.reason()}"
                  for s in solution.shortfalls]
        raise BatchError("\n".join(lines))
    e_ids = [e["id"] for e in e_rows]
    result = [(a_rows[a]["id"], e_ids[e]) for a, e in solution.pairs.tolist()]
    why = explain_pairs(problem, solution.pairs) if explain else None
    detected_count = len(np.unique(detected[:, 0] * max(len(e_rows), 1) + detected[:, 1]))
    return BatchResult(result, solution.objective / scale, detected_count,
                       (solution.bound if solution.bound is not None else solution.objective)
                       / scale, why, scale)


def write_pairs(path: Path, result: BatchResult) -> None:
    """`application_id,expert_id`, and with explanations the pair's affinity, its
    application's eligible experts and how many of them have a higher affinity."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        if result.explanations is None:
            writer.writerow(["application_id", "expert_id"])
            writer.writerows(result.pairs)
            return
        writer.writerow(["application_id", "expert_id", "affinity", "eligible_experts",
                         "eligible_with_higher_affinity"])
        for (a, e), why in zip(result.pairs, result.explanations, strict=True):
            score = why["affinity"] / result.scale
            writer.writerow([a, e, int(score) if score == int(score) else score,
                             why["eligible_experts"], why["eligible_with_higher_affinity"]])
