"""PDF pages as pictures, for reading a file in the browser without downloading it.

Review (experts' dossiers) and documents (applicants, recommenders, operators) both show pages
through here. Nothing here parses a PDF: page counts come from documents' inspection record
(review has it from the manifest of `packet.accepted`), and cutting out a page, stamping it with
the watermark a download of a trade-secret file carries, drawing it (poppler's `pdftoppm`) and
watermarking whole files all run in `render_child`, a process under `shared.sandbox`'s limits. A
file above the viewing limits (pages or bytes from the record), or one whose rendering ran out
of time or memory, is refused with one clear message, and that verdict is remembered per object
version (versions never change), so no later view pays for it again.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shared.errors import DossierError, NotFound
from shared.sandbox import Child, ChildLimits, JobFailed
from shared.storage import ObjectStore

log = logging.getLogger(__name__)
CACHE_SECONDS = 30 * 24 * 3600
_CHILD = "shared.render_child"


class Cache(Protocol):
    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: str, ex: int | None = None) -> Any: ...


class PageUnavailable(DossierError):
    code = "dossier.page_unavailable"
    status = 422
    zh = "该页无法显示，请下载文件查看。"
    en = "This page cannot be shown; download the file to read it."


class TooLargeToShow(DossierError):
    code = "dossier.too_large_to_show"
    status = 422
    zh = ("该文件过大（{size_zh}），无法在浏览器中逐页显示，也无法加水印下载。"
          "请联系工作人员获取。")
    en = ("This file is too large ({size_en}) to be shown page by page or downloaded "
          "watermarked. Ask the operator for it.")


@dataclass(frozen=True)
class ViewLimits:
    """What is rendered or watermarked (settings `DOSSIER_REVIEW_VIEW_*`, `_RENDER_*`: one set
    of limits for every reader, whichever service draws the page)."""

    max_pages: int = 2000
    max_bytes: int = 200 * 1024 * 1024
    seconds: float = 30.0
    memory_bytes: int = 768 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Any) -> ViewLimits:
        return cls(int(settings.review_view_max_pages), int(settings.review_view_max_bytes),
                   float(settings.review_render_seconds), int(settings.review_render_memory))


def is_pdf(document: Mapping[str, Any]) -> bool:
    return (document.get("content_type") == "application/pdf"
            or str(document.get("filename", "")).lower().endswith(".pdf"))


def _too_large(pages: int | None) -> TooLargeToShow:
    if pages:
        return TooLargeToShow(size_zh=f"共 {pages:,} 页", size_en=f"{pages:,} pages")
    return TooLargeToShow(size_zh="超出查看上限", size_en="above the viewing limit")


# -- the render process of this web or worker process ------------------------------------------

_children: dict[int, tuple[Child, threading.Lock]] = {}


def _run(job: dict[str, Any], limits: ViewLimits) -> dict[str, Any]:
    """One job in this process's render child (started on first use, reused after)."""
    pid = os.getpid()  # a forked worker must not share its parent's pipes
    if pid not in _children:
        _children[pid] = (Child(_CHILD, ChildLimits(limits.seconds, limits.memory_bytes),
                                stderr=None), threading.Lock())
    child, lock = _children[pid]
    with lock:
        child.limits = ChildLimits(limits.seconds, limits.memory_bytes)
        return child.run({**job, "max_pages": limits.max_pages})


# -- verdicts, remembered ----------------------------------------------------------------------

def _verdict_key(document: Mapping[str, Any]) -> str:
    return f"pages:viewable:{document['object_key']}:{document.get('object_version') or ''}"


def _remember(cache: Cache | None, document: Mapping[str, Any], pages: int | None) -> None:
    if cache is not None:
        cache.set(_verdict_key(document), str(pages or 0), ex=CACHE_SECONDS)


def page_count(document: Mapping[str, Any]) -> int | None:
    """Pages of a PDF as documents' inspection counted them (None: other format, or unknown)."""
    if not is_pdf(document):
        return None
    pages = document.get("pages")
    return int(pages) if isinstance(pages, int) and pages > 0 else None


def pages_of(store: ObjectStore, document: Mapping[str, Any], limits: ViewLimits,
             cache: Cache | None = None) -> int | None:
    """The page count of the record; for a manifest sent before it carried one, counted once
    in the render process and remembered (None: not a PDF, or unreadable)."""
    if not is_pdf(document) or page_count(document) is not None:
        return page_count(document)
    key = f"pages:count:{document['object_key']}:{document.get('object_version') or ''}"
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return int(hit) or None
    count = 0
    with tempfile.TemporaryDirectory(prefix="dossier-pages-") as tmp:
        source = _spool(store, document, Path(tmp))
        try:
            count = int(_in_child({"op": "count", "source": str(source)}, document, limits,
                                  cache).get("pages") or 0)
        except (PageUnavailable, TooLargeToShow):
            log.warning("document %s: pages could not be counted", document.get("document_id"))
    if cache is not None:
        cache.set(key, str(count), ex=CACHE_SECONDS)
    return count or None


def refusal(document: Mapping[str, Any], limits: ViewLimits, cache: Cache | None = None
            ) -> TooLargeToShow | None:
    """Why this PDF will not be rendered or watermarked, from what is known without parsing
    it: the inspection record's page count and size, or a render that overran earlier."""
    pages = page_count(document)
    if pages is not None and 0 < limits.max_pages < pages:
        return _too_large(pages)
    if 0 < limits.max_bytes < int(document.get("size") or 0):
        return _too_large(pages)
    if cache is not None:
        remembered = cache.get(_verdict_key(document))
        if remembered is not None:
            return _too_large(int(remembered) or None)
    return None


def _spool(store: ObjectStore, document: Mapping[str, Any], folder: Path) -> Path:
    path = folder / "source.pdf"
    with path.open("wb") as out:
        for chunk in store.open(document["object_key"], document.get("object_version")):
            out.write(chunk)
    return path


def _in_child(job: dict[str, Any], document: Mapping[str, Any], limits: ViewLimits,
              cache: Cache | None) -> dict[str, Any]:
    """The child's answer; a file too big for its limits is remembered and refused."""
    try:
        answer = _run(job, limits)
    except JobFailed as exc:
        if exc.kind in ("timeout", "memory", "too_deep"):
            log.warning("document %s not viewable: render %s", document.get("document_id"),
                        exc.kind)
            _remember(cache, document, page_count(document))
            raise _too_large(page_count(document)) from exc
        raise PageUnavailable() from exc
    if answer.get("refused") == "too_many_pages":
        _remember(cache, document, answer.get("pages"))
        raise _too_large(answer.get("pages"))
    if answer.get("refused") == "no_such_page":
        raise NotFound()
    if answer.get("refused"):
        log.warning("document %s: %s %s", document.get("document_id"), answer["refused"],
                    answer.get("detail") or "")
        raise PageUnavailable()
    return answer


def render_page(store: ObjectStore, document: Mapping[str, Any], number: int,
                stamp: str | None, font: str | None = None,
                limits: ViewLimits | None = None, cache: Cache | None = None) -> bytes:
    """Page `number` (1-based) as PNG, watermarked with `stamp` when given."""
    limits = limits or ViewLimits()
    if not is_pdf(document):
        raise NotFound()
    refused = refusal(document, limits, cache)
    if refused is not None:
        raise refused
    pages = page_count(document)
    if number < 1 or (pages is not None and number > pages):
        raise NotFound()
    with tempfile.TemporaryDirectory(prefix="dossier-page-") as tmp:
        folder = Path(tmp)
        source = _spool(store, document, folder)
        target = folder / "out" / "page.png"
        target.parent.mkdir()
        _in_child({"op": "page", "source": str(source), "target": str(target),
                   "number": number, "stamp": stamp, "font": font}, document, limits, cache)
        return target.read_bytes()


def stamp_file(source: Path, target: Path, document: Mapping[str, Any], stamp: str,
               font: str | None = None, limits: ViewLimits | None = None,
               cache: Cache | None = None) -> int:
    """Watermark every page of the PDF at `source` into `target`; returns the page count."""
    limits = limits or ViewLimits()
    refused = refusal(document, limits, cache)
    if refused is not None:
        raise refused
    answer = _in_child({"op": "stamp", "source": str(source), "target": str(target),
                        "stamp": stamp, "font": font}, document, limits, cache)
    return int(answer["pages"])
