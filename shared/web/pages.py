"""Server-rendered pages: one way for every service to sign browsers in, render and protect forms.

A service declares its pages on a `PageBlueprint` (`shared.web.blueprint`) and passes them to
`shared.app.make_app`, which calls `install_web` here. What every page then gets, the same in
all four services, and the module that holds each part:

- the browser session (cookie → Redis, `shared.web.sessions`) as the request's `Principal`, with
  the same role and scope rules as a bearer token, so pages and the API scope data identically
  (`shared.web.browser`; loaded by `_load_browser` below);
- CSRF protection on every state-changing request that is not made with a bearer token (a
  session's own token, or for visitors a token bound to a random cookie) (`shared.web.csrf`);
- the shared layout, stylesheet, navigation and error page (`shared.web.rendering`), zh-CN first
  with an English switch remembered in the `lang` cookie (`shared.web.language`);
- pages kept in the page cache while what they show is unchanged (`shared.web.kept_pages`);
- errors: a page that raises `DossierError` shows its message in the user's language; a page that
  needs a sign-in redirects to it and comes back afterwards.

Views on a PageBlueprint still declare their roles with `shared.http.roles`, or `public` for the
few pages a visitor may see without signing in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Blueprint, Flask, Response, g, request
from jinja2 import ChoiceLoader, FileSystemLoader

from shared import labels
from shared.auth import Principal
from shared.service import ServiceContext
from shared.web import csrf, kept_pages, language, names, rendering
from shared.web.blueprint import is_page_request
from shared.web.forwarded import TrustedProxyFix
from shared.web.sessions import COOKIE
from shared.web.state import WEB_DIR, WebState, code_version, web_state


def _load_browser() -> None:
    """Runs before the auth guard: a session cookie becomes the request's principal."""
    if request.routing_exception is not None:
        return
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return  # API clients: the bearer token alone decides, and carries no ambient cookie
    sid = request.cookies.get(COOKIE)
    session, lookup = kept_pages.session_and_page(sid) if sid else (None, None)
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
    if request.method not in csrf.SAFE_METHODS and (session is not None or is_page_request()):
        csrf.check_csrf()


def _remember(response: Response) -> Response:
    language.remember_language(response)
    csrf.remember_seed(response)
    rendering.page_headers(response)
    return response


def install_web(app: Flask, ctx: ServiceContext, pages: Iterable[Blueprint],
                templates: Path | None = None, translations: Path | None = None) -> None:
    """Wire pages into a service's app (called by `make_app` before the auth guard)."""
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
    lang = language.language
    # Jinja's new-style gettext escapes and fills `%(name)s` itself: hand it the raw text.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda s: web_state().catalogues.gettext(lang(), s),
        lambda s, p, n: web_state().catalogues.ngettext(lang(), s, p, n), newstyle=True)
    app.context_processor(rendering.page_context)
    # Words for codes, one registry for every page (shared/labels.py): `{{ stage|label("stage") }}`.
    units_file = ctx.settings.intake_units_file
    app.jinja_env.filters.update(
        label=lambda code, group: labels.label(group, code, lang()),
        unit_name=lambda code: labels.unit_name(code, lang(), units_file),
        cycle_name=lambda code: names.cycle_name(code, lang()),
        person=lambda subject, role=None: names.person(subject, role, lang()),
        format_name=lambda content_type: labels.format_name(content_type),
        title_in=lambda titles: labels.title_in(titles, lang()))
    app.register_blueprint(Blueprint("web", __name__, static_folder=str(WEB_DIR / "static"),
                                     static_url_path="/static/web"))
    for bp in pages:
        app.register_blueprint(bp)
    app.before_request(_load_browser)
    app.after_request(_remember)
    app.after_request(kept_pages.finish_page)
