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

from services.review.assignment import Problem, solve
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


def _read_affinity(path: Path, a_idx: dict[str, int], e_idx: dict[str, int],
                   scores: np.ndarray) -> None:
    """Fill `scores` from `expert_id,application_id,score` rows, streamed: millions of rows
    must not become millions of dicts."""
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
    scores[np.frombuffer(rows_a, dtype=np.int64), np.frombuffer(rows_e, dtype=np.int64)] = \
        np.frombuffer(values, dtype=np.float64)
    if not np.isfinite(scores).all():
        raise BatchError(f"{path}: scores must be finite numbers")


def assign_files(experts: Path, applications: Path, conflicts: Path | None,
                 affinity: Path | None, per_application: int, max_load: int,
                 require_field_match: bool = False) -> BatchResult:
    if per_application < 1 or max_load < 1:
        raise BatchError("--per-application and --max-load must be at least 1")
    e_rows = _rows(experts, ("id", "name", "organisation", "fields"))
    a_rows = _rows(applications, ("id", "applicant", "organisation", "field"))
    e_idx, a_idx = _index(e_rows, experts), _index(a_rows, applications)
    shape = (len(a_rows), len(e_rows))
    conflicted = np.zeros(shape, dtype=bool)
    # Same organisation: compare normalised names of the expert's organisation with the
    # applicant's organisation and with the applicant itself (an organisation applying).
    by_org: dict[str, list[int]] = {}
    for j, e in enumerate(e_rows):
        by_org.setdefault(normalise_name(e["organisation"]), []).append(j)
    for i, a in enumerate(a_rows):
        for name in {normalise_name(a["organisation"]), normalise_name(a["applicant"])} - {""}:
            conflicted[i, by_org.get(name, [])] = True
    detected = int(conflicted.sum())
    if conflicts is not None:
        for line, row in enumerate(_rows(conflicts, ("expert_id", "application_id")), start=2):
            if row["expert_id"] not in e_idx or row["application_id"] not in a_idx:
                raise BatchError(f"{conflicts}:{line}: unknown expert or application "
                                 f"({row['expert_id']}, {row['application_id']})")
            conflicted[a_idx[row["application_id"]], e_idx[row["expert_id"]]] = True
    scores = np.zeros(shape, dtype=np.float64)
    if affinity is not None:
        _read_affinity(affinity, a_idx, e_idx, scores)
    integral = bool(np.all(scores == np.round(scores)))
    scale = 1 if integral else 1000
    mismatch = None
    if require_field_match:
        # `;` as specified; the full-width `；` and `、` are what Chinese spreadsheets hold.
        fields = [{normalise_name(f) for f in re.split(r"[;；、]", e["fields"]) if f.strip()}
                  for e in e_rows]
        mismatch = np.array([[normalise_name(a["field"]) not in f for f in fields]
                             for a in a_rows], dtype=bool).reshape(shape)
    problem = Problem(np.round(scores * scale).astype(np.int64), conflicted, per_application,
                      max_load, field_mismatch=mismatch)
    solution = solve(problem)
    if not solution.feasible:
        a_ids = [a["id"] for a in a_rows]
        lines = [f"no assignment exists: {solution.message}"]
        lines += [f"  application {a_ids[s.application]}: {s.reason()}"
                  for s in solution.shortfalls]
        raise BatchError("\n".join(lines))
    e_ids = [e["id"] for e in e_rows]
    pairs = [(a_rows[a]["id"], e_ids[e]) for a, e in solution.pairs.tolist()]
    return BatchResult(pairs, solution.objective / scale, detected)


def write_pairs(path: Path, pairs: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["application_id", "expert_id"])
        writer.writerows(pairs)
