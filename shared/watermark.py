"""Watermarks for trade-secret PDFs: every page stamped with the reader's name and the time.

Used by review (experts' downloads and page pictures) and documents (everyone else who opens a
packet's files in the browser).

The overlay is drawn once per page size with reportlab and merged onto every page with pypdf.
Its font is a real CJK TrueType font embedded as a subset (only the glyphs the stamp uses), so
every viewer shows the expert's Chinese name; the built-in CID font STSong-Light is only a
last resort, because it is not embedded and viewers without Asian font packs show nothing or
garbage. The text stays extractable (ToUnicode map), so a leaked copy names its reader.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

import pikepdf
from pypdf import PdfReader, PdfWriter, Transformation
from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

log = logging.getLogger(__name__)
BEIJING = ZoneInfo("Asia/Shanghai")

# Where Debian's TrueType CJK font packages put their files, smallest package first. Noto CJK
# is left out on purpose: it ships CFF outlines, which reportlab's TTFont cannot embed.
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei, see system-deps.sh
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
)
CID_FONT = "STSong-Light"
_PROBE = "评审"  # a font without these glyphs would stamp empty boxes instead of the name


def _load(path: str) -> str:
    """Register the TTF/TTC at `path` (first face of a collection); returns its font name."""
    name = "DossierWatermark-" + hashlib.sha256(path.encode()).hexdigest()[:12]
    font = TTFont(name, path, subfontIndex=0)
    missing = [c for c in _PROBE if ord(c) not in font.face.charToGlyph]
    if missing:
        raise ValueError(f"no glyphs for {''.join(missing)!r}: not a CJK font")
    pdfmetrics.registerFont(font)
    return name


@functools.cache
def watermark_font(configured: str | None = None) -> str:
    """The font the overlay is drawn in: `configured` (DOSSIER_REVIEW_WATERMARK_FONT), else the
    first Debian CJK font found, else the non-embedded CID font.

    Cached per setting, so the files are parsed and a problem is logged once per process, and a
    download never fails for want of a font.
    """
    candidates = ([configured] if configured else []) + list(FONT_CANDIDATES)
    for path in candidates:
        if path != configured and not os.path.isfile(path):
            continue
        try:
            return _load(path)
        except Exception as exc:  # reportlab raises several types on unreadable fonts
            log.warning("watermark font %s unusable (%s); trying the next one", path, exc)
    log.warning("no embeddable CJK font found (set DOSSIER_REVIEW_WATERMARK_FONT or install "
                "fonts-wqy-microhei); watermarks use the non-embedded CID font %s, which some "
                "viewers cannot show", CID_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def stamp_text(expert_name: str, expert_subject: str, at: str) -> str:
    return f"仅供评审 CONFIDENTIAL {expert_name} {expert_subject} {at}"


def beijing_minute(at: datetime) -> str:
    """When a stamp was made, in Beijing time as every page shows times."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") + " 北京时间"


def reading_stamp(reader_name: str, reader_subject: str, at: datetime) -> str:
    """The stamp on a page someone other than its owner reads outside review: who and when
    (the account name as well as the person's, since names repeat)."""
    return f"仅供审阅 CONFIDENTIAL {reader_name} {reader_subject} {beijing_minute(at)}"


def _overlay(width: float, height: float, text: str, font: str) -> PdfReader:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(width, height))
    pdf.setFillColor(Color(0.75, 0.1, 0.1, alpha=0.35))
    size = max(8.0, min(width, height) / 40)
    pdf.setFont(font, size)
    # A readable line at the foot of the page and three diagonal repeats across it, so a crop
    # or a partial screenshot still carries the name.
    pdf.drawString(24, 14, text)
    pdf.saveState()
    pdf.translate(width / 2, height / 2)
    pdf.rotate(35)
    for offset in (-height / 4, 0.0, height / 4):
        pdf.drawCentredString(0, offset, text)
    pdf.restoreState()
    pdf.showPage()
    pdf.save()
    out.seek(0)
    return PdfReader(out)


class WatermarkFailed(Exception):
    """The file could not be read as a PDF, even after repair."""


def watermark_pdf(source: BinaryIO, target: BinaryIO, text: str,
                  font_path: str | None = None) -> int:
    """Stamp every page of the PDF in `source` into `target`; returns the page count.

    `font_path` is the configured CJK font (TTF or TTC); see `watermark_font` for the fallbacks.

    A file pypdf cannot read (damaged, or encrypted with an empty user password) is rewritten
    by qpdf (pikepdf) first, which repairs and decrypts what can be repaired.
    """
    font = watermark_font(font_path)
    try:
        return _stamp(PdfReader(source), target, text, font)
    except Exception as first:  # pypdf raises many types on damaged files
        source.seek(0)
        target.seek(0)
        target.truncate()
        try:
            with pikepdf.open(source) as pdf:
                repaired = io.BytesIO()
                pdf.save(repaired)
            repaired.seek(0)
            return _stamp(PdfReader(repaired), target, text, font)
        except Exception as exc:
            raise WatermarkFailed(str(exc) or str(first)) from exc


def _stamp(reader: PdfReader, target: BinaryIO, text: str, font: str) -> int:
    if reader.is_encrypted and not reader.decrypt(""):
        raise WatermarkFailed("encrypted with a password")
    writer = PdfWriter()
    overlays: dict[tuple[int, int], PdfReader] = {}
    for page in reader.pages:
        added = writer.add_page(page)
        if added.rotation:
            # Stamp what the reader sees: turn the rotation into the content first, so the
            # text runs upright on scanned pages stored sideways.
            added.transfer_rotation_to_content()
        box = added.cropbox  # the visible area, which may be smaller than the media box
        width, height = float(box.width), float(box.height)
        key = (round(width), round(height))
        if key not in overlays:
            overlays[key] = _overlay(width, height, text, font)
        added.merge_transformed_page(overlays[key].pages[0], Transformation().translate(
            float(box.left), float(box.bottom)))
    writer.write(target)
    return len(reader.pages)
