"""The browser signed in on this request: its session (cookie → Redis, `shared.web.sessions`)
and the `Principal` it stands for, and signing in and out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, g, request

from shared.auth import Principal
from shared.web.sessions import COOKIE, BrowserSession
from shared.web.state import sessions


def browser_session() -> BrowserSession | None:
    session: BrowserSession | None = g.get("browser_session")
    return session


def optional_principal() -> Principal | None:
    principal: Principal | None = g.get("principal")
    return principal


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
