"""Rendered pages kept in Redis and served again until what they were built from changes.

A page's entry records, for each change tag it depends on (see `shared.changes`), the version
that tag had when the page was built; a lookup compares them with the current versions in one
Lua call and serves the stored body only if none moved. Versions are numbers from one counter
per service, so a render can tell whether anything it might have read changed while it ran
(any version above the counter read before the render): such a page is returned but not kept.

Writers publish after their commit, so the writer's own next page is never stale. Entries also
expire after `ttl` seconds, which bounds what a publish lost to an unreachable Redis can cost.
Redis must not evict keys (it is also the task broker): a lost version would read as 0.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

log = logging.getLogger(__name__)

_SEQ = "~seq"
# Every entry depends on this tag too: it moves on writes whose table could not be told.
ANY = "*"

_BUMP = """
local seq = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
for i = 2, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], seq) end
return seq
"""

_LOOKUP = """
local deps = redis.call('HGET', KEYS[1], 'deps')
if deps then
  local d = cjson.decode(deps)
  local tags, want = {}, {}
  for tag, ver in pairs(d) do tags[#tags + 1] = tag; want[#want + 1] = ver end
  local now = redis.call('HMGET', KEYS[2], unpack(tags))
  local fresh = true
  for i = 1, #tags do
    if (now[i] or '0') ~= want[i] then fresh = false; break end
  end
  if fresh then return redis.call('HMGET', KEYS[1], 'body', 'meta') end
end
return redis.call('HGET', KEYS[2], ARGV[1]) or '0'
"""

_STORE = """
local snap = tonumber(ARGV[1])
local d = {}
for i = 5, #ARGV do
  local cur = redis.call('HGET', KEYS[2], ARGV[i]) or '0'
  if tonumber(cur) > snap then return 0 end
  d[ARGV[i]] = cur
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'deps', cjson.encode(d), 'body', ARGV[3], 'meta', ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

_WITH_SESSION = """
local raw = redis.call('GETEX', KEYS[1], 'EX', ARGV[1])
if not raw then return {false} end
local ok, claims = pcall(cjson.decode, raw)
if not ok or type(claims) ~= 'table' or type(claims['account']) ~= 'string' then
  return {raw}
end
local key = ARGV[3] .. redis.sha1hex(ARGV[2] .. '\\31' .. claims['account'])
local deps = redis.call('HGET', key, 'deps')
if deps then
  local d = cjson.decode(deps)
  local tags, want = {}, {}
  for tag, ver in pairs(d) do tags[#tags + 1] = tag; want[#want + 1] = ver end
  local now = redis.call('HMGET', KEYS[2], unpack(tags))
  local fresh = true
  for i = 1, #tags do
    if (now[i] or '0') ~= want[i] then fresh = false; break end
  end
  if fresh then
    local page = redis.call('HMGET', key, 'body', 'meta')
    return {raw, key, page[1], page[2] or ''}
  end
end
return {raw, key, false, false, redis.call('HGET', KEYS[2], ARGV[4]) or '0'}
"""


@dataclass
class Lookup:
    """The answer to one lookup: the stored page, or what storing a fresh one needs."""

    key: str
    body: bytes | None = None
    meta: dict[str, Any] = field(default_factory=dict)
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
        self._bump = client.register_script(_BUMP)
        self._lookup = client.register_script(_LOOKUP)
        self._store = client.register_script(_STORE)
        self._with_session = client.register_script(_WITH_SESSION)

    def key(self, *parts: str) -> str:
        # SHA-1 because the Lua side (`with_session`) can compute it too: redis.sha1hex.
        return self.prefix + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()  # noqa: S324

    def with_session(self, session_key: str, idle: int, *parts: str
                     ) -> tuple[bytes | None, Lookup | None]:
        """A browser session's claims (read as `GETEX … EX idle`) and the page kept for its
        account under `parts`, in one round trip. The account is the session's own `account`
        field; a session without one gets no lookup (None)."""
        answer = self._with_session(keys=[session_key, self.versions],
                                    args=[idle, "\x1f".join(parts), self.prefix, _SEQ])
        raw = answer[0]
        if raw is None or len(answer) == 1:
            return raw, None
        key = answer[1].decode()
        if answer[2] is not None:
            body, meta = answer[2], answer[3]
            return raw, Lookup(key, body=body, meta=json.loads(meta) if meta else {})
        return raw, Lookup(key, snapshot=int(answer[4]))

    def publish(self, tags: set[str]) -> None:
        """Move the version of every tag (called after a commit that wrote them)."""
        if tags:
            self._bump(keys=[self.versions], args=[_SEQ, *sorted(tags)])

    def lookup(self, key: str) -> Lookup:
        answer = self._lookup(keys=[key, self.versions], args=[_SEQ])
        if isinstance(answer, list):
            body, meta = answer
            # Bytes as Redis holds them: a page goes out without being decoded and encoded.
            return Lookup(key, body=body if isinstance(body, bytes) else str(body).encode(),
                          meta=json.loads(meta) if meta else {})
        return Lookup(key, snapshot=int(answer))

    def store(self, lookup: Lookup, body: str, depends: Iterable[str],
              meta: Mapping[str, Any] | None = None) -> bool:
        """Keep `body` unless a tag it depends on moved since `lookup` (then it may already be
        stale); True when kept."""
        tags = sorted({ANY, *depends})
        kept = self._store(keys=[lookup.key, self.versions],
                           args=[lookup.snapshot, self.ttl, body,
                                 json.dumps(dict(meta or {}), ensure_ascii=False), *tags])
        return bool(kept)
