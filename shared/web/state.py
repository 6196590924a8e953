"""The per-service web state: message catalogues, the browser-session store, the code version
that names kept pages, and the marker that stands for a CSRF token in a kept page."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

from flask import current_app

from shared.service import ServiceContext
from shared.web import i18n
from shared.web.sessions import SessionStore

WEB_DIR = Path(__file__).parent


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
        every browser session of the same account; put back per response
        (`shared.web.kept_pages.finish_page`). Derived from the secret key: the same in every
        process, and not something a user could type into a field to have their token
        written there."""
        key = self.ctx.settings.secret_key.encode()
        return "csrf-" + hmac.new(key, b"page-cache-csrf-marker", hashlib.sha256).hexdigest()[:32]

    @cached_property
    def sessions(self) -> SessionStore:
        s = self.ctx.settings
        return SessionStore(self.ctx.redis, s.session_idle_seconds, s.session_max_seconds)


def web_state() -> WebState:
    state: WebState = current_app.extensions["dossier.web"]
    return state


def sessions() -> SessionStore:
    return web_state().sessions
