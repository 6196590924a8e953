"""Real documents and hostile files for the documents tests, built on the spot."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from docx import Document
from docx.shared import Mm
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))

SEVEN = ["一、领导", "二、战略", "三、顾客与市场", "四、资源", "五、过程管理",
         "六、测量、分析与改进", "七、结果"]


def text_pdf(pages: list[list[str]], size: tuple[float, float] = A4) -> bytes:
    """A PDF with a Chinese text layer: one list of lines per page."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=size)
    for lines in pages:
        pdf.setFont("STSong-Light", 12)
        for i, line in enumerate(lines):
            pdf.drawString(60, size[1] - 70 - i * 20, line)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def report_pdf(sections: list[str] = SEVEN, body_lines: int = 10) -> bytes:
    """A self-evaluation report: one page per section heading, with some body text."""
    return text_pdf([[heading] + [f"本组织在{heading[2:]}方面开展了系统工作。"] * body_lines
                     for heading in sections])


def scan_pdf(pages: int = 1) -> bytes:
    """Scanned pages only: a raster image per page, no text (like a sealed, signed form)."""
    img = Image.effect_noise((120, 170), 40).convert("L")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=50)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for _ in range(pages):
        pdf.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 0, 0, width=A4[0],
                      height=A4[1])
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def png_scan() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((200, 283), 30).convert("L").save(buf, "PNG", dpi=(24, 24))
    return buf.getvalue()


def docx_file(paragraphs: list[tuple[str, str | None]]) -> bytes:
    """A Word file: (text, style) per paragraph, style e.g. 'Heading 1' or None."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)  # A4, as Chinese templates
    for text, style in paragraphs:
        doc.add_paragraph(text, style=style) if style else doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def encrypted_pdf(user_password: str, algorithm: str = "AES-256", pages: int = 2) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["加密文件"]] * pages))))
    writer.encrypt(user_password=user_password, owner_password="owner-pw",
                   algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def active_pdf() -> bytes:
    """JavaScript run on open, and a file attached inside."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["正文"]]))))
    writer.add_open_action(JavaScript("app.alert('hello');"))
    writer.add_attachment("payload.exe", b"MZ\x90\x00not really")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def outlined_pdf() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf([["第一页"], ["第二页"]]))))
    parent = writer.add_outline_item(title="Leadership", page_number=0)
    writer.add_outline_item(title="Strategy", page_number=1, parent=parent)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf() -> bytes:
    data = text_pdf([[f"第{i}页"] for i in range(20)])
    return data[: len(data) * 2 // 3]


def _hand_made(objects: list[bytes]) -> bytes:
    """A PDF written by hand, object by object, with a correct xref table."""
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    return body + b"trailer\n<< /Root 1 0 R /Size %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)


def billion_pages_pdf() -> bytes:
    """One real page under a page tree that claims a billion."""
    return _hand_made([b"<< /Type /Catalog /Pages 2 0 R >>",
                       b"<< /Type /Pages /Kids [3 0 R] /Count 1000000000 >>",
                       b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"])


def looping_page_tree_pdf() -> bytes:
    """/Pages lists itself among its kids: a naive walker never ends."""
    return _hand_made([b"<< /Type /Catalog /Pages 2 0 R >>",
                       b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
                       b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"])


def deeply_nested_pdf(depth: int = 200_000) -> bytes:
    """A page whose resources hold arrays nested 200,000 deep (stack exhaustion)."""
    return _hand_made([b"<< /Type /Catalog /Pages 2 0 R >>",
                       b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                       b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                       b"/Resources << /Deep 4 0 R >> >>",
                       b"[" * depth + b"]" * depth])


def executable_named_pdf() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + \
        b"This program cannot be run in DOS mode.\r\r\n$"


def _docx_with(parts: dict[str, bytes]) -> bytes:
    base = docx_file([("正文", None)])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(
            out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in parts:
                dst.writestr(info, src.read(info))
        for name, data in parts.items():
            dst.writestr(name, data)
    return out.getvalue()


_BODY = (b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
         b"<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>")


def xxe_docx() -> bytes:
    prolog = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
              b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    return _docx_with({"word/document.xml": prolog + _BODY})


def billion_laughs_docx() -> bytes:
    entities = b'<!ENTITY l0 "lol">' + b"".join(
        b'<!ENTITY l%d "' % i + b"&l%d;" % (i - 1) * 10 + b'">' for i in range(1, 10))
    prolog = b'<?xml version="1.0"?>\n<!DOCTYPE d [' + entities + b'<!ENTITY x "&l9;">]>'
    return _docx_with({"word/document.xml": prolog + _BODY})


def zip_bomb_docx(path: Path, megabytes: int = 600) -> None:
    """A DOCX whose one media entry inflates to `megabytes` of zeros (a few hundred KB packed)."""
    base = docx_file([("正文", None)])
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(
            path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        with dst.open("word/media/bomb.bin", "w", force_zip64=True) as fh:
            chunk = b"\x00" * (1024 * 1024)
            for _ in range(megabytes):
                fh.write(chunk)


def many_entries_docx(entries: int = 6000) -> bytes:
    return _docx_with({f"word/media/e{i}.bin": b"" for i in range(entries)})


def macro_docx() -> bytes:
    base = docx_file([("正文", None)])
    with zipfile.ZipFile(io.BytesIO(base)) as src:
        types = src.read("[Content_Types].xml").replace(
            b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml")
    return _docx_with({"[Content_Types].xml": types, "word/vbaProject.bin": b"\xd0\xcf\x11"})


def legacy_doc() -> bytes:
    """The start of an OLE compound file holding a 'WordDocument' stream (a .doc)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    entry = "Root Entry".encode("utf-16-le").ljust(128, b"\x00") + \
        "WordDocument".encode("utf-16-le").ljust(128, b"\x00")
    return header + entry + b"\x00" * 1024


def encrypted_office() -> bytes:
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    entry = "EncryptionInfo".encode("utf-16-le").ljust(128, b"\x00") + \
        "EncryptedPackage".encode("utf-16-le").ljust(128, b"\x00")
    return header + entry + b"\x00" * 1024


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "hello")
    return out.getvalue()
