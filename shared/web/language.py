"""The language of a request and the page text in it: zh-CN first, English on a switch
remembered in the `lang` cookie. The API's problem+json negotiates the same way."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request

from shared.web.state import web_state

LANG_COOKIE = "lang"
_YEAR = 365 * 24 * 3600


def request_language() -> str:
    """zh-CN unless the caller asks for English (query, cookie, then Accept-Language)."""
    asked = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked:
        return "en" if asked.lower().startswith("en") else "zh-CN"
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return "en" if best == "en" else "zh-CN"


def language() -> str:
    if "lang" not in g:
        g.lang = request_language()
    return str(g.lang)


def gettext(msgid: str, **params: Any) -> str:
    text = web_state().catalogues.gettext(language(), msgid)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = web_state().catalogues.ngettext(language(), singular, plural, n)
    return text % {"num": n, **params}


_ = gettext


def remember_language(response: Response) -> None:
    """A language asked for in the query is kept for the next pages."""
    asked = request.args.get("lang")
    if asked:
        response.set_cookie(LANG_COOKIE, "en" if asked.lower().startswith("en") else "zh-CN",
                            max_age=_YEAR, path="/", samesite="Lax", httponly=True,
                            secure=request.is_secure)
