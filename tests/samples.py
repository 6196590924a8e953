"""Real files for tests, generated on the spot."""

from __future__ import annotations

import functools
import hashlib
import io

import pikepdf
from pypdf import PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
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


def headed_pdf(lines: list[str]) -> bytes:
    """A Chinese text-layer PDF, one heading per page followed by body text (what a
    self-evaluation's sections look like to the inspection)."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for line in lines:
        pdf.setFont("STSong-Light", 16)
        pdf.drawString(72, 760, line)
        pdf.setFont("STSong-Light", 11)
        for i in range(6):
            pdf.drawString(72, 720 - 18 * i, f"{line}：本组织持续改进的做法与成效，第{i + 1}条。")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def scan_pdf() -> bytes:
    """A page that is only an image, as a scanner makes (no text layer)."""
    from PIL import Image

    picture = io.BytesIO()
    Image.new("L", (400, 560), 235).save(picture, format="PNG")
    picture.seek(0)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.drawImage(ImageReader(picture), 0, 0, width=A4[0], height=A4[1])
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
