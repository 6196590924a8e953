"""Seals on every page of a PDF or scan: draw each page, find its seals, within a time share.

Runs only inside the sandboxed inspector (`sandbox_child`), under its memory and CPU limits.
PDF pages are drawn by PDFium with forms on, because an electronically sealed PDF usually
carries its seal in a signature field's appearance, which a plain render leaves out. Pictures
are decoded reduced (JPEG's own down-scaling) to about `DPI`. A page's size in millimetres
comes from the PDF, or from a scan's resolution when it is plausible; a photograph without one
is taken as A4 on its long side, so sizes on it are estimates (`size_basis`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from services.documents.seals import Image, find_seals

DPI = 100  # about 4 px/mm: a 40 mm ring is 160 px, name seals 40–100 px
MAX_PAGE_PIXELS = 6_000_000  # a huge page is drawn coarser, never bigger than this
MAX_PICTURE_PIXELS = 40_000_000  # a scan beyond this (A2 at 300 dpi) is not decoded
MAX_SEAL_PAGES = 500  # pages searched per file; a longer file's report says it is incomplete
A4_LONG_MM = 297.0


@dataclass
class SealFacts:
    """What the seal search found in one file: the pages it looked at and each page's seals.

    `pages` lists only pages with a seal (official or name); a checked page not listed has none.
    """

    checked: bool = False
    pages_checked: int = 0
    complete: bool = False  # every page of the file was looked at (within the time share)
    size_basis: str = "page"  # "page" (PDF), "dpi" (a scan's resolution) or "a4" (assumed)
    pages: list[dict[str, Any]] = field(default_factory=list)  # {page, page_mm, seals}
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "pages_checked": self.pages_checked,
                "complete": self.complete, "size_basis": self.size_basis,
                "pages": self.pages, "error": self.error}


@dataclass(frozen=True)
class DrawnPage:
    number: int  # 1-based
    bgr: Image
    px_per_mm: float
    page_mm: tuple[float, float]


def warm() -> None:
    """Load the libraries and keep them on one thread: the sandbox caps the address space
    after this, and every extra thread would reserve its own stack and heap arena under it."""
    import cv2
    import pypdfium2  # noqa: F401

    cv2.setNumThreads(1)


def pdf_pages(path: Path, max_pages: int = 0) -> Iterator[DrawnPage]:
    """Each page of the PDF at `path`, drawn with its forms and annotations."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        pdf.init_forms()
        count = len(pdf) if max_pages <= 0 else min(len(pdf), max_pages)
        for index in range(count):
            page = pdf[index]
            try:
                width_pt, height_pt = page.get_size()
                scale = min(DPI / 72.0,
                            math.sqrt(MAX_PAGE_PIXELS / max(1.0, width_pt * height_pt)))
                bitmap = page.render(scale=scale, may_draw_forms=True, draw_annots=True)
                bgr = np.array(bitmap.to_numpy()[..., :3])  # PDFium draws BGR(x)
                bitmap.close()
            finally:
                page.close()
            px_per_mm = scale * 72.0 / 25.4
            yield DrawnPage(index + 1, bgr, px_per_mm,
                            (bgr.shape[1] / px_per_mm, bgr.shape[0] / px_per_mm))
    finally:
        pdf.close()


def _image_scale(width: int, height: int, dpi: Any) -> tuple[float, str]:
    """Pixels per millimetre of a picture as stored, and how it was known."""
    try:
        x_dpi = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        x_dpi = 0.0
    if x_dpi > 0:
        long_mm = max(width, height) / x_dpi * 25.4
        if 120 <= long_mm <= 600:  # a sheet of paper, not a photo's nominal 72 dpi
            return x_dpi / 25.4, "dpi"
    return max(width, height) / A4_LONG_MM, "a4"


def image_pages(path: Path, max_pages: int = 0) -> Iterator[tuple[DrawnPage, str]]:
    """Each frame of a scan (TIFF may hold many), reduced to about `DPI`."""
    from PIL import Image as Pillow

    with Pillow.open(path) as picture:
        frames = getattr(picture, "n_frames", 1)
        if max_pages > 0:
            frames = min(frames, max_pages)
        for index in range(frames):
            picture.seek(index)
            width, height = picture.size
            px_per_mm, basis = _image_scale(width, height, picture.info.get("dpi"))
            if width * height > MAX_PICTURE_PIXELS:
                raise ValueError(f"picture of {width}×{height} pixels is too large to search")
            target = DPI / 25.4
            factor = int(px_per_mm / target)  # whole reductions that keep at least `DPI`
            if picture.format == "JPEG" and factor > 1:  # decode reduced: far cheaper
                picture.draft("RGB", (width // factor, height // factor))
            frame = picture.convert("RGB")
            remaining = int(frame.width / width * px_per_mm / target)
            if remaining > 1:
                frame = frame.reduce(remaining)
            scale = px_per_mm * frame.width / width
            bgr = np.ascontiguousarray(np.asarray(frame)[..., ::-1])
            yield DrawnPage(index + 1, bgr, scale,
                            (frame.width / scale, frame.height / scale)), basis


def _page_entry(page: DrawnPage) -> dict[str, Any] | None:
    seals = find_seals(page.bgr, page.px_per_mm)
    if not seals:
        return None
    return {"page": page.number,
            "page_mm": [round(page.page_mm[0], 1), round(page.page_mm[1], 1)],
            "seals": [seal.as_dict() for seal in seals]}


def seals_in_file(path: Path, fmt: str, seconds: float | None = None, max_pages: int = 0
                  ) -> SealFacts:
    """The seals on each page of the PDF or picture at `path` (`fmt` from `formats.sniff`).

    Stops after `seconds` (the share of the sandbox's time given to seals) and says so with
    `complete=False`: the pages it did not reach are not claimed to be unsealed.
    """
    facts = SealFacts(checked=True)
    deadline = time.monotonic() + seconds if seconds else None
    try:
        if fmt == "pdf":
            pages: Iterator[DrawnPage] = pdf_pages(path, max_pages)
        else:
            pages = _with_basis(image_pages(path, max_pages), facts)
        for page in pages:
            # The first page always: a one-page scan must never go unchecked for time.
            if facts.pages_checked and deadline is not None and time.monotonic() > deadline:
                return facts  # not complete: the pages left are not claimed unsealed
            entry = _page_entry(page)
            facts.pages_checked += 1
            if entry is not None:
                facts.pages.append(entry)
        facts.complete = True
    except Exception as exc:  # PDFium and Pillow raise many types on damaged files
        facts.error = f"{type(exc).__name__}: {exc}"[:200]
        facts.complete = False
    return facts


def _with_basis(frames: Iterator[tuple[DrawnPage, str]], facts: SealFacts
                ) -> Iterator[DrawnPage]:
    for page, basis in frames:
        facts.size_basis = basis
        yield page
