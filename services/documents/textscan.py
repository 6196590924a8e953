"""What the inspection reads out of extracted text: counts, headings, classification marks.

Pure functions over strings. Only these derived facts leave the sandbox; the text itself is
never stored or sent.
"""

from __future__ import annotations

import re
from typing import Any

# GB/T 9704 marks: 密级 followed by ★ (then the period, e.g. 机密★1年).
_MARK = re.compile(r"(绝密|机密|秘密)\s*[★☆]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
_CN_NUM = "一二三四五六七八九十百零〇"
_HEADING_PATTERNS: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(rf"^第[{_CN_NUM}\d]+[章部篇]"), 1),
    (re.compile(rf"^第[{_CN_NUM}\d]+[节条]"), 2),
    (re.compile(rf"^[{_CN_NUM}]+\s*[、.．]"), 1),
    (re.compile(rf"^[（(][{_CN_NUM}]+[)）]"), 2),
    (re.compile(r"^(?:chapter|part|section)\s+[\dIVX]+\b", re.IGNORECASE), 1),
    (re.compile(r"^\d{1,2}(?:[.．]\d{1,2}){0,3}(?:[、.．]|\s)\s*\S"), 0),  # level from the dots
)
MAX_HEADING_CHARS = 60
MAX_HEADINGS = 400


def classification_marks(text: str) -> list[str]:
    """Each distinct mark found, normalised (e.g. '机密★'), in order of first appearance."""
    seen: list[str] = []
    for match in _MARK.finditer(text):
        mark = f"{match.group(1)}★"
        if mark not in seen:
            seen.append(mark)
    return seen


def count(text: str) -> tuple[int, int]:
    """(characters, words): non-blank characters, and words as Chinese word processors count
    them (each CJK character is one word, each run of Latin letters or digits is one)."""
    characters = sum(1 for ch in text if not ch.isspace())
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN_WORD.findall(_CJK.sub(" ", text)))
    return characters, cjk + latin


def heading_level(line: str) -> int | None:
    """The level of a numbered heading line ('一、领导', '4.2 过程管理'), or None."""
    line = line.strip()
    if not line or len(line) > MAX_HEADING_CHARS:
        return None
    for pattern, level in _HEADING_PATTERNS:
        match = pattern.match(line)
        if match:
            if level == 0:
                return match.group(0).count(".") + match.group(0).count("．") + 1
            return level
    return None


def headings_in(text: str, page: int | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for line in text.splitlines():
        level = heading_level(line)
        if level is not None:
            found.append({"text": line.strip(), "level": level, "page": page})
    return found
