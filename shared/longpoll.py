"""Long polling: a GET that answers when its representation changes, not when asked again.

A resource a client waits for answers with an `ETag` (a hash of the JSON it sends). A request
with `If-None-Match: <etag>` and `?wait=<seconds>` (at most `WAIT_CAP_SECONDS`) is held until the
representation differs from that tag, then answered 200 with the new one; when the wait runs out
it is answered 304. A request that waits for something not there yet (the view raises `NotYet`)
gets it as soon as it exists, or that 404 when the wait runs out.

Waking costs no database polling. Every commit of a service already announces the change tags it
wrote (`shared.changes` → `PageCache.publish`, which also PUBLISHes them on the service's Redis
channel); one subscriber thread per process (`ChangeFeed`) hands each announcement to the waiters
whose declared tags it touches, and only those render again. A wake-up that changed nothing the
client sees (another row of the same table) renders, compares and waits on. A change announced
on no tag the view declared is still never answered wrongly: it is seen at the latest when the
wait runs out, or by the next request, whose first render already differs.

Threads are the limit (gunicorn runs each web process with a few threads): at most
`MAX_WAITERS` requests wait at once per process, so a waiting crowd leaves the other threads to
ordinary requests; one more is answered at once with 503 `wait.busy` and `Retry-After` rather
than queued. Redis unreachable — at the start of a wait or during it — is 503
`dependency.broker_unavailable` (the shared outage answer), never a request left hanging.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from flask import Response, after_this_request, request

from shared.errors import DossierError, NotFound
from shared.pagecache import ANY, change_channel

log = logging.getLogger(__name__)

# The longest a request is held. Below the proxy's `proxy_read_timeout` (600 s, dossier/proxy.py)
# and gunicorn's `--timeout`, with room to spare; a test checks the proxy side.
WAIT_CAP_SECONDS = 30
# Requests waiting at once per web process. gunicorn runs 8 threads per process (compose,
# dossier/localstack.py): half may wait, half stay free for everything else.
MAX_WAITERS = 4
BUSY_RETRY_AFTER = 2
# How long a wait may take to find the subscription up before it says Redis is unreachable.
_CONNECT_SECONDS = 3.0


class NotYet(NotFound):
    """A 404 for something that will exist (a list another service has still to publish): a
    waiting request waits for it instead of answering at once."""


class WaitBusy(DossierError):
    code = "wait.busy"
    status = 503
    zh = "当前等待更新的请求过多，请稍后重试或直接重新获取。"
    en = "Too many requests are waiting for changes right now; try again shortly or fetch " \
         "without waiting."


class _Waiter:
    def __init__(self, tags: Iterable[str]) -> None:
        self.tags = frozenset({ANY, *tags})
        self.broken = False
        self._event = threading.Event()

    def wake(self, broken: bool = False) -> None:
        self.broken = self.broken or broken
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """True when woken before `timeout`. Raises if the feed lost Redis meanwhile."""
        woken = self._event.wait(max(0.0, timeout))
        # Cleared before the caller renders again: a change committed from here on wakes it anew.
        self._event.clear()
        if self.broken:
            raise redis.ConnectionError("the change feed lost its connection to Redis")
        return woken


class ChangeFeed:
    """One Redis subscription per process to a service's change channel, shared by its waiters."""

    def __init__(self, client: redis.Redis, service: str, max_waiters: int = MAX_WAITERS
                 ) -> None:
        self.client = client
        self.channel = change_channel(service)
        self._slots = threading.BoundedSemaphore(max_waiters)
        self._lock = threading.Lock()
        self._waiters: set[_Waiter] = set()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._stopping = threading.Event()
        self._lost = False

    @contextmanager
    def waiter(self, tags: Iterable[str]) -> Iterator[_Waiter]:
        """A registered waiter for `tags`, holding one of the process's waiting slots."""
        if not self._slots.acquire(blocking=False):
            raise WaitBusy()
        try:
            self._start()
            if not self._ready.wait(_CONNECT_SECONDS):
                raise redis.ConnectionError("the change feed cannot reach Redis")
            waiter = _Waiter(tags)
            with self._lock:
                self._waiters.add(waiter)
            try:
                yield waiter
            finally:
                with self._lock:
                    self._waiters.discard(waiter)
        finally:
            self._slots.release()

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiters)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            # Threads do not survive a fork: a process forked after the first wait starts its own.
            self._pid = os.getpid()
            self._ready.clear()
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"change-feed:{self.channel}")
            self._thread.start()

    def stop(self) -> None:
        """End the subscriber thread (tests; a process otherwise keeps it until it exits)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        delay = 0.5
        while not self._stopping.is_set():
            try:
                self._listen()
            except redis.RedisError as exc:
                if not self._lost:  # once per outage, not on every reconnection attempt
                    log.warning("change feed %s lost Redis (%s): waiting requests answer 503 "
                                "until it is back", self.channel, exc)
                self._lost = True
            if self._ready.is_set():
                delay = 0.5  # it was up: try again soon
            self._ready.clear()
            self._wake_all(broken=True)
            self._stopping.wait(delay)
            delay = min(delay * 2, 5.0)

    def _listen(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=False)
        try:
            pubsub.subscribe(self.channel)
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    # Anything committed while no subscription was up may have been missed:
                    # every waiter renders again (no waiter exists on the first start).
                    self._wake_all(broken=False)
                    self._ready.set()
                    if self._lost:
                        log.warning("change feed %s: Redis is back", self.channel)
                        self._lost = False
                elif message["type"] == "message":
                    self._dispatch(message["data"])
        finally:
            pubsub.close()

    def _dispatch(self, data: bytes | str) -> None:
        try:
            tags = frozenset(json.loads(data))
        except (ValueError, TypeError):
            tags = frozenset({ANY})
        with self._lock:
            woken = [w for w in self._waiters if w.tags & tags]
        for waiter in woken:
            waiter.wake()

    def _wake_all(self, broken: bool) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.wake(broken=broken)


# -- HTTP -------------------------------------------------------------------------------------

def etag_of(body: Any) -> str:
    """A strong tag of the JSON body: equal bodies, equal tags, in every process."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


# For `@blp.doc(parameters=PARAMETERS)` on a waitable GET: both are read by `respond`, not
# declared by a schema (flask-smorest's manual parameters would replace a schema's).
PARAMETERS: list[dict[str, Any]] = [
    {"in": "query", "name": "wait", "required": False,
     "schema": {"type": "number", "minimum": 0},
     "description": "With `If-None-Match`: hold the request up to this many seconds (at most "
                    f"{WAIT_CAP_SECONDS}; more waits {WAIT_CAP_SECONDS}) until the "
                    "representation differs from that ETag (200), else 304. For something not "
                    "there yet (404 with a `_pending` code): until it is there"},
    {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
     "description": "The `ETag` of the representation the client holds: 304 while it is "
                    "current"},
]


def requested_wait() -> float:
    """`?wait=` in seconds: 0 when absent, at most `WAIT_CAP_SECONDS`."""
    raw = request.args.get("wait", "0")
    try:
        asked = float(raw)
    except ValueError:
        asked = -1.0
    if not 0 <= asked < float("inf"):  # also NaN
        raise DossierError("validation.failed", errors={"query": {"wait": [
            f"seconds to wait: a number from 0 (at most {WAIT_CAP_SECONDS} are waited)"]}})
    return min(asked, float(WAIT_CAP_SECONDS))


def _matches(etag: str) -> bool:
    return request.if_none_match.contains_weak(etag.strip('"'))


# Kept by the client only to revalidate with its ETag (the API's default is `no-store`).
_CACHE_CONTROL = "private, no-cache"


def _json(body: Any, etag: str) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=200,
                        mimetype="application/json")
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = _CACHE_CONTROL
    return response


def _not_modified(etag: str) -> Response:
    response = Response(status=304)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = _CACHE_CONTROL
    return response


def respond(feed: Callable[[], ChangeFeed], render: Callable[[], Any], depends: Iterable[str]
            ) -> Response:
    """The JSON `render()` returns, with its ETag; 304 when it is the one `If-None-Match`
    names. With `?wait=`, a 304 (or a `NotYet` from `render`) is held until `depends` — the
    change tags (`shared.changes.on_rows`/`on_table`) of everything `render` reads — move and
    the representation differs, or the wait runs out."""
    wait = requested_wait()
    deadline = time.monotonic() + wait
    if wait <= 0:
        return _once(render)
    # Answered at once when there is something new: such a request never takes a waiting slot.
    answer = _changed(render)
    if answer is not None:
        return answer
    try:
        with feed().waiter(depends) as waiter:
            while True:
                # Rendered again once registered: a change committed meanwhile is not missed.
                answer = _changed(render)
                if answer is not None:
                    return answer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return _once(render)  # 304, or the NotYet's 404
                waiter.wait(remaining)
    except WaitBusy:
        after_this_request(_busy_retry_after)
        raise


def _changed(render: Callable[[], Any]) -> Response | None:
    """The 200 answer when the representation exists and differs from `If-None-Match`, else
    None (one to wait past)."""
    try:
        body = render()
    except NotYet:
        return None
    etag = etag_of(body)
    return None if _matches(etag) else _json(body, etag)


def _once(render: Callable[[], Any]) -> Response:
    body = render()
    etag = etag_of(body)
    return _not_modified(etag) if _matches(etag) else _json(body, etag)


def _busy_retry_after(response: Response) -> Response:
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response
