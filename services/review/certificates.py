"""Award certificates (DOCX and PDF) carrying the award year and a verifiable serial, and the
decision letter that names the award, the cycle and the tier in words."""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import segno
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas


def serial_for(secret: str, award_id: str, year: int, tier: str, number: int) -> str:
    """`2025-A003-1f2e3d4c`: year, tier letter and number, and a keyed check that only the
    service can produce, so a forged serial fails verification even before the lookup."""
    letter = "A" if tier == "award" else "N"
    check = hmac.new(secret.encode(), f"{award_id}:{year}:{tier}:{number}".encode(),
                     hashlib.sha256).hexdigest()[:8]
    return f"{year}-{letter}{number:03d}-{check}"


@dataclass(frozen=True)
class CertificateFacts:
    holder: str
    tier_title: Mapping[str, str]
    year: int
    serial: str
    decided_on: str
    verify_hint: str
    # The public verification page for this serial; drawn as a QR code with the address
    # printed under it, so a reader without a scanner can type it (Art. 29).
    verify_url: str | None = None


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG (error correction M: survives a crease or a stamp)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def certificate_docx(facts: CertificateFacts) -> bytes:
    doc = Document()
    for text, size, bold in (
        ("荣誉证书", 28, True),
        (facts.holder, 20, True),
        (f"荣获{facts.year}年度{facts.tier_title.get('zh', '')}", 16, False),
        (f"{facts.tier_title.get('en', '')} {facts.year}", 12, False),
        (f"证书编号 Serial: {facts.serial}", 11, False),
        (f"决定日期 Decided on: {facts.decided_on}", 11, False),
        (facts.verify_hint, 9, False),
    ):
        paragraph = doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = paragraph.add_run(text)
        run.font.size = Pt(size)
        run.bold = bold
    if facts.verify_url:
        picture = doc.add_paragraph()
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture.add_run().add_picture(io.BytesIO(qr_png(facts.verify_url)), width=Cm(3.5))
        link = doc.add_paragraph()
        link.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = link.add_run(facts.verify_url)
        run.font.size = Pt(9)
    doc.core_properties.title = f"{facts.tier_title.get('zh', '')} {facts.year} {facts.serial}"
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _centred(pdf: Any, font: str, size: float, y: float, text: str) -> None:
    pdf.setFont(font, size)
    pdf.drawCentredString(A4[0] / 2, y, text)


def certificate_pdf(facts: CertificateFacts, font: str) -> bytes:
    """The certificate as a one-page A4 PDF: holder, award, year, serial, and the QR code of
    the public verification page with its address printed under it (Art. 29)."""
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(f"{facts.tier_title.get('zh', '')} {facts.year} {facts.serial}")
    pdf.setLineWidth(3)
    pdf.setStrokeColorRGB(0.7, 0.1, 0.1)
    pdf.rect(36, 36, A4[0] - 72, A4[1] - 72)
    top = A4[1] - 170
    _centred(pdf, font, 40, top, "荣誉证书")
    _centred(pdf, font, 24, top - 90, facts.holder)
    _centred(pdf, font, 18, top - 140, f"荣获{facts.year}年度{facts.tier_title.get('zh', '')}")
    _centred(pdf, font, 12, top - 170, f"{facts.tier_title.get('en', '')} {facts.year}")
    _centred(pdf, font, 12, top - 220, f"证书编号 Serial: {facts.serial}")
    _centred(pdf, font, 12, top - 242, f"决定日期 Decided on: {facts.decided_on}")
    if facts.verify_url:
        size = 4 * cm
        image = ImageReader(io.BytesIO(qr_png(facts.verify_url)))
        pdf.drawImage(image, (A4[0] - size) / 2, 150, width=size, height=size)
        _centred(pdf, font, 9, 132, facts.verify_hint)
        _centred(pdf, font, 8, 118, facts.verify_url)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


@dataclass(frozen=True)
class DecisionFacts:
    """What the decision letter (表彰决定通知书) says: to whom, which award of which cycle, in
    which tier, on what date, by which document."""

    holder: str
    case_number: str | None
    cycle_title: str
    tier_title: Mapping[str, str]
    tier_words: str
    amount: int
    serial: str
    decided_on: str
    reference: str | None


def decision_letter_pdf(facts: DecisionFacts, font: str) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(f"表彰决定通知书 {facts.holder}")
    _centred(pdf, font, 22, A4[1] - 110, "表彰决定通知书")
    if facts.reference:
        _centred(pdf, font, 11, A4[1] - 135, facts.reference)
    y = A4[1] - 185
    prize = f"，奖金人民币 {facts.amount:,} 元" if facts.amount else ""
    lines = [
        f"{facts.holder}：",
        f"　　经评审、公示，{facts.cycle_title}评选工作已经完成。",
        f"　　决定授予{facts.holder}“{facts.tier_title.get('zh', '')}”（{facts.tier_words}）"
        f"{prize}。",
        f"　　证书编号：{facts.serial}。证书真伪可在评审系统的证书核验页面查询。",
    ]
    if facts.case_number:
        lines.append(f"　　办件编号：{facts.case_number}。")
    lines += ["", f"决定日期：{facts.decided_on}"]
    pdf.setFont(font, 13)
    for line in lines:
        for chunk in _wrap(line, 34):
            pdf.drawString(72, y, chunk)
            y -= 24
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    """Chinese text broken every `width` characters (no spaces to break at)."""
    return [text[i:i + width] for i in range(0, len(text), width)] or [""]
