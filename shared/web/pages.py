"""Server-rendered pages: one way for every service to sign browsers in, render and protect forms.

A service declares its pages on a `PageBlueprint` and passes it to `shared.http.make_app`, which
calls `install_web`. What every page then gets, the same in all four services:

- the browser session (cookie → Redis, `shared.web.sessions`) as the request's `Principal`, with
  the same role and scope rules as a bearer token, so pages and the API scope data identically;
- CSRF protection on every state-changing request that is not made with a bearer token (a
  session's own token, or for visitors a token bound to a random cookie);
- the shared layout, stylesheet, navigation and error page, zh-CN first with an English switch
  remembered in the `lang` cookie (`shared.http.request_language`);
- errors: a page that raises `DossierError` shows its message in the user's language; a page that
  needs a sign-in redirects to it and comes back afterwards.

Views on a PageBlueprint still declare their roles with `shared.http.roles`, or `public` for the
few pages a visitor may see without signing in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import redis
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
)
from flask import session as flask_session

from shared import clock, labels
from shared.auth import Principal
from shared.errors import DossierError
from shared.pagecache import Lookup
from shared.service import ServiceContext
from shared.web import i18n, names
from shared.web.forwarded import TrustedProxyFix
from shared.web.nav import N_, SIGN_IN_PATH, nav_for  # noqa: F401  (N_ re-exported)
from shared.web.sessions import COOKIE, BrowserSession, SessionStore, session_key

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
WEB_DIR = Path(__file__).parent
CSRF_COOKIE = "dossier_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LANG_COOKIE = "lang"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_YEAR = 365 * 24 * 3600


class PageBlueprint(Blueprint):
    """A blueprint of HTML pages (as opposed to the JSON API)."""


def public(view: F) -> F:
    """A page a visitor may open without signing in (published lists, certificate checks)."""
    view._dossier_public = True  # type: ignore[attr-defined]
    return view


# -- the per-service web state --------------------------------------------------------------

def code_version(folders: Iterable[Path]) -> str:
    """A digest of the code, templates and catalogues a page is built from, so pages kept by an
    earlier version are not served after an upgrade (and every copy of one version agrees)."""
    digest = hashlib.sha256()
    seen: set[Path] = set()
    # Parents before the folders inside them, so a file counts once, named from the outermost.
    for folder in sorted({f.resolve() for f in folders}, key=lambda f: (len(f.parts), str(f))):
        for path in sorted(folder.rglob("*")):
            if (path.suffix in (".py", ".html", ".po", ".yaml", ".json") and path.is_file()
                    and path not in seen):
                seen.add(path)
                digest.update(f"{path.relative_to(folder)}\0".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


class WebState:
    build = ""

    def __init__(self, ctx: ServiceContext, translations: Iterable[Path]) -> None:
        self.ctx = ctx
        self.catalogues = i18n.Catalogues(translations, strict=ctx.settings.i18n_strict)

    @cached_property
    def csrf_marker(self) -> str:
        """Stands for the CSRF token in a page kept in the page cache, so one copy serves
        every browser session of the same account; put back per response (`_finish_page`).
        Derived from the secret key: the same in every process, and not something a user
        could type into a field to have their token written there."""
        key = self.ctx.settings.secret_key.encode()
        return "csrf-" + hmac.new(key, b"page-cache-csrf-marker", hashlib.sha256).hexdigest()[:32]

    @cached_property
    def sessions(self) -> SessionStore:
        s = self.ctx.settings
        return SessionStore(self.ctx.redis, s.session_idle_seconds, s.session_max_seconds)


def web_state() -> WebState:
    return current_app.extensions["dossier.web"]


def sessions() -> SessionStore:
    return web_state().sessions


def browser_session() -> BrowserSession | None:
    return g.get("browser_session")


def optional_principal() -> Principal | None:
    return g.get("principal")


def is_page_request() -> bool:
    """A page (HTML) rather than the API: a PageBlueprint's view, or an unknown address a
    browser asked for."""
    bp = current_app.blueprints.get(request.blueprint or "")
    if isinstance(bp, PageBlueprint):
        return True
    # Compare qualities rather than take `best`: werkzeug ranks Chromium's
    # `application/signed-exchange;v=b3;q=0.7` first (parameters count before quality), so a
    # browser's unknown address got JSON. `*/*` (curl, requests) stays the API's problem+json.
    accept = request.accept_mimetypes
    return (request.endpoint is None and not request.path.startswith("/api/")
            and accept.quality("text/html") > accept.quality("application/json"))


# -- language -------------------------------------------------------------------------------

def language() -> str:
    if "lang" not in g:
        from shared.http import request_language
        g.lang = request_language()
    return str(g.lang)


def gettext(msgid: str, **params: Any) -> str:
    text = web_state().catalogues.gettext(language(), msgid)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = web_state().catalogues.ngettext(language(), singular, plural, n)
    return text % {"num": n, **params}


_ = gettext


# -- CSRF -----------------------------------------------------------------------------------

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


def _check_csrf() -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.mimetype in ("application/x-www-form-urlencoded",
                                             "multipart/form-data"):
        sent = request.form.get(CSRF_FIELD)
    session = browser_session()
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


def _load_browser() -> None:
    """Runs before the auth guard: a session cookie becomes the request's principal."""
    if request.routing_exception is not None:
        return
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return  # API clients: the bearer token alone decides, and carries no ambient cookie
    sid = request.cookies.get(COOKIE)
    session, lookup = _session_and_page(sid) if sid else (None, None)
    g.page_lookup = lookup
    if session is not None:
        g.browser_session = session
        # Checked against the account's standing by the auth guard (`shared.http`), next.
        g.principal = Principal(subject=session.subject, role=session.role,
                                token_id=f"session:{session.public_id}", scope=session.scope,
                                issued_at=session.started)
    # A write riding on a session cookie, or a page's form, must prove it came from our pages.
    # An API request carrying neither cookie nor bearer token has no ambient authority to abuse
    # (registration and sign-in through the API answer with a token in the body, never a
    # cookie), and a cross-site page cannot send it JSON without a CORS preflight.
    if request.method not in SAFE_METHODS and (session is not None or is_page_request()):
        _check_csrf()


def _session_and_page(sid: str) -> tuple[BrowserSession | None, Lookup | None]:
    """The browser session and, for a cacheable page, the copy kept for the session's account:
    one round trip to Redis either way."""
    store = sessions()
    parts = _cache_parts()
    key = session_key(sid)
    if parts is None or key is None:
        return store.get(sid), None
    cache = web_state().ctx.page_cache
    try:
        raw, lookup = cache.with_session(key, store.idle, *parts)
        session = store.claims(sid, raw)
        if session is not None and lookup is None:  # signed in before sessions named accounts
            lookup = cache.lookup(cache.key(*parts, session.account))
    except redis.ResponseError:
        log.warning("page cache lookup failed; rendering %s", request.path, exc_info=True)
        return store.get(sid), None
    if session is None:
        return None, None
    g.page_cache = "hit" if lookup.hit else "miss"
    # Every response to this request gets the session's token for the marker, kept page or
    # fresh one alike (`_finish_page`).
    g.page_csrf_marker = web_state().csrf_marker
    return session, lookup


def is_public_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "_dossier_public", False))


# -- sign-in helpers for the service that owns credentials ------------------------------------

def start_session(response: Response, *, subject: str, role: str, name: str,
                  scope: Mapping[str, Any] | None = None) -> BrowserSession:
    old = request.cookies.get(COOKIE)
    if old:
        sessions().drop(old)  # a fresh id at every sign-in: no session fixation
    session = sessions().create(subject=subject, role=role, name=name, scope=scope)
    response.set_cookie(COOKIE, session.sid, httponly=True, samesite="Lax", path="/",
                        secure=request.is_secure)
    return session


def end_session(response: Response, everywhere: bool = False) -> int:
    ended = 0
    session = browser_session()
    if session is not None:
        if everywhere:
            ended = sessions().drop_all(session.subject)
        else:
            sessions().drop(session.sid)
            ended = 1
    response.delete_cookie(COOKIE, path="/")
    return ended


# -- rendering ------------------------------------------------------------------------------

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


def cacheable(view: F) -> F:
    """A page served from the page cache while what it shows is unchanged. The view calls
    `cached_page()` first and returns `keep_page(...)` with what it read."""
    view._dossier_cacheable = True  # type: ignore[attr-defined]
    return view


def _cache_parts() -> list[str] | None:
    """What names this request's page in the page cache, but for the account; None when the
    page may not come from the cache: not a GET of a cacheable page, a message waiting to be
    shown, the cache off. Pages are kept per account (`BrowserSession.account`: subject, role,
    name, scope), language, address and day (pages say what is overdue), and code version;
    the session's own CSRF token is put in as the page leaves."""
    ctx = web_state().ctx
    view = current_app.view_functions.get(request.endpoint or "")
    if (ctx.settings.page_cache_seconds <= 0 or request.method != "GET"
            or not getattr(view, "_dossier_cacheable", False)
            or flask_session.get("_flashes")):
        return None
    return [web_state().build, request.script_root, request.full_path, language(),
            clock.today().isoformat()]


def cached_page() -> Lookup | None:
    """This request's page as kept in the page cache (`.hit`, `.body`), looked up together
    with the browser session; None when the page may not come from the cache."""
    return g.get("page_lookup")


def keep_page(lookup: Lookup | None, body: str, depends: Iterable[str]) -> str:
    """Keep a freshly rendered page for the next request, with the change tags
    (`shared.changes.on_table` / `on_rows`) of everything it was built from."""
    if lookup is not None and not flask_session.get("_flashes"):
        try:
            web_state().ctx.page_cache.store(lookup, body, depends)
        except redis.RedisError:
            log.warning("page cache unreachable; %s not kept", request.path, exc_info=True)
    return body


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


def _page_context() -> dict[str, Any]:
    lang = language()
    principal = optional_principal()
    catalogues = web_state().catalogues
    return {
        # This page's language bound once, in place of the environment's gettext that looks
        # the language up on every call (hundreds per page). Same newstyle behaviour.
        "gettext": _newstyle_gettext(catalogues.translator(lang)),
        "lang": lang,
        "html_lang": lang,
        "principal": principal,
        "account_name": browser_session().name if browser_session() else "",
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
    from jinja2.ext import _make_new_gettext  # type: ignore[attr-defined]

    return _make_new_gettext(translate)  # type: ignore[no-any-return]


def _lang_switch_url() -> str:
    other = "en" if language() != "en" else "zh-CN"
    args = request.args.to_dict(flat=True)
    args["lang"] = other
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in args.items())
    return f"{request.script_root}{request.path}?{query}"


def _finish_page(response: Response) -> Response:
    """A cacheable page leaves with this session's CSRF token where the marker stands."""
    marker = g.get("page_csrf_marker")
    session = browser_session()
    if marker and session is not None and not response.direct_passthrough:
        body = response.get_data()
        if marker.encode() in body:
            response.set_data(body.replace(marker.encode(), session.csrf.encode()))
    if "page_cache" in g:  # for operators and tests: was this page served from the cache?
        response.headers["X-Page-Cache"] = g.page_cache
    return response


def _remember_language(response: Response) -> Response:
    asked = request.args.get("lang")
    if asked:
        response.set_cookie(LANG_COOKIE, "en" if asked.lower().startswith("en") else "zh-CN",
                            max_age=_YEAR, path="/", samesite="Lax", httponly=True,
                            secure=request.is_secure)
    seed = g.get("new_csrf_seed")
    if seed:
        response.set_cookie(CSRF_COOKIE, seed, path="/", samesite="Lax", httponly=True,
                            secure=request.is_secure)
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
    return response


def install_web(app: Flask, ctx: ServiceContext, pages: Iterable[Blueprint],
                templates: Path | None = None, translations: Path | None = None) -> None:
    """Wire pages into a service's app (called by `make_app` before the auth guard)."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    # One origin: the proxy routes /<service>/… here and says so in X-Forwarded-Prefix, so
    # url_for() builds links the browser can follow; the client's address is the one nginx saw,
    # believed only from nginx (shared/web/forwarded.py).
    app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, ctx.settings.secret_key)
    app.config.update(SESSION_COOKIE_NAME="dossier_flash", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_PATH="/")
    state = WebState(ctx, [translations] if translations else [])
    state.build = code_version([p for p in (templates, translations) if p is not None]
                               + [WEB_DIR.parent, Path(app.root_path)])
    app.extensions["dossier.web"] = state
    loaders = [FileSystemLoader(str(templates))] if templates else []
    app.jinja_loader = ChoiceLoader([*loaders, FileSystemLoader(str(WEB_DIR / "templates"))])
    app.jinja_env.add_extension("jinja2.ext.i18n")
    # Jinja's new-style gettext escapes and fills `%(name)s` itself: hand it the raw text.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda s: web_state().catalogues.gettext(language(), s),
        lambda s, p, n: web_state().catalogues.ngettext(language(), s, p, n), newstyle=True)
    app.context_processor(_page_context)
    # Words for codes, one registry for every page (shared/labels.py): `{{ stage|label("stage") }}`.
    units_file = ctx.settings.intake_units_file
    app.jinja_env.filters.update(
        label=lambda code, group: labels.label(group, code, language()),
        unit_name=lambda code: labels.unit_name(code, language(), units_file),
        cycle_name=lambda code: names.cycle_name(code, language()),
        person=lambda subject, role=None: names.person(subject, role, language()),
        format_name=lambda content_type: labels.format_name(content_type),
        title_in=lambda titles: labels.title_in(titles, language()))
    app.register_blueprint(Blueprint("web", __name__, static_folder=str(WEB_DIR / "static"),
                                     static_url_path="/static/web"))
    for bp in pages:
        app.register_blueprint(bp)
    app.before_request(_load_browser)
    app.after_request(_remember_language)
    app.after_request(_finish_page)


def page_url(path: str) -> str:
    """An absolute path on the one origin for a page of this service."""
    return f"{request.script_root}{path}"
