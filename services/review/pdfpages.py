"""PDF pages as pictures, for reading a dossier in the browser without downloading it.

A page is cut out of the submitted version, stamped with the same watermark a download of a
trade-secret file carries (`watermark.watermark_pdf`), and drawn by poppler's `pdftoppm` into a
PNG. Only that one page is stamped and drawn, so a 200 MB file costs one fetch per view, not a
whole-file watermark. Page counts are cached by object version (versions never change).
"""

from __future__ import annotations

import io
import logging
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pikepdf
from pypdf import PdfReader, PdfWriter

from services.review import dossiers
from services.review.watermark import watermark_pdf
from shared.errors import DossierError, NotFound
from shared.storage import ObjectStore

log = logging.getLogger(__name__)
RENDER_WIDTH = 1240  # pixels: sharp on a desktop, scaled down by the page for 360 px
RENDER_SECONDS = 60
CACHE_SECONDS = 30 * 24 * 3600


class Cache(Protocol):
    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: str, ex: int | None = None) -> Any: ...


class PageUnavailable(DossierError):
    code = "dossier.page_unavailable"
    status = 422
    zh = "该页无法显示，请下载文件查看。"
    en = "This page cannot be shown; download the file to read it."


def _cache_key(document: Mapping[str, Any]) -> str:
    return f"review:pdfpages:{document['object_key']}:{document.get('object_version') or ''}"


def _spool(store: ObjectStore, document: Mapping[str, Any], folder: Path) -> Path:
    path = folder / "source.pdf"
    with path.open("wb") as out:
        for chunk in store.open(document["object_key"], document.get("object_version")):
            out.write(chunk)
    return path


def _reader(path: Path, folder: Path) -> PdfReader:
    """pypdf's reader, or on a damaged or empty-password file the copy qpdf repaired."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise PageUnavailable()
        _ = len(reader.pages)
        return reader
    except PageUnavailable:
        raise
    except Exception:
        repaired = folder / "repaired.pdf"
        try:
            with pikepdf.open(path) as pdf:
                pdf.save(repaired)
            return PdfReader(repaired)
        except Exception as exc:
            raise PageUnavailable() from exc


def page_count(store: ObjectStore, document: Mapping[str, Any], cache: Cache | None = None
               ) -> int | None:
    """Pages of a PDF document (None for other formats or an unreadable file)."""
    if not dossiers.is_pdf(document):
        return None
    key = _cache_key(document)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return int(hit) or None
    count = 0
    with tempfile.TemporaryDirectory(prefix="dossier-pages-") as tmp:
        try:
            count = len(_reader(_spool(store, document, Path(tmp)), Path(tmp)).pages)
        except PageUnavailable:
            log.warning("document %s: pages could not be counted", document.get("document_id"))
    if cache is not None:
        cache.set(key, str(count), ex=CACHE_SECONDS)
    return count or None


def render_page(store: ObjectStore, document: Mapping[str, Any], number: int,
                stamp: str | None, font: str | None = None) -> bytes:
    """Page `number` (1-based) as PNG, watermarked with `stamp` when given."""
    if not dossiers.is_pdf(document):
        raise NotFound()
    with tempfile.TemporaryDirectory(prefix="dossier-page-") as tmp:
        folder = Path(tmp)
        reader = _reader(_spool(store, document, folder), folder)
        if not 1 <= number <= len(reader.pages):
            raise NotFound()
        single = PdfWriter()
        single.add_page(reader.pages[number - 1])
        one = io.BytesIO()
        single.write(one)
        one.seek(0)
        page_pdf = folder / "page.pdf"
        with page_pdf.open("wb") as out:
            if stamp is None:
                out.write(one.getvalue())
            else:
                watermark_pdf(one, out, stamp, font)
        try:
            done = subprocess.run(
                ["pdftoppm", "-png", "-singlefile", "-scale-to-x", str(RENDER_WIDTH),
                 "-scale-to-y", "-1", str(page_pdf), str(folder / "page")],
                capture_output=True, timeout=RENDER_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PageUnavailable() from exc
        picture = folder / "page.png"
        if done.returncode != 0 or not picture.is_file():
            log.warning("pdftoppm failed on %s page %d: %s", document.get("document_id"),
                        number, done.stderr.decode(errors="replace")[:300])
            raise PageUnavailable()
        return picture.read_bytes()
