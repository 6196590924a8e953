"""Real files for tests, generated on the spot."""

from __future__ import annotations

import hashlib
import io

from pypdf import PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def blank_pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text_pdf(lines_per_page: list[str]) -> bytes:
    """A PDF with a text layer, one page per entry."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for text in lines_per_page:
        pdf.drawString(72, 760, text)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
