"""Watermarks for trade-secret PDFs: every page stamped with the expert's name and the time.

The overlay is drawn once with reportlab (the built-in CID font STSong-Light renders Chinese
without font files) and merged onto every page with pypdf. The text stays extractable, so a
leaked copy names its reader.
"""

from __future__ import annotations

import io
from typing import BinaryIO

import pikepdf
from pypdf import PdfReader, PdfWriter, Transformation
from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(_FONT))


def stamp_text(expert_name: str, expert_subject: str, at: str) -> str:
    return f"仅供评审 CONFIDENTIAL {expert_name} {expert_subject} {at}"


def _overlay(width: float, height: float, text: str) -> PdfReader:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(width, height))
    pdf.setFillColor(Color(0.75, 0.1, 0.1, alpha=0.35))
    size = max(8.0, min(width, height) / 40)
    pdf.setFont(_FONT, size)
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


def watermark_pdf(source: BinaryIO, target: BinaryIO, text: str) -> int:
    """Stamp every page of the PDF in `source` into `target`; returns the page count.

    A file pypdf cannot read (damaged, or encrypted with an empty user password) is rewritten
    by qpdf (pikepdf) first, which repairs and decrypts what can be repaired.
    """
    try:
        return _stamp(PdfReader(source), target, text)
    except Exception as first:  # pypdf raises many types on damaged files
        source.seek(0)
        target.seek(0)
        target.truncate()
        try:
            with pikepdf.open(source) as pdf:
                repaired = io.BytesIO()
                pdf.save(repaired)
            repaired.seek(0)
            return _stamp(PdfReader(repaired), target, text)
        except Exception as exc:
            raise WatermarkFailed(str(exc) or str(first)) from exc


def _stamp(reader: PdfReader, target: BinaryIO, text: str) -> int:
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
            overlays[key] = _overlay(width, height, text)
        added.merge_transformed_page(overlays[key].pages[0], Transformation().translate(
            float(box.left), float(box.bottom)))
    writer.write(target)
    return len(reader.pages)
