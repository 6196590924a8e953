"""Seals on one drawn page: red ink found by colour, told apart by shape.

A red mask alone also finds 红头 titles, the red rule under them, red tables and red
signatures, so colour only proposes candidates; shape decides. An official seal (公章) is a
ring, round (about 38–45 mm) or oval, filled inside with ring text, a star or a line of text; a
name seal (名章) is a small square. What is neither is not reported.

The steps, each cheap on a page drawn at about 100 dpi (about 4 pixels per millimetre):
1. white balance from the paper (so a warm photograph's paper is not "red"), then red ink as
   chroma in the red to red-orange hues (strong pixels seed, weak pixels extend);
2. long straight runs (rules, table lines) taken out, so a seal touching a line stands alone
   and a table leaves nothing behind;
3. ink grouped by a small dilation into candidates, each judged by the fit of an ellipse to its
   outer outline (how much of the ring it follows), by squareness, size in millimetres and how
   much ink it holds inside.

Pure: NumPy and OpenCV on arrays; drawing the page is `seal_pages`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]  # BGR, height × width × 3, as OpenCV holds pictures

# Chroma of red ink (R minus the larger of G and B, after white balance). Strong pixels seed a
# candidate; weak ones (faded ink, ink under black text, blur) only extend one.
STRONG_RED = 60
WEAK_RED = 30
# Hue: the red excess must be at least this share of the chroma (about ±35° around red), so
# orange-yellow and violet stay out while red-orange and crimson stay in.
HUE_SHARE = 0.45
LINE_MM = 30.0  # straight red runs at least this long are rules or table lines, not seals
GROUP_MM = 1.6  # ink closer than twice this belongs to one candidate
OFFICIAL_MM = (24.0, 72.0)  # major axis of an official seal (units' seals are 38–45 mm)
NAME_MM = (7.0, 32.0)  # side of a name seal (about 10–25 mm)
# Oval seals are 40–45 × 30 mm (about 0.67); a photograph's perspective squashes a little more.
MIN_ASPECT = 0.58
RING_TOLERANCE = 0.07  # outline points within 7 % of the ellipse count as on the ring
MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class Seal:
    """One seal on a page; millimetres from the page's top-left corner."""

    kind: str  # "official" (公章, round or oval ring) or "name" (名章, small square)
    shape: str  # "round", "oval" or "square"
    centre_mm: tuple[float, float]
    bbox_mm: tuple[float, float, float, float]  # x, y, width, height
    size_mm: tuple[float, float]  # ellipse axes (major, minor) or the square's sides
    confidence: float
    star: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def red_masks(bgr: Image) -> tuple[Image, Image]:
    """(strong, weak) masks of red ink, 255 where red."""
    b, g, r = _white_balanced(bgr)
    excess = cv2.subtract(r, cv2.max(g, b)).astype(np.uint8, copy=False)
    chroma = cv2.subtract(r, cv2.min(g, b))
    hue_ok = cv2.compare(cv2.convertScaleAbs(excess, alpha=1 / HUE_SHARE), chroma, cv2.CMP_GE)
    # 255 where at least the level, as `cv2.compare` with a scalar (which its stubs lack) gives.
    strong = cv2.bitwise_and((excess >= STRONG_RED).view(np.uint8) * 255, hue_ok)
    weak = cv2.bitwise_and((excess >= WEAK_RED).view(np.uint8) * 255, hue_ok)
    return strong.astype(np.uint8, copy=False), weak.astype(np.uint8, copy=False)


def _white_balanced(bgr: Image) -> tuple[Image, Image, Image]:
    """The three channels, each scaled so the paper (the brightest common colour) is white."""
    sample = bgr[::7, ::7].reshape(-1, 3)
    paper = np.percentile(sample, 92, axis=0)
    gains = 255.0 / np.maximum(paper, 64.0)
    b, g, r = ((channel if abs(gain - 1.0) < 0.03 else
                cv2.convertScaleAbs(channel, alpha=float(gain))).astype(np.uint8, copy=False)
               for channel, gain in zip(cv2.split(bgr), gains, strict=True))
    return b, g, r


def find_seals(bgr: Image, px_per_mm: float) -> list[Seal]:
    """Every official and name seal on the page picture `bgr` drawn at `px_per_mm`."""
    strong, weak = red_masks(bgr)
    if cv2.countNonZero(strong) < 5 * px_per_mm * px_per_mm:  # not even a faded seal
        return []
    # Only the part of the page with red ink on it is worked on (seals sit low on most pages).
    grow = max(1, round(GROUP_MM * px_per_mm))
    rx, ry, rw, rh = cv2.boundingRect(weak)  # faint ink too: a faded ring is mostly faint
    margin = 2 * grow
    rx, ry = max(0, rx - margin), max(0, ry - margin)
    rw, rh = min(strong.shape[1] - rx, rw + 2 * margin), min(strong.shape[0] - ry, rh + 2 * margin)
    strong, weak = strong[ry:ry + rh, rx:rx + rw], weak[ry:ry + rh, rx:rx + rw]
    weak = _without_lines(weak, px_per_mm)
    grouped = cv2.dilate(weak, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                         (2 * grow + 1, 2 * grow + 1)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    seals: list[Seal] = []
    for index in range(1, count):
        x, y, w, h, _area = (int(v) for v in stats[index])
        longest, shortest = (max(w, h) - 2 * grow) / px_per_mm, (min(w, h) - 2 * grow) / px_per_mm
        if longest < NAME_MM[0] or shortest < 5:
            continue
        own = (labels[y:y + h, x:x + w] == index).view(np.uint8) * 255
        ink = cv2.bitwise_and(weak[y:y + h, x:x + w], own).astype(np.uint8, copy=False)
        seed = cv2.countNonZero(cv2.bitwise_and(strong[y:y + h, x:x + w], own))
        if seed < 0.5 * px_per_mm * px_per_mm:  # a faded seal in dim light has only a few
            continue
        # The outline is this candidate's own ink; what the ring holds is all ink inside it
        # (a star or centre text may stand further from the ring than the grouping reaches).
        # Judged whole even when larger than a seal: a seal merged with red text beside it is
        # still found by its ring (circles in the ink start the fit).
        seal = None
        if longest <= OFFICIAL_MM[1] * 4:
            seal = _judge(ink, weak[y:y + h, x:x + w], px_per_mm, (x + rx, y + ry))
        doubtful = seal is None or seal.confidence < 0.7 or seal.size_mm[0] > 50
        if doubtful and shortest >= OFFICIAL_MM[0]:
            # Perhaps a seal merged with a signature, a name seal or red text beside it.
            parts = _split(ink, weak[y:y + h, x:x + w], px_per_mm, (x + rx, y + ry))
            if not any(p.kind == "official" for p in parts):
                parts += _rings_within(ink, weak[y:y + h, x:x + w], px_per_mm, (x + rx, y + ry))
            if parts and (seal is None or max((p.confidence for p in parts
                                               if p.kind == seal.kind), default=0.0)
                          >= seal.confidence):
                seals.extend(parts)
                continue
        if seal is not None and seal.confidence >= MIN_CONFIDENCE:
            seals.append(seal)
    return _outermost(seals)


def _split(ink: Image, context: Image, px_per_mm: float, origin: tuple[int, int]
           ) -> list[Seal]:
    """Seals among the pieces of a candidate grouped again, closer: well-inked seals touch
    neighbouring red ink (a table, a signature, each other) only at a few points."""
    grow = max(1, round(0.5 * px_per_mm))
    grouped = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                        (2 * grow + 1, 2 * grow + 1)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    found: list[Seal] = []
    for index in range(1, count):
        x, y, w, h, _area = (int(v) for v in stats[index])
        if min(w, h) < NAME_MM[0] * px_per_mm or max(w, h) > OFFICIAL_MM[1] * px_per_mm:
            continue
        own = (labels[y:y + h, x:x + w] == index).view(np.uint8) * 255
        own_ink = cv2.bitwise_and(ink[y:y + h, x:x + w], own).astype(np.uint8, copy=False)
        seal = _judge(own_ink, context[y:y + h, x:x + w], px_per_mm,
                      (origin[0] + x, origin[1] + y))
        if seal is not None and seal.confidence >= MIN_CONFIDENCE:
            found.append(seal)
    return found


def _rings_within(ink: Image, context: Image, px_per_mm: float, origin: tuple[int, int]
                  ) -> list[Seal]:
    """Official seals inside a candidate that is more than one thing: circles found by the
    Hough transform, each judged alone on the ink within a little more than its radius, and
    kept only with a star at its centre."""
    low, high = (round(OFFICIAL_MM[0] / 2 * px_per_mm), round(OFFICIAL_MM[1] / 2 * px_per_mm))
    soft = cv2.GaussianBlur(ink, (0, 0), max(1.0, 0.4 * px_per_mm))
    circles = cv2.HoughCircles(soft, cv2.HOUGH_GRADIENT, dp=2, minDist=low * 1.6,
                               param1=120, param2=max(20, round(low * 1.1)),
                               minRadius=low, maxRadius=high)
    found: list[Seal] = []
    for cx, cy, r in ([] if circles is None else circles[0][:6]):
        reach = r * 1.5  # room for an oval whose circle is its minor axis
        x0, y0 = max(0, int(cx - reach)), max(0, int(cy - reach))
        x1, y1 = min(ink.shape[1], int(cx + reach) + 1), min(ink.shape[0], int(cy + reach) + 1)
        disc = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.circle(disc, (round(cx - x0), round(cy - y0)), round(r * 1.12), 255, -1)
        part = cv2.bitwise_and(ink[y0:y1, x0:x1], disc).astype(np.uint8, copy=False)
        near = cv2.bitwise_and(context[y0:y1, x0:x1], disc).astype(np.uint8, copy=False)
        seal = _judge(part, near, px_per_mm, (origin[0] + x0, origin[1] + y0))
        # The cut itself is round, so a ring is no proof here: the star at the centre is.
        if seal is not None and seal.kind == "official" and seal.star:
            found.append(seal)
    return found


def _outermost(seals: list[Seal]) -> list[Seal]:
    """Without the candidates that lie inside a larger seal (its star, its centre text)."""
    def within(inner: Seal, outer: Seal) -> bool:
        x, y, w, h = outer.bbox_mm
        cx, cy = inner.centre_mm
        return (inner is not outer and inner.size_mm[0] < outer.size_mm[0]
                and x < cx < x + w and y < cy < y + h)

    return [seal for seal in seals if not any(within(seal, other) for other in seals)]


def _without_lines(mask: Image, px_per_mm: float) -> Image:
    # Found at a quarter of the resolution along each line's own direction (four times less
    # work than at full size; a run of ink stays a run), thickened across first so a line
    # skewed by a scanner (a step every few millimetres) stays one run.
    length = max(4, round(LINE_MM * px_per_mm / 4))
    h, w = mask.shape
    if w < 8 or h < 8:
        return mask
    narrow = cv2.resize(mask, (w // 4, h), interpolation=cv2.INTER_AREA)
    narrow = cv2.dilate((narrow > 0).view(np.uint8) * 255, np.ones((5, 1), np.uint8))
    across = cv2.morphologyEx(narrow, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    short = cv2.resize(mask, (w, h // 4), interpolation=cv2.INTER_AREA)
    short = cv2.dilate((short > 0).view(np.uint8) * 255, np.ones((1, 5), np.uint8))
    down = cv2.morphologyEx(short, cv2.MORPH_OPEN, np.ones((length, 1), np.uint8))
    lines = cv2.bitwise_or(cv2.resize(across, (w, h), interpolation=cv2.INTER_NEAREST),
                           cv2.resize(down, (w, h), interpolation=cv2.INTER_NEAREST))
    lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    if not cv2.countNonZero(lines):
        return mask
    return cv2.bitwise_and(mask, cv2.bitwise_not(lines)).astype(np.uint8, copy=False)


@dataclass(frozen=True)
class _Ellipse:
    cx: float
    cy: float
    a: float  # semi-axes, a ≥ b
    b: float
    angle: float  # radians, of the major axis

    def polar(self, xs: NDArray[np.float64], ys: NDArray[np.float64]
              ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(normalised radius, angle) of points in the ellipse's own frame."""
        dx, dy = xs - self.cx, ys - self.cy
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        u = (dx * cos + dy * sin) / self.a
        v = (-dx * sin + dy * cos) / self.b
        return np.hypot(u, v), np.arctan2(v, u)


def _fit(xs: NDArray[np.float64], ys: NDArray[np.float64]) -> _Ellipse | None:
    if len(xs) < 6:
        return None
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    (cx, cy), (d1, d2), degrees = cv2.fitEllipse(points)
    if not (math.isfinite(d1) and math.isfinite(d2)) or min(d1, d2) < 4:
        return None
    angle = math.radians(degrees)
    if d1 >= d2:
        return _Ellipse(cx, cy, d1 / 2, d2 / 2, angle)
    return _Ellipse(cx, cy, d2 / 2, d1 / 2, angle + math.pi / 2)


def _coverage(rho: NDArray[np.float64], phi: NDArray[np.float64], near: float,
              bins: int = 36) -> float:
    """Share of angular sectors holding a point within `near` of the ellipse (ρ = 1)."""
    on = np.abs(rho - 1.0) <= near
    if not on.any():
        return 0.0
    sectors = ((phi[on] + math.pi) / (2 * math.pi) * bins).astype(int) % bins
    return len(np.unique(sectors)) / bins


def _judge(ink: Image, context: Image, px_per_mm: float, origin: tuple[int, int]
           ) -> Seal | None:
    """An official or name seal if the ink of one candidate has the shape of one."""
    close = max(3, round(2.0 * px_per_mm)) | 1
    solid = cv2.morphologyEx(ink, cv2.MORPH_CLOSE,
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close, close)))
    contours, _ = cv2.findContours(solid, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    # All pieces together: uneven ink breaks a ring into arcs, each its own contour.
    outline = np.concatenate(contours)
    hull = cv2.convexHull(outline)
    hull_area = cv2.contourArea(hull)
    if hull_area < (NAME_MM[0] * px_per_mm) ** 2 * 0.5:
        return None
    points = outline.reshape(-1, 2).astype(np.float64)
    xs, ys = points[:, 0], points[:, 1]
    _, (w, h), _ = cv2.minAreaRect(hull)
    rect_fill = hull_area / max(1.0, w * h)  # a disc or an oval 0.785, a square near 1
    if rect_fill <= 0.87:
        return _as_ring(context, xs, ys, hull.reshape(-1, 2).astype(np.float64), px_per_mm,
                        origin)
    return _as_square(ink, hull.astype(np.int32, copy=False), hull_area, px_per_mm, origin)


def _as_ring(ink: Image, xs: NDArray[np.float64], ys: NDArray[np.float64],
             hull: NDArray[np.float64], px_per_mm: float, origin: tuple[int, int]
             ) -> Seal | None:
    # Several starts, the best kept: the convex hull (the ring is a seal's hull, whatever text
    # the outline reaches through a gap in uneven ink), the whole outline (a signature
    # touching the seal bends the hull more than the outline) and circles in the ink.
    best: tuple[float, _Ellipse] | None = None
    for start in (_fit(hull[:, 0], hull[:, 1]), _fit(xs, ys)):
        fitted = _refined(start, xs, ys)
        if fitted is not None and (best is None or fitted[0] > best[0]):
            best = fitted
    if best is None or best[0] < 0.85:  # the ring is not followed all round: look for circles
        for start in _circles(ink, px_per_mm):
            fitted = _refined(start, xs, ys)
            if fitted is not None and (best is None or fitted[0] > best[0]):
                best = fitted
    if best is None:
        return None
    coverage, ellipse = best
    if coverage < 0.5 or ellipse.b / ellipse.a < MIN_ASPECT:
        return None
    major, minor = 2 * ellipse.a / px_per_mm, 2 * ellipse.b / px_per_mm
    inside = _inside_share(ink, ellipse)
    # A solid red disc is a logo; an empty ring counts only when it is whole and even.
    if inside > 0.6 or (inside < 0.015 and coverage < 0.85):
        return None
    kind = "official" if major >= OFFICIAL_MM[0] else "name"
    if major > OFFICIAL_MM[1]:
        return None
    text = _ring_text(ink, ellipse)
    star = _star_centre(ink, ellipse)
    ring_score = min(1.0, (coverage - 0.5) / 0.4)
    size_score = 1.0 if 32 <= major <= 50 else 0.6
    confidence = (0.55 * ring_score + 0.15 * size_score + 0.15 * text
                  + (0.15 if star else 0.0))
    # A seal's star sits at its centre and stays whole when other ink merges with the ring.
    centre = star if star is not None and kind == "official" else (ellipse.cx, ellipse.cy)
    if kind == "name":
        confidence = min(confidence, 0.9)
    shape = "round" if ellipse.b / ellipse.a >= 0.88 else "oval"
    cos, sin = math.cos(ellipse.angle), math.sin(ellipse.angle)
    half = (math.hypot(ellipse.a * cos, ellipse.b * sin),
            math.hypot(ellipse.a * sin, ellipse.b * cos))
    return _seal(kind, shape, centre, half, (major, minor), confidence, star is not None,
                 px_per_mm, origin)


def _circles(ink: Image, px_per_mm: float) -> list[_Ellipse]:
    """Seal-sized circles in the ink (Hough), as further starts for the ring fit: the hull
    and the outline both bend where other red ink touches the seal."""
    low, high = (round(OFFICIAL_MM[0] / 2 * px_per_mm), round(OFFICIAL_MM[1] / 2 * px_per_mm))
    if min(ink.shape) < 2 * low:
        return []
    soft = cv2.GaussianBlur(ink, (0, 0), max(1.0, 0.4 * px_per_mm))
    circles = cv2.HoughCircles(soft, cv2.HOUGH_GRADIENT, dp=2, minDist=low,
                               param1=120, param2=max(20, round(low * 1.1)),
                               minRadius=low, maxRadius=high)
    if circles is None:
        return []
    return [_Ellipse(float(cx), float(cy), float(r), float(r), 0.0)
            for cx, cy, r in circles[0][:2]]


def _refined(ellipse: _Ellipse | None, xs: NDArray[np.float64], ys: NDArray[np.float64]
             ) -> tuple[float, _Ellipse] | None:
    """(ring coverage, ellipse) after refits on the outline points near the ring."""
    if ellipse is None:
        return None
    rho, phi = ellipse.polar(xs, ys)
    for _ in range(2):
        chosen = _nearest_per_sector(rho, phi, RING_TOLERANCE * 1.5)
        refit = _fit(xs[chosen], ys[chosen]) if len(chosen) >= 12 else None
        if refit is None:
            break
        ellipse = refit
        rho, phi = ellipse.polar(xs, ys)
    return _coverage(rho, phi, RING_TOLERANCE), ellipse


def _nearest_per_sector(rho: NDArray[np.float64], phi: NDArray[np.float64], near: float,
                        bins: int = 72) -> NDArray[np.intp]:
    """Indices of the outline point nearest the ring in each sector, if near enough: each
    sector counts once, so ink merged with the seal in a few sectors cannot pull the fit."""
    deviation = np.abs(rho - 1.0)
    sectors = ((phi + math.pi) / (2 * math.pi) * bins).astype(int) % bins
    order = np.lexsort((deviation, sectors))
    first = np.ones(len(order), bool)
    first[1:] = sectors[order][1:] != sectors[order][:-1]
    picked = order[first]
    return picked[deviation[picked] <= near]


def _inside_share(ink: Image, ellipse: _Ellipse) -> float:
    area = math.pi * ellipse.a * ellipse.b
    inner = np.zeros_like(ink)
    cv2.ellipse(inner, ((ellipse.cx, ellipse.cy), (2 * ellipse.a * 0.85, 2 * ellipse.b * 0.85),
                        math.degrees(ellipse.angle)), 255, -1)
    return cv2.countNonZero(cv2.bitwise_and(ink, inner)) / max(1.0, area * 0.85 * 0.85)


def _ink_polar(ink: Image, ellipse: _Ellipse
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ys, xs = np.nonzero(ink[::2, ::2])  # every other pixel: plenty for sector counts
    return ellipse.polar(xs.astype(np.float64) * 2, ys.astype(np.float64) * 2)


def _ring_text(ink: Image, ellipse: _Ellipse) -> float:
    """Share of sectors with ink in the band where ring text sits (0.5–0.88 of the radius)."""
    rho, phi = _ink_polar(ink, ellipse)
    band = (rho > 0.5) & (rho < 0.88)
    if not band.any():
        return 0.0
    sectors = ((phi[band] + math.pi) / (2 * math.pi) * 36).astype(int) % 36
    return min(1.0, len(np.unique(sectors)) / 36 / 0.6)


def _star_centre(ink: Image, ellipse: _Ellipse) -> tuple[float, float] | None:
    """The centre of a solid five-pointed blob in the middle (solidity about 0.5), if any."""
    centre = np.zeros_like(ink)
    cv2.ellipse(centre, ((ellipse.cx, ellipse.cy), (ellipse.a * 0.9, ellipse.b * 0.9),
                         math.degrees(ellipse.angle)), 255, -1)
    core = cv2.bitwise_and(ink, centre)
    contours, _ = cv2.findContours(core, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for blob in contours:
        area = cv2.contourArea(blob)
        hull = cv2.contourArea(cv2.convexHull(blob))
        (_, _), (w, h), _ = cv2.minAreaRect(blob)
        if (area <= 0 or not 0.35 * ellipse.b <= max(w, h) <= 0.9 * ellipse.b
                or not 0.35 <= area / hull <= 0.75 or min(w, h) < 0.7 * max(w, h)):
            continue
        moments = cv2.moments(blob)
        x, y = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
        if math.hypot(x - ellipse.cx, y - ellipse.cy) <= 0.25 * ellipse.b:
            return x, y
    return None


def _as_square(ink: Image, hull: NDArray[np.int32], hull_area: float, px_per_mm: float,
               origin: tuple[int, int]) -> Seal | None:
    _, (w, h), _ = cv2.minAreaRect(hull)
    if w <= 0 or h <= 0:
        return None
    rect_fill = hull_area / (w * h)
    side_long, side_short = max(w, h) / px_per_mm, min(w, h) / px_per_mm
    if rect_fill < 0.9 or side_short / side_long < 0.6:
        return None
    if not (NAME_MM[0] <= side_long <= NAME_MM[1]):
        return None
    fill = cv2.countNonZero(ink) / (w * h)
    if fill < 0.12:
        return None
    # Its border or its solid ground: ink along most of all four sides.
    confidence = 0.5 + 0.5 * min(1.0, (rect_fill - 0.9) / 0.07)
    x0, y0, bw, bh = cv2.boundingRect(hull)
    centre = (x0 + bw / 2, y0 + bh / 2)
    return _seal("name", "square", centre, (bw / 2, bh / 2), (side_long, side_short),
                 confidence, False, px_per_mm, origin)


def _seal(kind: str, shape: str, centre: tuple[float, float], half: tuple[float, float],
          size: tuple[float, float], confidence: float, star: bool, px_per_mm: float,
          origin: tuple[int, int]) -> Seal:
    """A seal in page millimetres from a candidate's pixel centre, half extents and size."""
    x, y = float(centre[0] + origin[0]) / px_per_mm, float(centre[1] + origin[1]) / px_per_mm
    hx, hy = float(half[0]) / px_per_mm, float(half[1]) / px_per_mm
    return Seal(kind=kind, shape=shape, centre_mm=(round(x, 1), round(y, 1)),
                bbox_mm=(round(x - hx, 1), round(y - hy, 1), round(2 * hx, 1), round(2 * hy, 1)),
                size_mm=(round(size[0], 1), round(size[1], 1)),
                confidence=round(max(0.0, min(1.0, confidence)), 2), star=star)
