"""Browser sessions kept in Redis, shared by the four services behind the one origin.

The cookie holds only a random id; Redis holds the claims under the id's SHA-256, so a copy of
Redis yields no usable cookie. Every service reads the same store, so signing in once is enough
for every page, and "sign out everywhere" is one delete of the subject's set of sessions.
A session ends after `idle` seconds without a request or `absolute` seconds after sign-in.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

COOKIE = "dossier_session"
_PREFIX = "dossier:session:"
_OF = "dossier:sessions-of:"


def _key(sid: str) -> str:
    return _PREFIX + hashlib.sha256(sid.encode()).hexdigest()


def session_key(sid: str) -> str | None:
    """Where a session id's claims live in Redis; None for what cannot be an id."""
    return _key(sid) if sid and len(sid) <= 200 else None


def account_of(subject: str, role: str, name: str, scope: Mapping[str, Any]) -> str:
    """A digest of everything a page may show about who is signed in: pages kept for one
    session serve every session with the same digest (`shared.web.kept_pages`)."""
    claims = json.dumps([subject, role, name, dict(scope)], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(claims.encode()).hexdigest()


@dataclass(frozen=True)
class BrowserSession:
    """What a signed-in browser carries: the same claims a bearer token would."""

    sid: str
    subject: str
    role: str
    name: str
    csrf: str
    started: float
    scope: Mapping[str, Any] = field(default_factory=dict)

    @property
    def public_id(self) -> str:
        """Safe to log or show: identifies the session without granting it."""
        return hashlib.sha256(self.sid.encode()).hexdigest()[:16]

    @property
    def account(self) -> str:
        return account_of(self.subject, self.role, self.name, self.scope)


class SessionStore:
    def __init__(self, client: redis.Redis, idle: int, absolute: int) -> None:
        self.redis = client
        self.idle = idle
        self.absolute = absolute

    def create(self, *, subject: str, role: str, name: str,
               scope: Mapping[str, Any] | None = None) -> BrowserSession:
        session = BrowserSession(sid=secrets.token_urlsafe(32), subject=subject, role=role,
                                 name=name, csrf=secrets.token_urlsafe(24), started=time.time(),
                                 scope=dict(scope or {}))
        body = json.dumps({"subject": subject, "role": role, "name": name,
                           "csrf": session.csrf, "started": session.started,
                           "scope": dict(session.scope), "account": session.account},
                          ensure_ascii=False)
        with self.redis.pipeline() as pipe:
            pipe.set(_key(session.sid), body, ex=min(self.idle, self.absolute))
            pipe.sadd(_OF + subject, _key(session.sid))
            pipe.expire(_OF + subject, self.absolute)
            pipe.execute()
        return session

    def get(self, sid: str) -> BrowserSession | None:
        key = session_key(sid)
        if key is None:
            return None
        # One round trip on every page: read and slide the idle expiry together.
        return self.claims(sid, self.redis.getex(key, ex=self.idle))

    def claims(self, sid: str, raw: str | bytes | None) -> BrowserSession | None:
        """The session from what Redis held for it (read with its idle expiry slid), or None
        once past its absolute limit. Only in the session's last idle period is the expiry
        cut back to the absolute limit."""
        if raw is None:
            return None
        data = json.loads(raw)
        left = data["started"] + self.absolute - time.time()
        if left <= 0:
            self.redis.delete(_key(sid))
            return None
        if left < self.idle:
            self.redis.expire(_key(sid), max(1, int(left)))
        return BrowserSession(sid=sid, subject=data["subject"], role=data["role"],
                              name=data["name"], csrf=data["csrf"], started=data["started"],
                              scope=data.get("scope") or {})

    def drop(self, sid: str) -> None:
        key = _key(sid)
        raw = self.redis.get(key)
        self.redis.delete(key)
        if raw is not None:
            self.redis.srem(_OF + json.loads(raw)["subject"], key)

    def drop_all(self, subject: str) -> int:
        """Sign a subject out of every browser (password change, "sign out everywhere",
        an operator disabling the account). Returns how many sessions ended."""
        keys = list(self.redis.smembers(_OF + subject))
        with self.redis.pipeline() as pipe:
            for key in keys:
                pipe.delete(key)
            pipe.delete(_OF + subject)
            results = pipe.execute()
        return sum(int(r) for r in results[:len(keys)])
