"""Rendering pages: the shared layout's context (language, navigation, the signed-in account,
messages, formatters), the error page, post/redirect/get, and form errors in words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Response, flash, get_flashed_messages, redirect, render_template, request
from jinja2.ext import _make_new_gettext

from shared.errors import DossierError
from shared.web import i18n
from shared.web.blueprint import is_page_request
from shared.web.browser import browser_session, optional_principal
from shared.web.csrf import CSRF_FIELD, SAFE_METHODS, csrf_token
from shared.web.language import _, language
from shared.web.nav import SIGN_IN_PATH, nav_for
from shared.web.state import web_state


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-origin paths: a sign-in link must not bounce users to another site."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def field_errors(exc: DossierError) -> dict[str, str]:
    """A problem's `errors` flattened to one translated message per form field."""
    out: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list | tuple):
            texts = [v for v in value if isinstance(v, str)]
            if texts:
                out[prefix] = " ".join(_(t) for t in texts)
            for i, v in enumerate(value):
                if not isinstance(v, str):
                    walk(f"{prefix}.{i}", v)
        elif value is not None:
            out[prefix] = _(str(value))

    for key, value in (exc.errors or {}).items():
        if key == "json" or key == "form" or key == "query":
            walk("", value)  # webargs nests by location
        else:
            walk(str(key), value)
    return out


def problem_text(exc: DossierError) -> str:
    return exc.message(language())


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def done(message: str, to: str) -> Response:
    """Post/redirect/get with a confirmation shown on the next page."""
    flash(message, "success")
    return redirect(to, code=303)  # type: ignore[return-value]


def error_page(exc: DossierError) -> Response:
    if exc.status == 401 and request.method in SAFE_METHODS:
        here = request.full_path.rstrip("?")
        prefix = request.script_root or ""
        return redirect(f"{SIGN_IN_PATH}?next={quote(prefix + here, safe='/')}",
                        code=303)  # type: ignore[return-value]
    body = render_template("web/error.html", error=exc, message=problem_text(exc))
    return Response(body, status=exc.status, mimetype="text/html")


def page_url(path: str) -> str:
    """An absolute path on the one origin for a page of this service."""
    return f"{request.script_root}{path}"


def page_context() -> dict[str, Any]:
    lang = language()
    principal = optional_principal()
    catalogues = web_state().catalogues
    session = browser_session()
    return {
        # This page's language bound once, in place of the environment's gettext that looks
        # the language up on every call (hundreds per page). Same newstyle behaviour.
        "gettext": _newstyle_gettext(catalogues.translator(lang)),
        "lang": lang,
        "html_lang": lang,
        "principal": principal,
        "account_name": session.name if session else "",
        "nav": nav_for(principal.role if principal else None, request.script_root,
                       request.path),
        "csrf_token": csrf_token,
        "CSRF_FIELD": CSRF_FIELD,
        "messages": get_flashed_messages(with_categories=True),
        "lang_switch": _lang_switch_url(),
        "fmt_date": lambda v, style="medium": i18n.fmt_date(v, lang, style),
        "fmt_datetime": lambda v, style="medium": i18n.fmt_datetime(v, lang, style),
        "fmt_number": lambda v, digits=None: i18n.fmt_number(v, lang, digits),
        "fmt_size": lambda v: i18n.fmt_size(v, lang),
    }


def _newstyle_gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    # Jinja's own wrapper (private, but what `install_gettext_callables(newstyle=True)` uses):
    # it escapes and fills `%(name)s` exactly as the environment's gettext does.
    return _make_new_gettext(translate)


def _lang_switch_url() -> str:
    other = "en" if language() != "en" else "zh-CN"
    args = request.args.to_dict(flat=True)
    args["lang"] = other
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in args.items())
    return f"{request.script_root}{request.path}?{query}"


def page_headers(response: Response) -> None:
    """A page, and the shared stylesheet and scripts, leave with the headers a page needs."""
    if is_page_request() or request.endpoint == "web.static":
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
            "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'")
        response.headers["Content-Language"] = language()
        response.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint == "web.static":
        response.headers["Cache-Control"] = "public, max-age=3600"
