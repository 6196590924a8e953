"""Page pictures and watermarks are made in a limited render process, from the inspection
record's page count; a PDF too large to show is refused once, with a clear message."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from samples import huge_pdf, text_pdf

from services.review import dossiers
from shared import pagerender as pdfpages
from shared.pagerender import TooLargeToShow, ViewLimits

LIMITS = ViewLimits(max_pages=2000, seconds=30)


class Store:
    """The object store's read side over bytes in memory, counting reads."""

    def __init__(self, data: bytes) -> None:
        self.data, self.reads = data, 0

    def open(self, key: str, version: str | None = None) -> Iterator[bytes]:
        self.reads += 1
        yield self.data


class Cache(dict[str, str]):
    def set(self, key: str, value: str, ex: int | None = None) -> None:
        self[key] = value


def _document(data: bytes, pages: int | None) -> dict[str, Any]:
    return {"document_id": "d1", "object_key": "c/a/d1/v1", "object_version": "1",
            "filename": "大文件.pdf", "content_type": "application/pdf", "size": len(data),
            "pages": pages}


def _resident_kib() -> int:
    status = Path("/proc/self/status").read_text()
    return next(int(r.split()[1]) for r in status.splitlines() if r.startswith("VmRSS:"))


def test_a_page_of_a_100000_page_pdf_is_refused_from_the_record_without_reading_the_file(
) -> None:
    data = huge_pdf()
    store, document = Store(data), _document(data, 100_000)
    started = time.monotonic()
    with pytest.raises(TooLargeToShow) as refused:
        pdfpages.render_page(store, document, 1, "stamp", limits=LIMITS, cache=Cache())
    assert time.monotonic() - started < 1
    assert store.reads == 0  # the inspection's count decided: nothing fetched or parsed
    assert refused.value.status == 422 and refused.value.code == "dossier.too_large_to_show"
    assert "共 100,000 页" in refused.value.zh and "100,000 pages" in refused.value.en
    assert pdfpages.pages_of(store, document, LIMITS) == 100_000 and store.reads == 0


def test_without_a_recorded_count_the_render_process_refuses_it_once_and_memory_stays_here(
) -> None:
    data = huge_pdf()
    store, document, cache = Store(data), _document(data, None), Cache()
    before = _resident_kib()
    started = time.monotonic()
    with pytest.raises(TooLargeToShow) as refused:
        pdfpages.render_page(store, document, 1, None, limits=LIMITS, cache=cache)
    # The child counted the pages (qpdf, lazily) and refused before parsing any page: this
    # process only moved bytes. (pypdf in this process took about 20 s and hundreds of MB.)
    assert time.monotonic() - started < 10
    assert _resident_kib() - before < 30 * 1024
    assert "100,000" in refused.value.en
    # The verdict is remembered: the next view answers at once, without fetching the file.
    reads = store.reads
    with pytest.raises(TooLargeToShow):
        pdfpages.render_page(store, document, 2, None, limits=LIMITS, cache=cache)
    assert store.reads == reads
    # A watermarked download of it is refused the same way, before anything is stamped.
    with pytest.raises(TooLargeToShow):
        list(dossiers.open_document(store, document, "stamp", limits=LIMITS, cache=cache))


def _red(png: bytes) -> int:
    data = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    return sum(1 for r, g, b in zip(data[0::3], data[1::3], data[2::3], strict=True)
               if r > 150 and r - g > 40 and r - b > 40)


def test_an_ordinary_page_is_drawn_and_watermarked_in_the_render_process() -> None:
    data = text_pdf(["page one", "page two"])
    store = Store(data)
    document: Mapping[str, Any] = _document(data, 2)
    plain = pdfpages.render_page(store, document, 2, None, limits=LIMITS)
    stamped = pdfpages.render_page(store, document, 2, "仅供评审 专家 2026-12-06",
                                   limits=LIMITS)
    assert plain.startswith(b"\x89PNG") and _red(plain) == 0 and _red(stamped) > 500
    with pytest.raises(pdfpages.NotFound):
        pdfpages.render_page(store, document, 3, None, limits=LIMITS)
    whole = b"".join(dossiers.open_document(store, document, "仅供评审 专家", limits=LIMITS))
    assert whole.startswith(b"%PDF") and whole != data
