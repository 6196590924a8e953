"""Watermarks on awkward PDFs, and a file that cannot be stamped never breaks the archive."""

from __future__ import annotations

import io
import zipfile

import pikepdf
import pytest
from pypdf import PdfReader
from samples import text_pdf

from services.review.watermark import WatermarkFailed, stamp_text, watermark_pdf
from services.review.ziparchive import stream_zip

STAMP = stamp_text("王专家", "expert-42", "2026-11-25 02:00 UTC")


def _stamped_pages(data: bytes) -> list[str]:
    out = io.BytesIO()
    watermark_pdf(io.BytesIO(data), out, STAMP)
    return [p.extract_text() for p in PdfReader(io.BytesIO(out.getvalue())).pages]


def test_a_pdf_encrypted_with_an_owner_password_only_is_stamped_on_every_page() -> None:
    source = io.BytesIO()
    with pikepdf.open(io.BytesIO(text_pdf(["one", "two", "three"]))) as pdf:
        pdf.save(source, encryption=pikepdf.Encryption(owner="owner-secret", user="", R=6))
    pages = _stamped_pages(source.getvalue())
    assert len(pages) == 3
    assert all("expert-42" in p and "王专家" in p for p in pages)


def test_a_pdf_with_a_broken_cross_reference_table_is_repaired_and_stamped() -> None:
    data = text_pdf(["alpha", "beta"])
    broken = data.replace(b"startxref", b"startxref\n999999\n%", 1)
    pages = _stamped_pages(broken)
    assert len(pages) == 2 and all("expert-42" in p for p in pages)


def test_a_file_that_is_no_pdf_is_refused_and_replaced_by_a_note_in_the_archive() -> None:
    with pytest.raises(WatermarkFailed):
        watermark_pdf(io.BytesIO(b"not a pdf at all"), io.BytesIO(), STAMP)

    def stamped(data: bytes) -> list[bytes]:
        out = io.BytesIO()
        watermark_pdf(io.BytesIO(data), out, STAMP)
        return [out.getvalue()]

    def note(name: str, exc: Exception) -> tuple[str, bytes]:
        return f"{name}.unavailable.txt", type(exc).__name__.encode()

    archive = zipfile.ZipFile(io.BytesIO(b"".join(stream_zip([
        ("bad.pdf", lambda: stamped(b"garbage")),
        ("good.pdf", lambda: stamped(text_pdf(["fine"])))], on_error=note))))
    assert archive.namelist() == ["bad.pdf.unavailable.txt", "good.pdf"]
    assert archive.read("bad.pdf.unavailable.txt") == b"WatermarkFailed"
    assert "expert-42" in PdfReader(io.BytesIO(archive.read("good.pdf"))).pages[0].extract_text()


def test_rotated_and_cropped_pages_are_stamped_inside_the_visible_area() -> None:
    source = io.BytesIO()
    with pikepdf.open(io.BytesIO(text_pdf(["sideways scan", "cropped page"]))) as pdf:
        pdf.pages[0].Rotate = 90
        pdf.pages[1].CropBox = [100, 100, 400, 600]
        pdf.save(source)
    out = io.BytesIO()
    watermark_pdf(io.BytesIO(source.getvalue()), out, STAMP)
    reader = PdfReader(io.BytesIO(out.getvalue()))
    assert all("expert-42" in p.extract_text() for p in reader.pages)
    assert reader.pages[0].rotation == 0  # rotation moved into the content, stamp upright
    assert [float(x) for x in reader.pages[1].cropbox] == [100, 100, 400, 600]
