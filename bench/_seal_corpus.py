"""A labelled corpus of sealed and unsealed pages, built on the spot from a seed.

Shared by the seal tests (tests/documents/test_seal_corpus.py) and `make bench` (bench/seals.py);
described in docs/documents.md. Every page is A4 paper with Chinese body text and, by chance,
official seals (公章: round 36–46 mm or oval, with or without star, ring text and inner ring,
uneven red or red-orange ink) and the red things that are not official seals: a 红头 title with
its red rule (sometimes with a star), red tables, red handwritten signatures, square name seals
(朱文 and 白文, labelled `name`), red text and a red rectangular "received" stamp.

Pages come as scans (150–300 dpi, skew, blur, noise, JPEG, PNG, TIFF, or scans inside a PDF),
photographs (perspective, uneven light, colour cast, no resolution in the file) and born-digital
PDFs (vector seals, image seals, and seals in a signature field's appearance). Labels give each
seal's kind and centre in the coordinates of the final file.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
A4_MM = (210.0, 297.0)
UNITS = ["江海市精密机械有限公司", "江海市第一人民医院", "南湖区科学技术协会",
         "东方电子科技股份有限公司", "江海市高新技术产业开发区管理委员会",
         "北城新材料研究院有限公司", "江海市质量技术监督局", "青山环保工程有限公司",
         "西陵县农业农村局", "江海大学"]
BOTTOM = ["合同专用章", "财务专用章", "", "", "行政章", ""]
BODY = ("本单位承诺所提交的申报材料真实准确完整如有虚假愿承担相应责任申报项目近三年未发生重大"
        "安全质量环境事故经营状况良好依法纳税遵守国家法律法规和有关政策规定特此承诺企业名称"
        "法定代表人联系人电话地址项目名称主要技术创新点经济社会效益推荐意见")
NAMES = ["张伟", "王芳", "李强", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"]
INKS = [(205, 25, 35), (225, 45, 40), (235, 75, 45), (190, 20, 45), (215, 60, 70),
        (240, 95, 80)]


@dataclass
class SealLabel:
    kind: str  # "official" or "name"
    x: float  # centre, in the page's units (pixels of the final image, or millimetres)
    y: float


@dataclass
class LabelledPage:
    path: Path
    page: int  # 1-based, within the file
    source: str  # "scan", "photo", "vector", "image", "widget"
    units_per_mm: float  # of the final picture (1.0 for PDF pages, in millimetres)
    size: tuple[float, float]  # the page in its units
    seals: list[SealLabel] = field(default_factory=list)
    red: list[str] = field(default_factory=list)  # the red things drawn that are no seal

    @property
    def sealed(self) -> bool:
        return any(s.kind == "official" for s in self.seals)


def _font(px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, max(6, round(px)))


# -- seals as ink (alpha 0–255 on a transparent square) --------------------------------------

def _glyph(char: str, px: float, angle: float) -> Image.Image:
    font = _font(px)
    box = round(px * 1.5)
    tile = Image.new("L", (box, box), 0)
    ImageDraw.Draw(tile).text((box / 2, box / 2), char, fill=255, font=font, anchor="mm")
    return tile.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)


def _paste(ink: Image.Image, tile: Image.Image, cx: float, cy: float) -> None:
    ink.paste(255, (round(cx - tile.width / 2), round(cy - tile.height / 2)), tile)


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, turn: float = 0) -> None:
    points = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.382
        a = -math.pi / 2 + turn + i * math.pi / 5
        points.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    draw.polygon(points, fill=255)


def official_seal(ppm: float, rng: random.Random) -> tuple[Image.Image, tuple[float, float]]:
    """The ink of one official seal (alpha) and its size (major, minor) in millimetres."""
    oval = rng.random() < 0.25
    major = rng.uniform(40, 46) if oval else rng.uniform(36, 46)
    minor = major * rng.uniform(0.62, 0.75) if oval else major
    a, b = major / 2 * ppm, minor / 2 * ppm
    pad = round(2 * ppm)
    w, h = round(2 * a) + 2 * pad, round(2 * b) + 2 * pad
    ink = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(ink)
    cx, cy = w / 2, h / 2
    ring = rng.uniform(0.8, 1.6) * ppm
    draw.ellipse((cx - a, cy - b, cx + a, cy + b), outline=255, width=max(1, round(ring)))
    if rng.random() < 0.2:  # an inner thin ring
        gap = ring + 1.2 * ppm
        draw.ellipse((cx - a + gap, cy - b + gap, cx + a - gap, cy + b - gap), outline=255,
                     width=max(1, round(0.35 * ppm)))
    if rng.random() < 0.9:  # ring text over the top
        text = rng.choice(UNITS)
        size = min(a, b) * rng.uniform(0.26, 0.32)
        span = math.radians(rng.uniform(200, 260))
        inset = ring + size * 0.75 + 0.4 * ppm
        for i, char in enumerate(text):
            t = -math.pi / 2 - span / 2 + span * (i + 0.5) / len(text)
            x, y = cx + (a - inset) * math.cos(t), cy + (b - inset) * math.sin(t)
            _paste(ink, _glyph(char, size, -math.degrees(t) - 90), x, y)
    if not oval and rng.random() < 0.85:
        _star(draw, cx, cy - 0.02 * b, b * rng.uniform(0.28, 0.36))
    elif oval:
        number = "".join(rng.choice("0123456789ABCDEFGHJK") for _ in range(18))
        size = b * 0.2
        font = _font(size)
        draw.text((cx, cy), number, fill=255, font=font, anchor="mm")
    bottom = rng.choice(BOTTOM) if not oval else "发票专用章"
    if bottom:
        draw.text((cx, cy + b * 0.55), bottom, fill=255, font=_font(b * 0.2), anchor="mm")
    return ink, (major, minor)


def name_seal(ppm: float, rng: random.Random) -> Image.Image:
    side = rng.uniform(12, 24) * ppm
    pad = round(1.5 * ppm)
    size = round(side) + 2 * pad
    ink = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(ink)
    x0, x1 = pad, pad + side
    name = rng.choice(NAMES) + "之印"
    cell = side / 2
    if rng.random() < 0.5:  # 白文: red ground, white characters
        draw.rectangle((x0, x0, x1, x1), fill=255)
        colour = 0
    else:  # 朱文: red border and characters
        draw.rectangle((x0, x0, x1, x1), outline=255, width=max(1, round(0.9 * ppm)))
        colour = 255
    for i, char in enumerate([name[2], name[0], name[3], name[1]]):
        col, row = divmod(i, 2)
        draw.text((x1 - cell * (col + 0.5), x0 + cell * (row + 0.5)), char, fill=colour,
                  font=_font(cell * 0.8), anchor="mm")
    return ink


def _uneven(ink: Image.Image, rng: random.Random) -> NDArray[np.float32]:
    """Alpha 0–1 with the unevenness of a hand-pressed stamp: faded sides, speckle, spread."""
    alpha = np.asarray(ink, dtype=np.float32) / 255.0
    h, w = alpha.shape
    grid = np.array([[rng.uniform(0.35, 1.0) for _ in range(4)] for _ in range(4)], np.float32)
    if rng.random() < 0.4:  # pressed harder on one side
        grid *= np.linspace(rng.uniform(0.4, 0.8), 1.0, 4, dtype=np.float32)[None, :]
    field_ = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC).clip(0.25, 1.0)
    speckle = np.random.default_rng(rng.randrange(2**31)).random((h, w), dtype=np.float32)
    alpha = alpha * field_ * np.where(speckle < rng.uniform(0.0, 0.15), 0.2, 1.0)
    sigma = rng.uniform(0.3, 1.0)
    return cv2.GaussianBlur(alpha, (0, 0), sigma)


# -- scanned and photographed pages ----------------------------------------------------------

def _stamp(page: NDArray[np.uint8], alpha: NDArray[np.float32], colour: tuple[int, ...],
           cx: float, cy: float, angle: float, opacity: float = 0.92) -> None:
    """Ink `alpha` onto `page` (multiply, as ink on paper), centred at (cx, cy), turned."""
    if angle:
        h, w = alpha.shape
        side = math.ceil(math.hypot(w, h))
        canvas = np.zeros((side, side), np.float32)
        canvas[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = alpha
        matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
        alpha = cv2.warpAffine(canvas, matrix, (side, side)).astype(np.float32, copy=False)
    h, w = alpha.shape
    x0, y0 = round(cx - w / 2), round(cy - h / 2)
    ph, pw = page.shape[:2]
    sx0, sy0 = max(0, -x0), max(0, -y0)
    x0c, y0c = max(0, x0), max(0, y0)
    x1c, y1c = min(pw, x0 + w), min(ph, y0 + h)
    if x1c <= x0c or y1c <= y0c:
        return
    a = alpha[sy0:sy0 + y1c - y0c, sx0:sx0 + x1c - x0c, None] * opacity
    tint = 1.0 - np.array(colour, np.float32) / 255.0
    region = page[y0c:y1c, x0c:x1c].astype(np.float32)
    page[y0c:y1c, x0c:x1c] = (region * (1.0 - a * tint)).clip(0, 255).astype(np.uint8)


def _text_block(draw: ImageDraw.ImageDraw, ppm: float, rng: random.Random, top_mm: float,
                lines: int, fill: tuple[int, int, int] = (20, 20, 20)) -> float:
    size = rng.uniform(3.6, 4.4) * ppm
    font = _font(size)
    y = top_mm * ppm
    for _ in range(lines):
        n = rng.randint(18, 36)
        start = rng.randrange(len(BODY) - n)
        draw.text((rng.uniform(25, 32) * ppm, y), BODY[start:start + n], fill=fill, font=font)
        y += size * rng.uniform(1.7, 2.1)
    return y / ppm


def _signature_strokes(rng: random.Random, w: float, h: float) -> list[list[tuple[float, float]]]:
    """Pen strokes of a scrawled name within w × h (loops, joined letters)."""
    strokes = []
    x = 0.0
    for _ in range(rng.randint(2, 4)):
        points = []
        for t in np.linspace(0, 1, 60):
            loop = rng.uniform(0.6, 1.4)
            points.append((x + t * w / 3 + h * 0.25 * math.sin(t * 9 * loop),
                           h / 2 + h * 0.45 * math.sin(t * 7 * loop + rng.random())))
        strokes.append(points)
        x += w / 3.4
    return strokes


def _negatives(page: NDArray[np.uint8], ppm: float, rng: random.Random,
               busy: list[tuple[float, float]], labels: list[SealLabel], red: list[str]
               ) -> None:
    """Red things that are not official seals, by chance, drawn in place."""
    width_mm = page.shape[1] / ppm
    picture = Image.fromarray(page)
    draw = ImageDraw.Draw(picture)
    colour = rng.choice(INKS)
    if rng.random() < 0.35:  # 红头: title and rule
        red.append("红头")
        size = rng.uniform(11, 16) * ppm
        draw.text((width_mm / 2 * ppm, 30 * ppm), rng.choice(UNITS)[:8] + "文件", fill=colour,
                  font=_font(size), anchor="mm")
        y = 48 * ppm
        thick = max(1, round(rng.uniform(0.5, 1.2) * ppm))
        if rng.random() < 0.4:  # with a star in the middle
            draw.line((26 * ppm, y, width_mm / 2 * ppm - 5 * ppm, y), fill=colour, width=thick)
            draw.line((width_mm / 2 * ppm + 5 * ppm, y, (width_mm - 26) * ppm, y), fill=colour,
                      width=thick)
            points = []
            for i in range(10):
                r = (3.5 if i % 2 == 0 else 1.4) * ppm
                t = -math.pi / 2 + i * math.pi / 5
                points.append((width_mm / 2 * ppm + r * math.cos(t), y + r * math.sin(t)))
            draw.polygon(points, fill=colour)
        else:
            draw.line((26 * ppm, y, (width_mm - 26) * ppm, y), fill=colour, width=thick)
    if rng.random() < 0.3:  # a red table
        red.append("red_table")
        x0, y0 = rng.uniform(25, 40) * ppm, rng.uniform(120, 170) * ppm
        cols = [rng.uniform(15, 40) * ppm for _ in range(rng.randint(2, 5))]
        rows = rng.randint(2, 6)
        rh = rng.uniform(7, 12) * ppm
        line = max(1, round(rng.uniform(0.25, 0.6) * ppm))
        x1 = x0 + sum(cols)
        for r in range(rows + 1):
            draw.line((x0, y0 + r * rh, x1, y0 + r * rh), fill=colour, width=line)
        x = x0
        for c in [*cols, 0]:
            draw.line((x, y0, x, y0 + rows * rh), fill=colour, width=line)
            x += c
    if rng.random() < 0.35:  # a red handwritten signature
        red.append("red_signature")
        w, h = rng.uniform(25, 50) * ppm, rng.uniform(10, 22) * ppm
        x0, y0 = rng.uniform(30, 130) * ppm, rng.uniform(200, 250) * ppm
        for stroke in _signature_strokes(rng, w, h):
            draw.line([(x0 + x, y0 + y) for x, y in stroke], fill=colour,
                      width=max(1, round(rng.uniform(0.4, 0.9) * ppm)), joint="curve")
    if rng.random() < 0.25:  # red text in the body
        red.append("red_text")
        _text_block(draw, ppm, rng, rng.uniform(90, 200), rng.randint(1, 3), fill=colour)
    if rng.random() < 0.15:  # a rectangular "received" stamp
        red.append("received_stamp")
        x0, y0 = rng.uniform(120, 150) * ppm, rng.uniform(60, 80) * ppm
        draw.rectangle((x0, y0, x0 + 42 * ppm, y0 + 16 * ppm), outline=colour,
                       width=max(1, round(0.8 * ppm)))
        draw.text((x0 + 21 * ppm, y0 + 8 * ppm), "收文登记", fill=colour, font=_font(6 * ppm),
                  anchor="mm")
    page[:] = np.asarray(picture)
    if rng.random() < 0.3:  # a legal representative's name seal
        x, y = rng.uniform(40, 170) * ppm, rng.uniform(200, 270) * ppm
        if all(math.hypot(x - bx, y - by) > 45 * ppm for bx, by in busy):
            _stamp(page, _uneven(name_seal(ppm, rng), rng), rng.choice(INKS), x, y,
                   rng.uniform(-8, 8))
            labels.append(SealLabel("name", x, y))
            busy.append((x, y))


def paper_page(ppm: float, rng: random.Random, seals: int
               ) -> tuple[NDArray[np.uint8], list[SealLabel], list[str]]:
    """An A4 page drawn at `ppm` pixels per millimetre with `seals` official seals."""
    w, h = round(A4_MM[0] * ppm), round(A4_MM[1] * ppm)
    tone = rng.uniform(0.93, 1.0)
    picture = Image.new("RGB", (w, h), tuple(round(255 * tone * c) for c in (1, 0.99, 0.97)))
    draw = ImageDraw.Draw(picture)
    bottom = _text_block(draw, ppm, rng, rng.uniform(55, 70), rng.randint(8, 22))
    footer = min(max(bottom + 15, 200), 262)
    unit = rng.choice(UNITS)
    draw.text((rng.uniform(100, 120) * ppm, footer * ppm), f"{unit}（盖章）", fill=(20, 20, 20),
              font=_font(4 * ppm))
    draw.text((rng.uniform(120, 140) * ppm, (footer + 9) * ppm), "二〇二六年十月八日",
              fill=(20, 20, 20), font=_font(4 * ppm))
    page = np.array(picture)
    labels: list[SealLabel] = []
    red: list[str] = []
    busy: list[tuple[float, float]] = []
    for i in range(seals):
        ink, (major, _minor) = official_seal(ppm, rng)
        if i == 0 and rng.random() < 0.65:  # over the unit's name and date, as usual
            x, y = rng.uniform(135, 160) * ppm, (footer + rng.uniform(0, 8)) * ppm
        else:
            x = rng.uniform(major / 2 + 8, A4_MM[0] - major / 2 - 8) * ppm
            y = rng.uniform(70, A4_MM[1] - major / 2 - 10) * ppm
        if any(math.hypot(x - bx, y - by) < 50 * ppm for bx, by in busy):
            continue
        _stamp(page, _uneven(ink, rng), rng.choice(INKS), x, y, rng.uniform(-180, 180),
               rng.uniform(0.75, 0.95))
        labels.append(SealLabel("official", x, y))
        busy.append((x, y))
    _negatives(page, ppm, rng, busy, labels, red)
    return page, labels, red


_GRAIN = np.random.default_rng(17).standard_normal((509, 503, 3), dtype=np.float32)


def _noisy(page: NDArray[np.uint8], sigma: float, rng: random.Random) -> NDArray[np.uint8]:
    """Sensor grain: a tile of Gaussian noise repeated from a random offset (cheap)."""
    h, w = page.shape[:2]
    dy, dx = rng.randrange(509), rng.randrange(503)
    reps = (math.ceil((h + dy) / 509), math.ceil((w + dx) / 503), 1)
    noise = (np.tile(_GRAIN, reps)[dy:dy + h, dx:dx + w] * sigma).astype(np.int16)
    return cv2.add(page, noise, dtype=cv2.CV_8U).astype(np.uint8, copy=False)


def _as_scan(page: NDArray[np.uint8], ppm: float, rng: random.Random,
             labels: list[SealLabel]) -> NDArray[np.uint8]:
    h, w = page.shape[:2]
    angle = rng.uniform(-2.5, 2.5)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    page = cv2.warpAffine(page, matrix, (w, h),
                          borderValue=(247, 247, 247)).astype(np.uint8, copy=False)
    for label in labels:
        label.x, label.y = (matrix @ np.array([label.x, label.y, 1.0])).tolist()
    blur = rng.uniform(0.0, 1.2) * ppm / 6
    if blur > 0.3:
        page = cv2.GaussianBlur(page, (0, 0), blur).astype(np.uint8, copy=False)
    return _noisy(page, rng.uniform(1.5, 10), rng)


def _as_photo(page: NDArray[np.uint8], ppm: float, rng: random.Random,
              labels: list[SealLabel]) -> tuple[NDArray[np.uint8], float]:
    h, w = page.shape[:2]
    margin = 0.08
    cw, ch = round(w * (1 + 2 * margin)), round(h * (1 + 2 * margin))
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = [(rng.uniform(-0.04, 0.04) * w, rng.uniform(-0.03, 0.03) * h) for _ in range(4)]
    target = np.array([[cw * margin + x + dx, ch * margin + y + dy]
                       for (x, y), (dx, dy) in zip(corners.tolist(), jitter, strict=True)],
                      np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    ground = tuple(rng.uniform(60, 140) * c for c in (1.0, 0.85, 0.7))
    photo = cv2.warpPerspective(page, matrix, (cw, ch), borderValue=ground)
    for label in labels:
        x, y, z = matrix @ np.array([label.x, label.y, 1.0])
        label.x, label.y = float(x / z), float(y / z)
    # Uneven light (a gradient across the sheet) and a colour cast, on a coarse grid.
    grid = np.array([[1.0 - rng.uniform(0.0, 0.35) for _ in range(3)] for _ in range(3)],
                    np.float32)
    light = cv2.resize(grid, (cw, ch), interpolation=cv2.INTER_LINEAR)
    cast = rng.choice([(0.85, 0.95, 1.0), (1.0, 0.96, 0.92), (1.0, 1.0, 1.0), (0.8, 0.92, 1.0)])
    channels = [cv2.multiply(c, light * gain, dtype=cv2.CV_8U)
                for c, gain in zip(cv2.split(photo), cast, strict=True)]  # RGB order
    lit = cv2.GaussianBlur(cv2.merge(channels), (0, 0), rng.uniform(0.6, 1.4))
    scale = float(np.linalg.norm(target[1] - target[0]) / w)
    return _noisy(lit.astype(np.uint8, copy=False), 5, rng), ppm * scale


class _SaveOptions(TypedDict, total=False):
    """The options `_save_image` passes to Pillow's `save` for every format."""

    dpi: tuple[float, float]


def _save_image(rgb: NDArray[np.uint8], path: Path, dpi: float | None, rng: random.Random
                ) -> Path:
    picture = Image.fromarray(rgb)
    extra: _SaveOptions = {"dpi": (dpi, dpi)} if dpi else {}
    kind = rng.choice(["jpg", "jpg", "png", "tif"]) if dpi else "jpg"
    path = path.with_suffix("." + kind)
    if kind == "jpg":
        picture.save(path, quality=rng.randint(55, 92), **extra)
    elif kind == "tif":
        picture.save(path, compression="packbits", **extra)
    else:
        picture.save(path, **extra)
    return path


# -- born-digital PDFs -----------------------------------------------------------------------

_PDF_FONT = "SealCorpusHei"


def _pdf_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_PDF_FONT, FONT, subfontIndex=0))


def _rgba_seal(ink: Image.Image, colour: tuple[int, ...], rng: random.Random) -> Image.Image:
    alpha = (_uneven(ink, rng) if rng.random() < 0.5 else
             np.asarray(ink, np.float32) / 255.0)
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = (alpha * 255).clip(0, 255).astype(np.uint8)
    return Image.fromarray(rgba, "RGBA")


def _vector_seal(c: Any, x: float, y: float, rng: random.Random, colour: tuple[int, ...]
                 ) -> None:
    """An official seal drawn with PDF operators, centred at (x, y) points from bottom-left."""
    from reportlab.lib.units import mm

    pdf = c  # a reportlab canvas
    d = rng.uniform(38, 44) * mm
    r = d / 2
    pdf.saveState()
    pdf.setStrokeColorRGB(*(v / 255 for v in colour))
    pdf.setFillColorRGB(*(v / 255 for v in colour))
    pdf.setLineWidth(rng.uniform(0.9, 1.4) * mm)
    pdf.circle(x, y, r - 0.6 * mm)
    star = pdf.beginPath()
    for i in range(10):
        rad = r * 0.32 if i % 2 == 0 else r * 0.32 * 0.382
        t = math.pi / 2 + i * math.pi / 5
        (star.moveTo if i == 0 else star.lineTo)(x + rad * math.cos(t), y + rad * math.sin(t))
    star.close()
    pdf.drawPath(star, stroke=0, fill=1)
    text = rng.choice(UNITS)
    size = r * 0.3
    pdf.setFont(_PDF_FONT, size)
    span = math.radians(rng.uniform(200, 250))
    for i, char in enumerate(text):
        t = math.pi / 2 + span / 2 - span * (i + 0.5) / len(text)
        pdf.saveState()
        rad = r - 1.3 * mm - size * 0.85
        pdf.translate(x + rad * math.cos(t), y + rad * math.sin(t))
        pdf.rotate(math.degrees(t) - 90)
        pdf.drawCentredString(0, -size * 0.35, char)
        pdf.restoreState()
    pdf.restoreState()


def _pdf_page(c: Any, rng: random.Random, kind: str, sealed: bool, red_drawn: list[str]
              ) -> tuple[list[SealLabel], list[tuple[float, float, Image.Image]]]:
    """One born-digital page on canvas `c`; returns its labels (mm from top-left) and the seal
    pictures a signature field must carry (x, y in mm, picture)."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader

    pdf = c
    height = A4_MM[1]
    colour = rng.choice(INKS)
    red = tuple(v / 255 for v in colour)
    labels: list[SealLabel] = []
    widgets: list[tuple[float, float, Image.Image]] = []
    if rng.random() < 0.4:  # 红头 and rule
        red_drawn.append("红头")
        pdf.setFillColorRGB(*red)
        pdf.setFont(_PDF_FONT, rng.uniform(30, 42))
        pdf.drawCentredString(105 * mm, (height - 32) * mm, rng.choice(UNITS)[:8] + "文件")
        pdf.setStrokeColorRGB(*red)
        pdf.setLineWidth(rng.uniform(0.5, 1.2) * mm)
        pdf.line(26 * mm, (height - 45) * mm, 184 * mm, (height - 45) * mm)
    pdf.setFillColorRGB(0.08, 0.08, 0.08)
    pdf.setFont(_PDF_FONT, 11)
    y = height - 60
    for _ in range(rng.randint(8, 22)):
        n = rng.randint(18, 36)
        start = rng.randrange(len(BODY) - n)
        pdf.drawString(28 * mm, y * mm, BODY[start:start + n])
        y -= 7.5
    if rng.random() < 0.3:  # a red table
        red_drawn.append("red_table")
        pdf.setStrokeColorRGB(*red)
        pdf.setLineWidth(0.4 * mm)
        top, rows, cols = rng.uniform(90, 140), rng.randint(2, 5), rng.randint(2, 4)
        for r in range(rows + 1):
            pdf.line(30 * mm, (top - 9 * r) * mm, (30 + 35 * cols) * mm, (top - 9 * r) * mm)
        for col in range(cols + 1):
            pdf.line((30 + 35 * col) * mm, top * mm, (30 + 35 * col) * mm,
                     (top - 9 * rows) * mm)
    if rng.random() < 0.35:  # a red signature drawn with a pen tool
        red_drawn.append("red_signature")
        pdf.setStrokeColorRGB(*red)
        pdf.setLineWidth(rng.uniform(0.4, 0.8) * mm)
        x0, y0 = rng.uniform(30, 120), rng.uniform(40, 80)
        for stroke in _signature_strokes(rng, rng.uniform(25, 45), rng.uniform(10, 20)):
            path = pdf.beginPath()
            path.moveTo((x0 + stroke[0][0]) * mm, (y0 + stroke[0][1]) * mm)
            for px, py in stroke[1:]:
                path.lineTo((x0 + px) * mm, (y0 + py) * mm)
            pdf.drawPath(path, stroke=1, fill=0)
    if rng.random() < 0.3:  # a name seal as a picture
        ppm = 8.0
        ink = name_seal(ppm, rng)
        side = ink.width / ppm
        x, y_top = rng.uniform(40, 90), rng.uniform(230, 265)
        pdf.drawImage(ImageReader(_rgba_seal(ink, colour, rng)), (x - side / 2) * mm,
                      (height - y_top - side / 2) * mm, side * mm, side * mm, mask="auto")
        labels.append(SealLabel("name", x, y_top))
    pdf.setFillColorRGB(0.08, 0.08, 0.08)
    pdf.drawString(120 * mm, 50 * mm, rng.choice(UNITS) + "（盖章）")
    pdf.drawString(130 * mm, 42 * mm, "二〇二六年十月八日")
    if sealed:
        x, y_top = rng.uniform(135, 165), rng.uniform(235, 255)
        if kind == "vector":
            _vector_seal(pdf, x * mm, (height - y_top) * mm, rng, colour)
        else:
            ppm = 8.0
            ink, _size = official_seal(ppm, rng)
            picture = _rgba_seal(ink, colour, rng).rotate(rng.uniform(-40, 40), expand=True)
            if kind == "widget":
                widgets.append((x, y_top, picture))
            else:
                w, h = picture.width / ppm, picture.height / ppm
                pdf.drawImage(ImageReader(picture), (x - w / 2) * mm,
                              (height - y_top - h / 2) * mm, w * mm, h * mm, mask="auto")
        labels.append(SealLabel("official", x, y_top))
    return labels, widgets


def _add_widgets(path: Path, widgets: dict[int, list[tuple[float, float, Image.Image]]]) -> None:
    """Put each seal picture into a signature field's appearance, as e-sealing tools do."""
    import pikepdf

    pt = 72 / 25.4
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        fields = pikepdf.Array()
        for index, items in widgets.items():
            page = pdf.pages[index]
            for n, (x, y_top, picture) in enumerate(items):
                w, h = picture.width / 8.0 * pt, picture.height / 8.0 * pt
                rgba = np.asarray(picture)
                mask = pikepdf.Stream(pdf, rgba[..., 3].tobytes(), Type=pikepdf.Name.XObject,
                                      Subtype=pikepdf.Name.Image, Width=picture.width,
                                      Height=picture.height, BitsPerComponent=8,
                                      ColorSpace=pikepdf.Name.DeviceGray)
                image = pikepdf.Stream(pdf, rgba[..., :3].tobytes(), Type=pikepdf.Name.XObject,
                                       Subtype=pikepdf.Name.Image, Width=picture.width,
                                       Height=picture.height, BitsPerComponent=8,
                                       ColorSpace=pikepdf.Name.DeviceRGB, SMask=mask)
                look = pikepdf.Stream(pdf, f"q {w:.2f} 0 0 {h:.2f} 0 0 cm /Im0 Do Q".encode(),
                                      Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                                      BBox=[0, 0, w, h], Resources=pikepdf.Dictionary(
                                          XObject=pikepdf.Dictionary(Im0=image)))
                x0, y0 = x * pt - w / 2, (A4_MM[1] - y_top) * pt - h / 2
                widget = pdf.make_indirect(pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget,
                    FT=pikepdf.Name.Sig, T=pikepdf.String(f"seal{index}-{n}"),
                    Rect=[x0, y0, x0 + w, y0 + h], F=4, P=page.obj,
                    AP=pikepdf.Dictionary(N=look)))
                if "/Annots" not in page.obj:
                    page.obj.Annots = pikepdf.Array()
                page.obj.Annots.append(widget)
                fields.append(widget)
        pdf.Root.AcroForm = pdf.make_indirect(pikepdf.Dictionary(Fields=fields, SigFlags=3))
        pdf.save(path)


def _born_digital(path: Path, rng: random.Random, pages: int, kind: str, sealed_share: float
                  ) -> list[LabelledPage]:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    _pdf_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    result = []
    widgets: dict[int, list[tuple[float, float, Image.Image]]] = {}
    for index in range(pages):
        red: list[str] = []
        labels, pictures = _pdf_page(pdf, rng, kind, rng.random() < sealed_share, red)
        if pictures:
            widgets[index] = pictures
        pdf.showPage()
        result.append(LabelledPage(path, index + 1, kind, 1.0, A4_MM, labels, red))
    pdf.save()
    path.write_bytes(out.getvalue())
    if widgets:
        _add_widgets(path, widgets)
    return result


# -- the corpus ------------------------------------------------------------------------------

def _scan_file(folder: Path, n: int, rng: random.Random, sealed_share: float
               ) -> list[LabelledPage]:
    photo = rng.random() < 0.25
    dpi = rng.choice([150, 150, 150, 200, 200, 200, 240, 300]) if not photo else 150
    ppm = dpi / 25.4
    in_pdf = not photo and rng.random() < 0.3
    count = rng.randint(1, 3) if in_pdf else 1
    pictures, result = [], []
    for index in range(count):
        seals = (2 if rng.random() < 0.1 else 1) if rng.random() < sealed_share else 0
        page, labels, red = paper_page(ppm, rng, seals)
        if photo:
            rgb, units = _as_photo(page, ppm, rng, labels)
        else:
            rgb, units = _as_scan(page, ppm, rng, labels), ppm
        pictures.append(rgb)
        h, w = rgb.shape[:2]
        result.append(LabelledPage(folder, index + 1, "photo" if photo else "scan", units,
                                   (float(w), float(h)), labels, red))
    if in_pdf:
        path = folder / f"scan-{n:04d}.pdf"
        images = [Image.fromarray(p) for p in pictures]
        images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi,
                       quality=85)
        for labelled in result:  # a PDF page is measured in millimetres
            labelled.units_per_mm, labelled.size = 1.0, A4_MM
            for label in labelled.seals:
                label.x, label.y = label.x / ppm, label.y / ppm
    else:
        path = _save_image(pictures[0], folder / f"{'photo' if photo else 'scan'}-{n:04d}",
                           None if photo else dpi, rng)
    for labelled in result:
        labelled.path = path
    return result


def build(folder: Path, files: int, seed: int = 17, sealed_share: float = 0.5
          ) -> list[LabelledPage]:
    """`files` files of labelled pages in `folder` (two in three scans or photographs)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pages: list[LabelledPage] = []
    for n in range(files):
        if rng.random() < 0.67:
            pages.extend(_scan_file(folder, n, rng, sealed_share))
        else:
            kind = rng.choice(["vector", "image", "widget"])
            pages.extend(_born_digital(folder / f"digital-{n:04d}.pdf", rng, rng.randint(1, 3),
                                       kind, sealed_share))
    return pages


def by_file(pages: list[LabelledPage]) -> Iterator[tuple[Path, list[LabelledPage]]]:
    files: dict[Path, list[LabelledPage]] = {}
    for page in pages:
        files.setdefault(page.path, []).append(page)
    yield from files.items()


# -- scoring ---------------------------------------------------------------------------------

@dataclass
class Score:
    """Of "this page carries an official seal", over a corpus; centre errors in millimetres."""

    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0
    centre_errors: list[float] = field(default_factory=list)  # of each seal found
    seals_stamped: int = 0
    seals_missed: int = 0  # stamped official seals with nothing found within MATCH_MM
    misses: list[str] = field(default_factory=list)  # "file page: what went wrong"

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        sealed = self.true_positive + self.false_negative
        return self.true_positive / sealed if sealed else 1.0

    @property
    def worst_centre_mm(self) -> float:
        return max(self.centre_errors, default=0.0)

    @property
    def seal_recall(self) -> float:
        """Of single seals (a page may carry two), not pages."""
        return 1 - self.seals_missed / self.seals_stamped if self.seals_stamped else 1.0


MATCH_MM = 15.0  # a seal found this near a stamped one is that seal (seals are ~40 mm apart)


def score(pages: list[LabelledPage], facts: dict[Path, dict[str, Any]]) -> Score:
    """Compare the seal facts of each file (`SealFacts.as_dict()`) with the labels."""
    result = Score()
    for page in pages:
        found = facts.get(page.path) or {}
        entry = next((p for p in found.get("pages") or [] if p["page"] == page.page), None)
        seals = [s for s in (entry or {}).get("seals", []) if s["kind"] == "official"]
        where = f"{page.path.name} p{page.page} ({page.source})"
        if page.sealed and seals:
            result.true_positive += 1
        elif page.sealed:
            result.false_negative += 1
            result.misses.append(f"{where}: seal missed")
        elif seals:
            result.false_positive += 1
            result.misses.append(f"{where}: {len(seals)} seal(s) where there is none")
        else:
            result.true_negative += 1
        page_mm = entry["page_mm"] if entry else A4_MM
        for label in (s for s in page.seals if s.kind == "official"):
            result.seals_stamped += 1
            errors = [math.inf]
            for seal in seals:
                x = seal["centre_mm"][0] / page_mm[0] * page.size[0]
                y = seal["centre_mm"][1] / page_mm[1] * page.size[1]
                errors.append(math.hypot(x - label.x, y - label.y) / page.units_per_mm)
            if min(errors) > MATCH_MM:
                result.seals_missed += 1
                if seals:
                    result.misses.append(f"{where}: one of its seals missed")
                continue
            result.centre_errors.append(min(errors))
            if min(errors) > 5:
                result.misses.append(f"{where}: centre off by {min(errors):.1f} mm")
    return result
