"""Message catalogues and locale formatting for pages: zh-CN first, English on a switch.

Page text is written in English (the msgid) and translated in gettext `.po` files: one catalogue
for the shared layout (`shared/web/translations`) and one per service
(`services/<svc>/translations`). The `.po` files are read at start-up and compiled in memory, so
there is no build step to forget and no binary `.mo` in the repository.

Babel resolves `zh_CN` to `zh_Hans_CN`; the catalogue folder is named after what Babel resolves
(a folder named `zh_CN` would silently never load) and a test checks a Chinese page is Chinese.

With strict mode on (the page tests), text missing from the active catalogue renders as
`[[untranslated: …]]`, so a walk over every page finds every missing translation.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from shared import clock

log = logging.getLogger(__name__)

# Language tag used in URLs, cookies and the API (`request_language`) → Babel locale.
LOCALES: dict[str, Locale] = {"zh-CN": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en")}
DEFAULT_LANGUAGE = "zh-CN"
SHARED_DIR = Path(__file__).parent / "translations"
DOMAIN = "messages"


def load_catalogue(folders: Iterable[Path], locale: Locale) -> NullTranslations:
    """All `<folder>/<locale>/LC_MESSAGES/messages.po` merged, later folders winning."""
    merged: NullTranslations | None = None
    for folder in folders:
        po = folder / str(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po.is_file():
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buf = io.BytesIO()
        write_mo(buf, catalog)  # fuzzy entries are left out, as msgfmt would
        buf.seek(0)
        translations = Translations(buf, domain=DOMAIN)
        if merged is None or not isinstance(merged, Translations):
            merged = translations
        else:
            merged.merge(translations)
    return merged or NullTranslations()


class Catalogues:
    """One service's translations per language, with strict-mode reporting of gaps."""

    def __init__(self, folders: Iterable[Path], strict: bool = False) -> None:
        self.folders = [SHARED_DIR, *folders]
        self.strict = strict
        self.by_language = {
            lang: (NullTranslations() if lang == "en" else load_catalogue(self.folders, loc))
            for lang, loc in LOCALES.items()
        }
        self._warned: set[str] = set()

    def _missing(self, lang: str, msgid: str) -> str:
        if msgid not in self._warned:
            self._warned.add(msgid)
            log.warning("untranslated (%s): %r", lang, msgid)
        return f"[[untranslated: {msgid}]]" if self.strict else msgid

    def gettext(self, lang: str, msgid: str) -> str:
        if not msgid or lang == "en":
            return msgid
        text = self.by_language[lang].gettext(msgid)
        return self._missing(lang, msgid) if text == msgid else text

    def translator(self, lang: str) -> Callable[[str], str]:
        """`gettext` for one language with the lookups done once: a page calls it hundreds of
        times."""
        if lang == "en":
            return str
        lookup = self.by_language[lang].gettext
        missing = self._missing

        def translate(msgid: str) -> str:
            text = lookup(msgid) if msgid else msgid
            return missing(lang, msgid) if msgid and text == msgid else text

        return translate

    def ngettext(self, lang: str, singular: str, plural: str, n: int) -> str:
        if lang == "en":
            return singular if n == 1 else plural
        text = self.by_language[lang].ngettext(singular, plural, n)
        return self._missing(lang, singular) if text in (singular, plural) else text


def locale_of(lang: str) -> Locale:
    return LOCALES.get(lang, LOCALES[DEFAULT_LANGUAGE])


def fmt_date(value: date | datetime | str | None, lang: str, style: str = "medium") -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(clock.current().zone).date() if value.tzinfo else value.date()
    return format_date(value, format=style, locale=locale_of(lang))


def fmt_datetime(value: datetime | str | None, lang: str, style: str = "medium") -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(value, format=style, tzinfo=clock.current().zone, locale=locale_of(lang))


def fmt_number(value: Any, lang: str, digits: int | None = None) -> str:
    if value is None or value == "":
        return ""
    fmt = None if digits is None else "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(value, format=fmt, locale=locale_of(lang))


def fmt_size(value: int | None, lang: str) -> str:
    if value is None:
        return ""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{fmt_number(size, lang, 0 if unit == 'B' else 1)} {unit}"
        size /= 1024
    return str(value)
