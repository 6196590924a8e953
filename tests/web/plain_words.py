"""Finding program text in Chinese text: ids, codes and English words a person should not read.

`raw_codes(text)` lists what in a zh-CN page or message reads like a program rather than a 政务
service: a UUID (or the first block of one), a snake/kebab/dotted code (`packet.accepted`,
`docx.pages_from_properties`, `org-9114`, `on-site`), a recommending unit's code where its name
belongs, and any English word outside a short allow-list of Latin that Chinese text uses too
(file formats, units of size, the product's name, ID, e-mail addresses, URLs, file names).

`visible_text(html)` is what a reader meets on a page: text, titles, labels and placeholders,
leaving out scripts, styles and whatever sits inside an element marked `data-raw` (the raw
record a page keeps one click away for those who need it) or marked `translate="no"` (what a
person quotes verbatim: a login name, a checksum).
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import yaml

UNITS_FILE = Path(__file__).resolve().parents[2] / "services/intake/data/units.yaml"

# \w is ASCII in these patterns: an id runs into Chinese text without a space ("第c-1f2e届").
# Latin that belongs in Chinese text: formats, sizes, the product, ID/QR, the English switch.
ALLOWED_WORDS = frozenset({
    "PDF", "DOCX", "DOC", "OFD", "ZIP", "CSV", "XLSX", "PNG", "JPEG", "JPG", "ID", "QR",
    "B", "KB", "MB", "GB", "KiB", "MiB", "GiB", "px", "Dossier", "English", "DB", "T", "X",
    "GB/T", "No", "mm", "cm", "dpi", "Word", "Excel", "UTF",
})
_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_FILENAME = re.compile(r"[\w\u4e00-\u9fff().（）\-]+\.(?:pdf|docx?|ofd|zip|csv|xlsx|png|jpe?g)\b",
                       re.IGNORECASE)
# What people quote: a certificate serial (2026-A001-f92c305a). A literal glossed at once in
# Chinese ("subject（账号）", a CSV column's name) is explained, not untranslated.
_SERIAL = re.compile(r"\b\d{4}-[A-Z]\d{3}-[0-9a-f]{8}\b", re.A)
# A unified social credit code (18 characters: 2, then a 6-digit area code, then 10).
_CREDIT_CODE = re.compile(r"\b[0-9A-Z]{2}\d{6}[0-9A-Z]{10}\b", re.A)
_GLOSSED = re.compile(r"[A-Za-z_][\w.-]*（[^）]*[\u4e00-\u9fff][^）]*）", re.A)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
# A cut UUID ("4d24a04b-…") or any other hex token of 8+ characters mixing digits and letters.
_HEX = re.compile(r"(?<![\w-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{8,}(?![\w])",
                  re.I | re.A)
# A code: Latin words joined by `.`, `_` or `-` with at least one lower-case letter (upper-case
# serials such as XZ-2026-0001 and credit codes are what people quote, and stay).
_CODE = re.compile(r"(?<![\w.@/-])[A-Za-z][A-Za-z0-9]*(?:[._-][A-Za-z0-9]+)+(?![\w@/-])", re.A)
_WORD = re.compile(r"[A-Za-z]+(?:/[A-Za-z]+)?")


@cache
def unit_codes() -> frozenset[str]:
    raw = yaml.safe_load(UNITS_FILE.read_text(encoding="utf-8"))
    return frozenset(str(u["code"]) for u in raw["units"])


def raw_codes(text: str) -> list[str]:
    """Every id, code or English word in `text` a zh-CN reader should not meet, with context."""
    found: list[str] = []

    def hit(kind: str, match: re.Match[str], source: str) -> None:
        start, end = max(0, match.start() - 20), match.end() + 20
        where = source[start:end].replace("\n", " ⏎ ")
        found.append(f"{kind} {match.group(0)!r} in …{where}…")

    text = _URL.sub(" ", _EMAIL.sub(" ", text))
    text = _GLOSSED.sub(" ", _SERIAL.sub(" ", _CREDIT_CODE.sub(" ", text)))
    for m in _UUID.finditer(text):
        hit("UUID", m, text)
    text = _UUID.sub(" ", text)
    text = _FILENAME.sub(" ", text)
    for m in _HEX.finditer(text):
        hit("hex id", m, text)
    text = _HEX.sub(" ", text)
    for code in unit_codes():
        for m in re.finditer(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text, re.A):
            hit("unit code", m, text)
    for m in _CODE.finditer(text):
        if any(c.islower() for c in m.group(0)):
            hit("code", m, text)
    text = _CODE.sub(" ", text)
    for m in _WORD.finditer(text):
        word = m.group(0)
        if word in ALLOWED_WORDS or (word.isupper() and len(word) <= 4):
            continue
        hit("English", m, text)
    return found


_SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})
_READ_ATTRS = ("title", "aria-label", "placeholder", "alt", "aria-description")


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden from this check)

    @property
    def skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        # translate="no" marks what is quoted verbatim (a login name, a checksum): not prose.
        skip = tag in _SKIP_TAGS or "data-raw" in named or named.get("translate") == "no"
        if not skip and not self.skipping:
            self.parts += [str(named[a]) for a in _READ_ATTRS if named.get(a)]
        if tag not in _VOID:
            self.stack.append((tag, skip))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skipping:
            named = dict(attrs)
            self.parts += [str(named[a]) for a in _READ_ATTRS if named.get(a)]

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)
