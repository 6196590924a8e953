"""Seal detection on single drawn pages: what counts as a seal, what red must not count, and
how the search stays inside the sandbox's time share."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench._seal_corpus import FONT, _born_digital, _stamp, name_seal, official_seal
from services.documents.inspection import Options, inspect_file
from services.documents.seal_pages import seals_in_file
from services.documents.seals import find_seals

PPM = 150 / 25.4  # a 150 dpi scan
RED = (215, 35, 40)


def _page(colour: tuple[int, int, int] = (250, 250, 248)) -> tuple[np.ndarray, ImageDraw.ImageDraw,
                                                                   Image.Image]:
    picture = Image.new("RGB", (round(210 * PPM), round(297 * PPM)), colour)
    draw = ImageDraw.Draw(picture)
    font = ImageFont.truetype(FONT, round(4 * PPM))
    for row in range(12):
        draw.text((25 * PPM, (60 + row * 9) * PPM), "本单位承诺所提交的申报材料真实准确完整",
                  fill=(25, 25, 25), font=font)
    return np.asarray(picture), draw, picture


def _bgr(picture: Image.Image | np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(picture)[..., ::-1])


def test_a_round_seal_with_star_and_ring_text_is_found_where_and_as_big_as_it_was_stamped(
        ) -> None:
    rng = random.Random(3)
    page = np.array(_page()[2])
    ink, (major, _minor) = official_seal(PPM, rng)
    _stamp(page, np.asarray(ink, np.float32) / 255, RED, 150 * PPM, 240 * PPM, 30.0)
    seals = find_seals(_bgr(page), PPM)
    assert [s.kind for s in seals] == ["official"]
    seal = seals[0]
    assert math.dist(seal.centre_mm, (150, 240)) <= 2.0
    assert abs(seal.size_mm[0] - major) <= 3.0
    assert seal.confidence >= 0.8


def test_red_that_is_no_seal_is_not_counted() -> None:
    """红头 title and its red rule (with a star), a red table, red text, a red signature."""
    _, draw, picture = _page()
    font = ImageFont.truetype(FONT, round(14 * PPM))
    draw.text((105 * PPM, 30 * PPM), "江海市科学技术局文件", fill=RED, font=font, anchor="mm")
    draw.line((26 * PPM, 45 * PPM, 98 * PPM, 45 * PPM), fill=RED, width=round(PPM))
    draw.line((112 * PPM, 45 * PPM, 184 * PPM, 45 * PPM), fill=RED, width=round(PPM))
    draw.regular_polygon((105 * PPM, 45 * PPM, 4 * PPM), 5, fill=RED)
    for r in range(5):  # a small red table: 40 × 40 mm, near the size of a seal
        draw.line((30 * PPM, (170 + 10 * r) * PPM, 70 * PPM, (170 + 10 * r) * PPM), fill=RED,
                  width=2)
        draw.line(((30 + 10 * r) * PPM, 170 * PPM, (30 + 10 * r) * PPM, 210 * PPM), fill=RED,
                  width=2)
    draw.text((25 * PPM, 230 * PPM), "以上内容已经审核无误", fill=RED,
              font=ImageFont.truetype(FONT, round(5 * PPM)))
    loop = [(120 * PPM + 18 * PPM * math.cos(t) + t * 3 * PPM,
             250 * PPM + 9 * PPM * math.sin(2 * t)) for t in np.linspace(0, 9, 200)]
    draw.line(loop, fill=RED, width=round(0.6 * PPM))
    assert find_seals(_bgr(picture), PPM) == []


def test_a_square_name_seal_is_reported_as_a_name_seal_not_an_official_one() -> None:
    page = np.array(_page()[2])
    for i, seed in enumerate((1, 2)):  # one 朱文 (border), one 白文 (red ground) by chance
        ink = name_seal(PPM, random.Random(seed))
        _stamp(page, np.asarray(ink, np.float32) / 255, RED, (60 + 60 * i) * PPM, 240 * PPM, 4.0)
    seals = find_seals(_bgr(page), PPM)
    assert len(seals) == 2
    assert {(s.kind, s.shape) for s in seals} == {("name", "square")}


def test_a_warm_photograph_of_an_unsealed_page_has_no_seal() -> None:
    """Warm light makes paper orange-ish: the paper's own colour is balanced out first."""
    base = np.asarray(_page((246, 214, 178))[2], np.float32)
    gradient = np.linspace(0.75, 1.0, base.shape[1], dtype=np.float32)[None, :, None]
    photo = (base * gradient).astype(np.uint8)
    assert find_seals(_bgr(photo), PPM) == []


def test_a_seal_in_a_signature_fields_appearance_is_found(tmp_path: Path) -> None:
    """E-sealing tools put the seal in a widget's appearance, which only a render with forms
    draws (PDFium needs init_forms)."""
    pages = _born_digital(tmp_path / "sealed.pdf", random.Random(9), 1, "widget", 1.0)
    label = next(s for s in pages[0].seals if s.kind == "official")
    facts = seals_in_file(pages[0].path, "pdf")
    found = [s for p in facts.pages for s in p["seals"] if s["kind"] == "official"]
    assert len(found) == 1 and math.dist(found[0]["centre_mm"], (label.x, label.y)) <= 5


def test_inspection_records_seals_per_page_only_when_asked(tmp_path: Path) -> None:
    rng = random.Random(5)
    page = np.array(_page()[2])
    ink, _ = official_seal(PPM, rng)
    _stamp(page, np.asarray(ink, np.float32) / 255, RED, 140 * PPM, 230 * PPM, 0.0)
    path = tmp_path / "scan.png"
    Image.fromarray(page).save(path, dpi=(150, 150))
    assert inspect_file(path, Options(text="none")).seals is None
    facts = inspect_file(path, Options(text="none", seals=True)).seals
    assert facts is not None
    assert (facts["checked"], facts["complete"], facts["pages_checked"]) == (True, True, 1)
    assert facts["size_basis"] == "dpi"
    [entry] = facts["pages"]
    assert entry["page"] == 1 and entry["page_mm"] == pytest.approx([210, 297], abs=1)
    [seal] = entry["seals"]
    assert set(seal) == {"kind", "shape", "centre_mm", "bbox_mm", "size_mm", "confidence",
                         "star"}


def test_the_search_stops_at_its_time_share_and_says_the_file_was_not_all_checked(
        tmp_path: Path) -> None:
    pages = [Image.fromarray(_page()[0]) for _ in range(4)]
    path = tmp_path / "long.pdf"
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=150)
    facts = seals_in_file(path, "pdf", seconds=1e-6)
    assert (facts.complete, facts.pages_checked) == (False, 1)
    whole = seals_in_file(path, "pdf")
    assert (whole.complete, whole.pages_checked, whole.pages) == (True, 4, [])


def test_a_damaged_file_gives_an_error_in_the_facts_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    buffer = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[:60])
    facts = seals_in_file(path, "image")
    assert facts.error and not facts.complete
