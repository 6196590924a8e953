"""inspect: `dossier inspect` over a PDF corpus vs a bare `pypdf.PdfReader(...).pages` loop.

Both read the same files in the same run. `dossier inspect` does far more per file (format from
content, sandboxed child processes with limits, structure, outline, active content, text
sample, classification marks) and uses every core; the bare loop only counts pages, in-process,
on one core. Target: ratio = inspect time ÷ bare time ≤ 1.5, and the largest process stays
under 1 GiB (the sandbox caps each child's address space below that, whatever the input).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pypdf import PdfWriter

from bench._pdf_corpus import build

FILES = 600


def _bare(paths: list[Path]) -> float:
    from pypdf import PdfReader

    start = time.perf_counter()
    for path in paths:
        try:
            len(PdfReader(path).pages)
        except Exception:  # noqa: S112 (the bare loop has no fallback: a failure is a miss)
            continue
    return time.perf_counter() - start


def _inspect(paths: list[Path], *extra: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "dossier.cli", "inspect", "--json", *extra,
                             *map(str, paths)], capture_output=True, text=True, check=False)
    return result, time.perf_counter() - start


def run(env: Any) -> list[str]:
    import logging

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    folder = Path(env.root) / "inspect-corpus"
    paths = build(folder, FILES)
    big = folder / "big-5000-pages.pdf"  # one long file among the short ones
    writer = PdfWriter()
    for _ in range(5000):
        writer.add_blank_page(width=595, height=842)
    writer.write(big)
    paths.append(big)
    size = sum(p.stat().st_size for p in paths)
    _bare(paths[:50])  # warm the page cache and imports alike for both sides
    bare = _bare(paths)
    result, inspect = _inspect(paths)
    # The first-page text sample (classification marks) costs pypdf's own parse on top.
    _, sampled = _inspect(paths, "--text", "sample")
    lines = result.stdout.count("\n")
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ratio = inspect / bare
    return [f"inspect: ratio={ratio:.2f} files={len(paths)} verdicts={lines} "
            f"exit={result.returncode} inspect_s={inspect:.2f} bare_pypdf_s={bare:.2f} "
            f"corpus_mib={size / 2**20:.0f} cores={os.cpu_count()} "
            f"peak_rss_mib={peak_mib:.0f} text_sample_ratio={sampled / bare:.2f} "
            f"target<=1.5 peak<1024"]
