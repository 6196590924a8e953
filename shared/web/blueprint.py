"""What makes a view a page: the `PageBlueprint` it is declared on, and the marks a page view
may carry (`public` for visitors, `cacheable` for the page cache)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, current_app, request

F = TypeVar("F", bound=Callable[..., Any])


class PageBlueprint(Blueprint):
    """A blueprint of HTML pages (as opposed to the JSON API)."""


def public(view: F) -> F:
    """A page a visitor may open without signing in (published lists, certificate checks)."""
    view._dossier_public = True  # type: ignore[attr-defined]
    return view


def cacheable(view: F) -> F:
    """A page served from the page cache while what it shows is unchanged. The view calls
    `cached_page()` first and returns `keep_page(...)` with what it read
    (`shared.web.kept_pages`)."""
    view._dossier_cacheable = True  # type: ignore[attr-defined]
    return view


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


def is_public_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "_dossier_public", False))


def is_cacheable_view() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "_dossier_cacheable", False))
