"""Real files for tests, generated on the spot."""

from __future__ import annotations

import functools
import hashlib
import io

import pikepdf
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


@functools.cache
def huge_pdf(pages: int = 100_000) -> bytes:
    """A valid PDF of `pages` text pages that is under 1 MB: every page shares one content
    stream and one font, and the page objects are packed in object streams. Readers that walk
    the page tree still pay for every page (pypdf took about 20 s for 100,000)."""
    pdf = pikepdf.new()
    content = pdf.make_stream(b"BT /F1 24 Tf 72 720 Td (one of many pages) Tj ET")
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
    resources = pdf.make_indirect(pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)))
    tree = pdf.Root.Pages
    tree.Kids = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, Parent=tree, MediaBox=[0, 0, 595, 842], Contents=content,
        Resources=resources)) for _ in range(pages)])
    tree.Count = pages
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
