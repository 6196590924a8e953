"""What every service checks a bearer token or browser session against on each request: the
current standing of its account, one small record per account in Redis.

Intake owns accounts; it writes the record after every commit that changes what matters (active,
role, unit, "sign out everywhere", password change) and rewrites all of them when its web app or
worker starts and every `REPUBLISH_SECONDS` in its worker, so a write lost to a Redis hiccup
heals. The auth guard (`shared.http`) reads the record on every request — one round trip — and
`admit` decides:

- a disabled account is refused (`auth.account_disabled`), on every service at once;
- a token of another role than the account's now is refused (`auth.account_changed`);
- a token issued, or a session begun, before the account's `not_before` is refused
  (`auth.token_revoked`): sign out everywhere, a password change or reset, a disable;
- the scope (a recommender's unit) is the record's, never the token's: a token naming another
  unit, or a browser session with other claims (pages are kept per session claims), is refused
  (`auth.account_changed`); a token naming none acts for the account's unit;
- a personal API token is honoured only while its id is among the record's `tokens` (the
  account's live personal tokens): revoked, expired or unknown ids are refused
  (`auth.personal_token_revoked`). An allow-list rather than a list of revoked ids, so a record
  stays small (live tokens only, capped per account) and a token is refused when in doubt.

A subject with no record has no account at intake: a scripting identity minted with
`dossier token` by someone holding the signing secret. Its token keeps its own claims.
The marker `dossier:accounts:published` says intake has written every record; without it (a fresh
or flushed Redis) the guard answers 503 `auth.accounts_unavailable` rather than trust tokens it
cannot check, and so it does when Redis does not answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from shared.auth import Principal
from shared.errors import DossierError

log = logging.getLogger(__name__)

_KEY = "dossier:account:"
PUBLISHED = "dossier:accounts:published"
REPUBLISH_SECONDS = 30
_PENDING = "dossier.account_states"

# Write a record unless Redis already holds a newer version of it: a full rewrite that read the
# database just before a change committed must not put the older state back.
_SET_NEWER = """
local old = redis.call('GET', KEYS[1])
if old then
  local ok, held = pcall(cjson.decode, old)
  if ok and tonumber(held['version'] or -1) > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


@dataclass(frozen=True)
class AccountState:
    """An account's standing as every service must honour it."""

    subject: str
    role: str
    active: bool
    scope: Mapping[str, Any] = field(default_factory=dict)
    not_before: float = 0.0  # epoch seconds; tokens and sessions that began earlier are void
    version: int = 0  # grows with every change at intake
    tokens: tuple[str, ...] = ()  # ids of the account's live personal API tokens

    def to_json(self) -> str:
        return json.dumps({"role": self.role, "active": self.active, "scope": dict(self.scope),
                           "not_before": self.not_before, "version": self.version,
                           "tokens": sorted(self.tokens)},
                          ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, subject: str, raw: str | bytes) -> AccountState:
        data = json.loads(raw)
        return cls(subject=subject, role=str(data["role"]), active=bool(data["active"]),
                   scope=dict(data.get("scope") or {}),
                   not_before=float(data.get("not_before") or 0),
                   version=int(data.get("version") or 0),
                   tokens=tuple(str(t) for t in data.get("tokens") or ()))


class Unavailable(DossierError):
    code = "auth.accounts_unavailable"
    status = 503
    retry_after = 5


class AccountStates:
    """The records in Redis: written by intake, read by every service's auth guard."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._set_newer = client.register_script(_SET_NEWER)

    def publish(self, states: Iterable[AccountState], *, complete: bool = False) -> int:
        """Write `states` (each unless a newer version is held); `complete` when they are every
        account intake has, which marks the records as published. Returns how many were sent."""
        count = 0
        with self.redis.pipeline(transaction=False) as pipe:
            for state in states:
                self._set_newer(keys=[_KEY + state.subject],
                                args=[state.to_json(), state.version], client=pipe)
                count += 1
            if complete:
                pipe.set(PUBLISHED, "1")
            pipe.execute()
        return count

    def read(self, subject: str) -> AccountState | None:
        """The subject's record, None when intake has no account for it; `Unavailable` when
        the records were never published. Redis not answering raises its own error, which every
        service answers as the broker's outage (503, `shared.outages`): never an unchecked
        pass. One round trip, about 0.2 ms against a local Redis on this machine kind (5,000
        reads measured): too little to be worth a cache that would let a disabled account
        through for its lifetime."""
        published, raw = self.redis.mget([PUBLISHED, _KEY + subject])
        if published is None:
            raise Unavailable()
        return AccountState.from_json(subject, raw) if raw is not None else None


def admit(who: Principal, state: AccountState | None, *, session: bool = False) -> Principal:
    """`who` as the account's record lets it act now (its scope the record's), or the refusal.
    `session`: a browser session, whose scope must still be the record's."""
    if state is None:
        if who.personal:  # a personal token belongs to an account; none means it is gone
            raise DossierError("auth.personal_token_revoked")
        return who
    if not state.active:
        raise DossierError("auth.account_disabled")
    if state.role != who.role or _scope_differs(who, state, session):
        raise DossierError("auth.account_changed")
    if who.issued_at < state.not_before:
        raise DossierError("auth.token_revoked")
    if who.personal and who.token_id not in state.tokens:
        raise DossierError("auth.personal_token_revoked")
    return replace(who, scope=dict(state.scope))


def _scope_differs(who: Principal, state: AccountState, session: bool) -> bool:
    if session:  # pages are kept per session claims: a session must carry the record's scope
        return dict(who.scope) != dict(state.scope)
    # A token minted for another unit than the account's now is void; one naming none gets the
    # account's unit.
    claimed = who.scope.get("unit") if who.scope else None
    return claimed is not None and claimed != state.scope.get("unit")


# -- intake's side: publish what a transaction changed once it commits --------------------------

def stage(session: Session, state: AccountState) -> None:
    """Publish `state` when `session` commits (dropped if it rolls back)."""
    session.info.setdefault(_PENDING, {})[state.subject] = state


def track(factories: Iterable[sessionmaker[Session]],
          publish: Callable[[list[AccountState]], object]) -> None:
    """Hand the states staged in each committed transaction of these sessions to `publish`."""

    def committed(session: Session) -> None:
        states = session.info.pop(_PENDING, None)
        if states:
            # After the commit, never before: a rolled-back change must not reach Redis. A
            # failure here is healed by the next full rewrite (`REPUBLISH_SECONDS`).
            try:
                publish(list(states.values()))
            except redis.RedisError:
                log.exception("account states not published: %s", sorted(states)[:10])

    def rolled_back(session: Session) -> None:
        session.info.pop(_PENDING, None)

    for factory in factories:
        event.listen(factory, "after_commit", committed)
        event.listen(factory, "after_rollback", rolled_back)
