"""Paper sizes by name, from a page's size in millimetres."""

from __future__ import annotations

_PAPER = {"A4": (210, 297), "A3": (297, 420), "A5": (148, 210), "B5": (176, 250),
          "Letter": (216, 279)}


def paper_name(width_mm: float, height_mm: float) -> str | None:
    """The standard size within 3 mm either way (portrait or landscape), or None."""
    short, long_ = sorted((width_mm, height_mm))
    for name, (w, h) in _PAPER.items():
        if abs(short - w) <= 3 and abs(long_ - h) <= 3:
            return name
    return None
