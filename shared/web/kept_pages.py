"""Pages kept in the page cache (`shared.pagecache`) while what they show is unchanged: which
requests may be served a kept page, the lookup that rides with the session's, keeping a fresh
page, and the session's own CSRF token put in as a kept page leaves."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from flask import Response, g, request
from flask import session as flask_session

from shared import clock
from shared.pagecache import Lookup
from shared.web.blueprint import is_cacheable_view
from shared.web.browser import browser_session
from shared.web.language import language
from shared.web.sessions import BrowserSession, session_key
from shared.web.state import sessions, web_state

log = logging.getLogger(__name__)


def cache_parts() -> list[str] | None:
    """What names this request's page in the page cache, but for the account; None when the
    page may not come from the cache: not a GET of a cacheable page, a message waiting to be
    shown, the cache off. Pages are kept per account (`BrowserSession.account`: subject, role,
    name, scope), language, address and day (pages say what is overdue), and code version;
    the session's own CSRF token is put in as the page leaves."""
    ctx = web_state().ctx
    if (ctx.settings.page_cache_seconds <= 0 or request.method != "GET"
            or not is_cacheable_view() or flask_session.get("_flashes")):
        return None
    return [web_state().build, request.script_root, request.full_path, language(),
            clock.today().isoformat()]


def session_and_page(sid: str) -> tuple[BrowserSession | None, Lookup | None]:
    """The browser session and, for a cacheable page, the copy kept for the session's account:
    one round trip to Redis either way."""
    store = sessions()
    parts = cache_parts()
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
    if session is None or lookup is None:
        return session, None
    g.page_cache = "hit" if lookup.hit else "miss"
    # Every response to this request gets the session's token for the marker, kept page or
    # fresh one alike (`finish_page`).
    g.page_csrf_marker = web_state().csrf_marker
    return session, lookup


def cached_page() -> Lookup | None:
    """This request's page as kept in the page cache (`.hit`, `.body`), looked up together
    with the browser session; None when the page may not come from the cache."""
    lookup: Lookup | None = g.get("page_lookup")
    return lookup


def keep_page(lookup: Lookup | None, body: str, depends: Iterable[str]) -> str:
    """Keep a freshly rendered page for the next request, with the change tags
    (`shared.changes.on_table` / `on_rows`) of everything it was built from."""
    if lookup is not None and not flask_session.get("_flashes"):
        try:
            web_state().ctx.page_cache.store(lookup, body, depends)
        except redis.RedisError:
            log.warning("page cache unreachable; %s not kept", request.path, exc_info=True)
    return body


def finish_page(response: Response) -> Response:
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
