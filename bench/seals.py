"""seals: the seal search over the labelled corpus vs a bare render of the same pages.

Both sides draw every page of the same files in the same run, in this process, one core: the
bare side only draws (PDFium for PDFs, Pillow's reduced decode for scans, at the seal search's
resolution); the seal side draws and then searches each page (`seal_pages`). Prints precision
and recall of "this page carries an official seal", the worst centre error of the seals found,
the time per page of each side and their ratio. Target: ratio ≤ 2, precision and recall ≥ 0.97.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench._seal_corpus import LabelledPage, build, by_file, score
from services.documents.formats import sniff
from services.documents.seal_pages import DrawnPage, image_pages, pdf_pages, seals_in_file

FILES = 80
SEED = 1717  # not the tests' seed: the bench reads pages the tests never tuned on


def _pages(path: Path) -> Iterator[DrawnPage]:
    with path.open("rb") as fh:
        head = fh.read(1024)
    if sniff(head) == "pdf":
        yield from pdf_pages(path)
    else:
        yield from (page for page, _ in image_pages(path))


def _bare(paths: list[Path]) -> tuple[float, int]:
    start, count = time.perf_counter(), 0
    for path in paths:
        for _page in _pages(path):
            count += 1
    return time.perf_counter() - start, count


def _search(paths: list[Path]) -> tuple[float, dict[Path, dict[str, Any]]]:
    start, facts = time.perf_counter(), {}
    for path in paths:
        with path.open("rb") as fh:
            kind = "pdf" if sniff(fh.read(1024)) == "pdf" else "image"
        facts[path] = seals_in_file(path, kind).as_dict()
    return time.perf_counter() - start, facts


def run(env: Any) -> list[str]:
    from services.documents.seal_pages import warm

    warm()  # single-threaded OpenCV, as in the sandbox
    pages: list[LabelledPage] = build(Path(env.root) / "seal-corpus", FILES, seed=SEED)
    paths = [path for path, _ in by_file(pages)]
    _bare(paths[:5])  # warm the page cache and the libraries for both sides
    bare, count = _bare(paths)
    searched, facts = _search(paths)
    result = score(pages, facts)
    per_page = searched / count * 1000
    return [f"seals: precision={result.precision:.3f} recall={result.recall:.3f} "
            f"ms_per_page={per_page:.1f} bare_render_ms_per_page={bare / count * 1000:.1f} "
            f"ratio={searched / bare:.2f} pages={count} sealed_pages="
            f"{result.true_positive + result.false_negative} seal_recall={result.seal_recall:.3f} "
            f"worst_centre_mm={result.worst_centre_mm:.1f} target: ratio<=2 precision>=0.97 "
            f"recall>=0.97"]
