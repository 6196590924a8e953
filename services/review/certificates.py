"""Award certificates as DOCX, carrying the award year and a verifiable serial."""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Mapping
from dataclasses import dataclass

import segno
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt


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
