"""Watermarks on awkward PDFs, and a file that cannot be stamped never breaks the archive."""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import DictionaryObject
from samples import text_pdf

from services.review.ziparchive import stream_zip
from shared import watermark
from shared.watermark import WatermarkFailed, stamp_text, watermark_pdf

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


CJK_FONT = next((p for p in watermark.FONT_CANDIDATES if os.path.isfile(p)), None)
needs_cjk_font = pytest.mark.skipif(CJK_FONT is None, reason="no Debian CJK font installed "
                                    "(tools/system-deps.sh installs fonts-wqy-microhei)")


def _embedded_fonts(font: DictionaryObject) -> list[str]:
    """Names of the fonts in `font` (a Type0 font through its descendants) that carry their
    glyphs in the file."""
    fonts = [font] + [d.get_object() for d in font.get("/DescendantFonts", [])]
    return [str(f["/BaseFont"]) for f in fonts
            if "/FontDescriptor" in f and ({"/FontFile2", "/FontFile3"}
                                           & set(f["/FontDescriptor"].get_object().keys()))]


@needs_cjk_font
def test_the_stamp_embeds_a_cjk_font_subset_and_names_the_expert_on_every_page() -> None:
    out = io.BytesIO()
    watermark_pdf(io.BytesIO(text_pdf(["one", "two", "three"])), out, STAMP, CJK_FONT)
    reader = PdfReader(io.BytesIO(out.getvalue()))
    assert len(reader.pages) == 3
    for page in reader.pages:
        assert "王专家" in page.extract_text() and "expert-42" in page.extract_text()
        fonts = page["/Resources"]["/Font"]
        embedded = [name for f in fonts.values() for name in _embedded_fonts(f.get_object())]
        # A subset (tagged ABCDEF+Name), not the whole 5 MB font and not a viewer's guess.
        assert embedded and all("+" in name for name in embedded)
    assert len(out.getvalue()) < 200_000


@needs_cjk_font
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_the_chinese_part_of_the_stamp_renders_as_glyphs(tmp_path: Path) -> None:
    source = tmp_path / "source.pdf"
    source.write_bytes(text_pdf([""]))
    stamped = tmp_path / "stamped.pdf"
    with source.open("rb") as raw, stamped.open("wb") as target:
        watermark_pdf(raw, target, STAMP, CJK_FONT)

    def foot(pdf: Path) -> list[tuple[int, int, int]]:
        # 72 dpi: one pixel per point. The foot line starts at (24, 14) in text_pdf's A4 page,
        # with "仅供评审" (four em of ~15 pt) first; look at that box only.
        subprocess.run(["pdftoppm", "-r", "72", "-png", "-singlefile", str(pdf),
                        str(pdf.with_suffix(""))], check=True, timeout=60)
        image = Image.open(pdf.with_suffix(".png")).convert("RGB")
        top = image.height - 14 - 16
        box = image.crop((24, top, 24 + 58, top + 20))
        box.save(pdf.with_suffix(".foot.png"))  # kept in tmp_path for a look when it fails
        data = box.tobytes()
        return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]

    assert all(px == (255, 255, 255) for px in foot(source))
    inked = [px for px in foot(stamped) if min(px) < 235]
    assert len(inked) > 100  # strokes of four Chinese characters, not an empty box


def test_without_a_usable_cjk_font_the_stamp_falls_back_to_the_cid_font_and_warns_once(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # A real font without Chinese glyphs is refused, and no Debian CJK font is searched.
    latin = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    configured = latin if os.path.isfile(latin) else "/nonexistent/font.ttc"
    monkeypatch.setattr(watermark, "FONT_CANDIDATES", ())
    watermark.watermark_font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=watermark.__name__):
            for _ in range(2):
                out = io.BytesIO()
                watermark_pdf(io.BytesIO(text_pdf(["one", "two"])), out, STAMP, configured)
                pages = PdfReader(io.BytesIO(out.getvalue())).pages
                assert all("王专家" in p.extract_text() for p in pages)
        assert watermark.watermark_font(configured) == watermark.CID_FONT
        fallbacks = [r for r in caplog.records if "non-embedded CID font" in r.getMessage()]
        assert len(fallbacks) == 1
    finally:
        watermark.watermark_font.cache_clear()
