"""seals: the seal search over the labelled corpus vs a bare render of the same pages.

Both sides draw every page of the same files in the same run, in this process, one core, file
by file in turn (so a busy machine slows both alike), twice, the faster round of each side
counting: the bare side only draws (PDFium for PDFs, Pillow's reduced decode for scans, at the
seal search's resolution); the seal side draws and then searches each page (`seal_pages`).
Prints precision and recall of "this page carries an official seal", the worst centre error of
the seals found, the time per page of each side and their ratio. Target: ratio ≤ 2, precision
and recall ≥ 0.97.
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
SEED = 31337  # neither the tests' seed nor one the detector was tuned on


def _pages(path: Path) -> Iterator[DrawnPage]:
    with path.open("rb") as fh:
        head = fh.read(1024)
    if sniff(head) == "pdf":
        yield from pdf_pages(path)
    else:
        yield from (page for page, _ in image_pages(path))


def _round(paths: list[Path]) -> tuple[float, float, int, dict[Path, dict[str, Any]]]:
    """(bare seconds, search seconds, pages, seal facts per file), file by file in turn."""
    bare = searched = 0.0
    count, facts = 0, {}
    for path in paths:
        start = time.perf_counter()
        for _page in _pages(path):
            count += 1
        middle = time.perf_counter()
        with path.open("rb") as fh:
            kind = "pdf" if sniff(fh.read(1024)) == "pdf" else "image"
        facts[path] = seals_in_file(path, kind).as_dict()
        bare, searched = bare + middle - start, searched + time.perf_counter() - middle
    return bare, searched, count, facts


def run(env: Any) -> list[str]:
    from services.documents.seal_pages import warm

    warm()  # single-threaded OpenCV, as in the sandbox
    pages: list[LabelledPage] = build(Path(env.root) / "seal-corpus", FILES, seed=SEED)
    paths = [path for path, _ in by_file(pages)]
    _round(paths[:5])  # warm the page cache and the libraries for both sides
    first, second = _round(paths), _round(paths)
    bare, searched = min(first[0], second[0]), min(first[1], second[1])
    count, facts = first[2], first[3]
    result = score(pages, facts)
    per_page = searched / count * 1000
    return [f"seals: precision={result.precision:.3f} recall={result.recall:.3f} "
            f"ms_per_page={per_page:.1f} bare_render_ms_per_page={bare / count * 1000:.1f} "
            f"ratio={searched / bare:.2f} pages={count} sealed_pages="
            f"{result.true_positive + result.false_negative} seal_recall={result.seal_recall:.3f} "
            f"worst_centre_mm={result.worst_centre_mm:.1f} target: ratio<=2 precision>=0.97 "
            f"recall>=0.97"]
