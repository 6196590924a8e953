"""Inspection of one local file: the entry point the sandbox child runs per job.

Every input is hostile. Format comes from content; each reader bounds its own work; anything a
reader throws becomes a verdict with a code. Limits the parser cannot enforce itself (wall time,
memory, CPU) are enforced around this by `sandbox`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from services.documents import formats
from services.documents.docx_inspect import inspect_ole, inspect_zip
from services.documents.limits import ZipLimits
from services.documents.paper import paper_name
from services.documents.verdict import Verdict, failed


@dataclass(frozen=True)
class Options:
    # How much text to read: "full" (counts, headings, marks over every page: the service),
    # "sample" (the first pages: text layer and the first-page classification mark) or "none"
    # (structure only; the text layer is judged from the content operators).
    text: str = "full"
    text_seconds: float | None = None  # wall-time share of the text phase (PDF)
    max_pages: int = 0  # above it a file is refused (inspect.too_many_pages); 0: no limit
    zip: ZipLimits = field(default_factory=ZipLimits)
    seals: bool = False  # look for seals on every page of PDFs and scans (`seal_pages`)
    seal_seconds: float | None = None  # wall-time share of the seal search


def _image(path: Path, fmt: str) -> Verdict:
    from PIL import Image

    verdict = Verdict(format="image", pages=1, text_layer=False, scanned=True,
                      scanned_pages=1, reader="pillow")
    try:
        with Image.open(path) as img:  # reads the header only
            width, height = img.size
            frames = getattr(img, "n_frames", 1) if fmt == "tiff" else 1
            dpi = img.info.get("dpi")
    except Exception as exc:  # Pillow raises many types, including its decompression-bomb error
        return verdict.fail("inspect.corrupt", f"{type(exc).__name__}: {exc}")
    verdict.pages = int(frames)
    verdict.scanned_pages = verdict.pages
    if dpi and dpi[0]:
        w, h = width / float(dpi[0]) * 25.4, height / float(dpi[1] or dpi[0]) * 25.4
        verdict.page_size = {"width_mm": round(w, 1), "height_mm": round(h, 1),
                             "name": paper_name(w, h)}
    return verdict


# WPS Office's own formats: named so by whoever saved them (the worker's copy has no name; intake
# refuses these names before upload). An office checking a folder learns how to export them.
WPS_SUFFIXES = (".wps", ".wpt", ".et", ".ett", ".dps", ".dpt")


def _inspect_zip(path: Path, options: Options) -> Verdict:
    from services.documents.ofd_inspect import inspect_ofd, is_ofd, zip_names

    if is_ofd(zip_names(path)):
        return inspect_ofd(path, options.zip, options.text)
    return inspect_zip(path, options.zip)


SEAL_FORMATS = ("pdf", "image")  # what is drawn as pages; DOCX has no stamped ink to find


def inspect_file(path: Path, options: Options | None = None) -> Verdict:
    options = options or Options()
    if path.suffix.lower() in WPS_SUFFIXES:
        return failed("inspect.wps_format", "wps")
    verdict = _read(path, options)
    if options.seals and verdict.ok and verdict.format in SEAL_FORMATS:
        from services.documents.seal_pages import MAX_SEAL_PAGES, seals_in_file

        verdict.seals = seals_in_file(path, "pdf" if verdict.format == "pdf" else "image",
                                      options.seal_seconds, MAX_SEAL_PAGES).as_dict()
    return verdict


def _read(path: Path, options: Options) -> Verdict:
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as exc:
        return failed("inspect.unreadable", detail=str(exc))
    if not head:
        return failed("inspect.empty")
    kind = formats.sniff(head)
    if kind == "pdf":
        from services.documents.pdf_inspect import inspect_pdf
        from services.documents.pdf_signatures import with_signatures

        return with_signatures(path, inspect_pdf(path, options.text, options.text_seconds,
                                                 options.max_pages))
    if kind == "zip":
        verdict = _inspect_zip(path, options)
        if verdict.ok and 0 < options.max_pages < (verdict.pages or 0):
            return verdict.fail("inspect.too_many_pages",
                                f"{verdict.pages} pages, limit {options.max_pages}")
        return verdict
    if kind == "ole":
        return inspect_ole(path)
    if kind in ("jpeg", "png", "tiff"):
        return _image(path, kind)
    if kind == "executable":
        return failed("inspect.executable", "executable")
    return failed("inspect.unknown_format")
