"""CSRF protection for every state-changing request not made with a bearer token: a signed-in
browser's own session token, or for visitors a token bound to a random cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Response, g, request

from shared.errors import DossierError
from shared.web.browser import browser_session
from shared.web.state import web_state

CSRF_COOKIE = "dossier_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _anonymous_token(seed: str) -> str:
    key = web_state().ctx.settings.secret_key.encode()
    return hmac.new(key, b"csrf:" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    session = browser_session()
    if session is not None:
        return str(g.page_csrf_marker) if "page_csrf_marker" in g else session.csrf
    seed = request.cookies.get(CSRF_COOKIE) or g.get("new_csrf_seed")
    if not seed:
        seed = g.new_csrf_seed = secrets.token_urlsafe(24)
    return _anonymous_token(seed)


def check_csrf() -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.mimetype in ("application/x-www-form-urlencoded",
                                             "multipart/form-data"):
        sent = request.form.get(CSRF_FIELD)
    session = browser_session()
    expected: str | None
    if session is not None:
        expected = session.csrf
    else:
        seed = request.cookies.get(CSRF_COOKIE)
        expected = _anonymous_token(seed) if seed else None
    if not sent or expected is None or not hmac.compare_digest(sent, expected):
        raise DossierError("auth.csrf", status=403,
                           zh="表单已过期或来源不明，请刷新页面后重试。",
                           en="The form has expired or did not come from this site; "
                              "reload the page and try again.")


def remember_seed(response: Response) -> None:
    """A visitor's token seed made on this request goes out as its cookie."""
    seed = g.get("new_csrf_seed")
    if seed:
        response.set_cookie(CSRF_COOKIE, seed, path="/", samesite="Lax", httponly=True,
                            secure=request.is_secure)
