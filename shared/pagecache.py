"""Rendered pages kept in Redis and served again until what they were built from changes.

A page's entry records, for each change tag it depends on (see `shared.changes`), the version
that tag had when the page was built; a lookup compares them with the current versions in one
Lua call and serves the stored body only if none moved. Versions are numbers from one counter
per service, so a render can tell whether anything it might have read changed while it ran
(any version above the counter read before the render): such a page is returned but not kept.

Writers publish after their commit, so the writer's own next page is never stale. A publish
that finds Redis unreachable is not dropped: the process keeps the tags, publishes them before
its own next lookup, and retries in the background every half second, so once Redis is back no
page older than a write committed during the outage is served (for longer than that half
second by another process). Only a process that dies before Redis returns loses its tags;
entries expire after `ttl` seconds, which bounds that. Redis must not evict keys (it is also
the task broker): a lost version would read as 0.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

_SEQ = "~seq"
# Every entry depends on this tag too: it moves on writes whose table could not be told.
ANY = "*"

# ARGV: the counter's field, the change channel, tags... The tags also go out on the channel
# (`shared.longpoll`: requests waiting for a change wake up), in the same call, so a version
# that moved is always announced, after an outage too.
_BUMP = """
local seq = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local tags = {}
for i = 3, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], seq)
  tags[#tags + 1] = ARGV[i]
end
redis.call('PUBLISH', ARGV[2], cjson.encode(tags))
return seq
"""

# The body of the page kept under `key` if no tag it was built from has moved, else nil.
_KEPT = """
local function kept(key, versions)
  local deps = redis.call('HGET', key, 'deps')
  if not deps then return nil end
  local tags, want = {}, {}
  for tag, ver in pairs(cjson.decode(deps)) do tags[#tags + 1] = tag; want[#want + 1] = ver end
  local now = redis.call('HMGET', versions, unpack(tags))
  for i = 1, #tags do
    if (now[i] or '0') ~= want[i] then return nil end
  end
  return redis.call('HGET', key, 'body')
end
"""

# KEYS: page, versions. ARGV: the counter's field. {body}, or the counter for storing.
_LOOKUP = _KEPT + """
local body = kept(KEYS[1], KEYS[2])
if body then return {body} end
return redis.call('HGET', KEYS[2], ARGV[1]) or '0'
"""

# KEYS: page, versions. ARGV: counter value read before the render, ttl, body, tags...
_STORE = """
local snap = tonumber(ARGV[1])
local d = {}
for i = 4, #ARGV do
  local cur = redis.call('HGET', KEYS[2], ARGV[i]) or '0'
  if tonumber(cur) > snap then return 0 end
  d[ARGV[i]] = cur
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'deps', cjson.encode(d), 'body', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

# KEYS: session, versions. ARGV: idle seconds, key parts, page prefix, the counter's field.
# {session claims, page key, body or false, counter}; {claims} for a session naming no
# account; {false} for no session.
_WITH_SESSION = _KEPT + """
local raw = redis.call('GETEX', KEYS[1], 'EX', ARGV[1])
if not raw then return {false} end
local ok, claims = pcall(cjson.decode, raw)
if not ok or type(claims) ~= 'table' or type(claims['account']) ~= 'string' then
  return {raw}
end
local key = ARGV[3] .. redis.sha1hex(ARGV[2] .. '\\31' .. claims['account'])
local body = kept(key, KEYS[2])
if body then return {raw, key, body, '0'} end
return {raw, key, false, redis.call('HGET', KEYS[2], ARGV[4]) or '0'}
"""


def change_channel(service: str) -> str:
    """The Redis channel on which every commit of `service` announces its change tags."""
    return f"dossier:changes:{service}"


@dataclass
class Lookup:
    """The answer to one lookup: the stored page, or what storing a fresh one needs."""

    key: str
    body: bytes | None = None
    snapshot: int = 0

    @property
    def hit(self) -> bool:
        return self.body is not None


class PageCache:
    def __init__(self, client: redis.Redis, service: str, ttl: int = 600) -> None:
        self.client = client
        self.ttl = ttl
        self.versions = f"dossier:pagecache:{service}:versions"
        self.prefix = f"dossier:pagecache:{service}:page:"
        self.channel = change_channel(service)
        self._bump = client.register_script(_BUMP)
        self._lookup = client.register_script(_LOOKUP)
        self._store = client.register_script(_STORE)
        self._with_session = client.register_script(_WITH_SESSION)
        self._unpublished: set[str] = set()
        self._lock = threading.Lock()
        self._retrier: threading.Thread | None = None

    def key(self, *parts: str) -> str:
        # SHA-1 because the Lua side (`with_session`) can compute it too: redis.sha1hex.
        return self.prefix + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()  # noqa: S324

    def with_session(self, session_key: str, idle: int, *parts: str
                     ) -> tuple[bytes | None, Lookup | None]:
        """A browser session's claims (read as `GETEX … EX idle`) and the page kept for its
        account under `parts`, in one round trip. The account is the session's own `account`
        field; a session without one gets no lookup (None)."""
        self._publish_pending()
        answer = self._with_session(keys=[session_key, self.versions],
                                    args=[idle, "\x1f".join(parts), self.prefix, _SEQ])
        raw = answer[0]
        if raw is None or len(answer) == 1:
            return raw, None
        return raw, Lookup(answer[1].decode(), body=answer[2], snapshot=int(answer[3]))

    def publish(self, tags: set[str]) -> None:
        """Move the version of every tag (called after a commit that wrote them). Raises if
        Redis is unreachable, after keeping the tags to publish as soon as it is back."""
        with self._lock:
            self._unpublished |= tags
        try:
            self._publish_pending()
        except redis.RedisError:
            self._retry_in_background()
            raise

    @property
    def unpublished(self) -> frozenset[str]:
        return frozenset(self._unpublished)

    def _publish_pending(self) -> None:
        with self._lock:
            pending = set(self._unpublished)
        if not pending:
            return
        self._bump(keys=[self.versions], args=[_SEQ, self.channel, *sorted(pending)])
        with self._lock:
            self._unpublished -= pending

    def _retry_in_background(self) -> None:
        with self._lock:
            if self._retrier is not None and self._retrier.is_alive():
                return
            self._retrier = threading.Thread(target=self._retry, daemon=True,
                                             name="page-cache-publisher")
            self._retrier.start()

    def _retry(self) -> None:
        while self._unpublished:
            time.sleep(0.5)
            try:
                self._publish_pending()
            except redis.RedisError:
                continue
            log.warning("page cache: changes made while Redis was unreachable are published")

    def lookup(self, key: str) -> Lookup:
        self._publish_pending()
        answer = self._lookup(keys=[key, self.versions], args=[_SEQ])
        if isinstance(answer, list):
            # Bytes as Redis holds them: a page goes out without being decoded and encoded.
            return Lookup(key, body=answer[0])
        return Lookup(key, snapshot=int(answer))

    def store(self, lookup: Lookup, body: str, depends: Iterable[str]) -> bool:
        """Keep `body` unless a tag it depends on moved since `lookup` (then it may already be
        stale); True when kept."""
        tags = sorted({ANY, *depends})
        kept = self._store(keys=[lookup.key, self.versions],
                           args=[lookup.snapshot, self.ttl, body, *tags])
        return bool(kept)
