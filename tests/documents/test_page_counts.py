"""Page counts over a corpus of real-world-shaped PDFs agree with poppler and qpdf.

The corpus is generated (several writers, then damaged copies as uploads arrive damaged) plus
whatever PDFs the machine ships; see bench/_pdf_corpus.py. Wherever `pdfinfo` and `qpdf` agree
on a page count, `dossier inspect` must agree with them on at least 99% of files. A bare pypdf
loop, for contrast, is measured and printed too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench._pdf_corpus import build

CORPUS = 400


def pdfinfo_pages(path: Path) -> int | None:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, timeout=60,
                         check=False)
    match = re.search(r"^Pages:\s+(\d+)", out.stdout, re.MULTILINE)
    return int(match.group(1)) if match else None


def qpdf_pages(path: Path) -> int | None:
    out = subprocess.run(["qpdf", "--show-npages", str(path)], capture_output=True, text=True,
                         timeout=60, check=False)
    text = out.stdout.strip()
    return int(text) if out.returncode in (0, 3) and text.isdigit() else None


def bare_pypdf_pages(path: Path) -> int | None:
    from pypdf import PdfReader
    try:
        return len(PdfReader(path).pages)
    except Exception:
        return None


def test_page_counts_agree_with_pdfinfo_and_qpdf_on_at_least_99_percent(
        tmp_path: Path) -> None:
    paths = build(tmp_path / "corpus", CORPUS)
    with ThreadPoolExecutor(4) as pool:
        poppler = list(pool.map(pdfinfo_pages, paths))
        qpdf = list(pool.map(qpdf_pages, paths))
    result = subprocess.run([sys.executable, "-m", "dossier.cli", "inspect", "--json",
                             *map(str, paths)], capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    ours = {line["path"]: line for line in map(json.loads, result.stdout.splitlines())}
    assert len(ours) == len(paths)  # every file got a verdict

    agreed = [(p, a) for p, a, q in zip(paths, poppler, qpdf, strict=True)
              if a is not None and a == q]
    matches = sum(1 for p, n in agreed if ours[str(p)]["pages"] == n)
    bare = sum(1 for p, n in agreed if bare_pypdf_pages(p) == n)
    share = matches / len(agreed)
    print(f"page counts: {matches}/{len(agreed)} = {share:.2%} agree where pdfinfo and qpdf "
          f"agree ({len(paths)} files); bare pypdf {bare / len(agreed):.2%}")
    for p, n in agreed:
        if ours[str(p)]["pages"] != n:
            print("differs:", p.name, n, ours[str(p)]["pages"], ours[str(p)]["warnings"])
    assert len(agreed) >= 0.8 * len(paths)  # the references read most of the corpus
    assert share >= 0.99
