"""Pieces of the whole-journey browser test (test_journey.py): one Chromium context per person,
signing in through the real pages, screenshots per step, and the files the applicant uploads."""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

MiB = 1024 * 1024
PASSWORD = "journey passphrase 42"


def chinese_pdf(pages: list[str]) -> bytes:
    """A text-layer PDF in Chinese, one heading and a few lines per page."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for text in pages:
        pdf.setFont("STSong-Light", 16)
        pdf.drawString(72, 760, text)
        pdf.setFont("STSong-Light", 11)
        for i in range(5):
            pdf.drawString(72, 720 - 18 * i, f"{text}：关键工艺参数与控制要点，第{i + 1}条。")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def large_pdf(path: Path, size: int) -> str:
    """A valid one-page PDF of `size` bytes (a filler stream), written in pieces; its sha256."""
    head = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n")
    tail = b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    filler = size - len(head) - len(tail) - 40
    start = head + b"4 0 obj<</Length %d>>stream\n" % filler
    sha = hashlib.sha256()
    block = os.urandom(MiB)
    with path.open("wb") as fh:
        for piece in (start,):
            fh.write(piece)
            sha.update(piece)
        left = filler
        while left > 0:
            piece = block[:min(MiB, left)]
            fh.write(piece)
            sha.update(piece)
            left -= len(piece)
        fh.write(tail)
        sha.update(tail)
    return sha.hexdigest()


def red_pixels(png: bytes) -> int:
    """Pixels in the watermark's red ink (a page itself is black on white)."""
    data = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    return sum(1 for r, g, b in zip(data[0::3], data[1::3], data[2::3], strict=True)
               if r > 150 and r - g > 40 and r - b > 40)


@dataclass
class Journey:
    """The people of the journey, each in a browser context of their own."""

    public_url: str  # the one origin people open (the proxy)
    chromium: Any
    artifacts: Path
    contexts: list[Any] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def person(self, lang: str = "zh-CN") -> Any:
        """A new browser (context) with nothing but the language cookie."""
        context = self.chromium.new_context(base_url=self.public_url, locale=lang,
                                            viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "lang", "value": lang, "url": self.public_url}])
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        # The pages ask "are you sure?" (data-confirm) before weighty posts: a person says yes.
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    def shot(self, page: Any, name: str) -> None:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)
        self.timings.append((name, round(time.monotonic() - self.started, 1)))

    def set_password(self, page: Any, link: str) -> None:
        """Open a set-password link in this person's browser and choose a password."""
        assert link.startswith(self.public_url + "/intake/set-password?token="), link
        page.goto(link.removeprefix(self.public_url))
        assert h1(page) == "设置登录密码"
        page.fill("#f-password", PASSWORD)
        page.fill("#f-password_again", PASSWORD)
        page.click("form.card button[type=submit]")
        page.wait_for_url("**/intake/")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def h1(page: Any) -> str:
    return str(page.locator("h1").first.inner_text()).strip()


def flash(page: Any) -> str:
    return str(page.locator(".notice.success").first.inner_text())


def no_untranslated(page: Any) -> None:
    assert "[[untranslated" not in page.content(), page.url


def reload_until(page: Any, found: Callable[[], bool], timeout: float = 60) -> None:
    """Reload a page until what a person waits for shows (events between services take a
    moment)."""
    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, f"not shown on {page.url} after {timeout}s"
        time.sleep(0.5)
        page.reload()
