"""Leases on the tasks a worker holds, so that a dead worker's work comes back within a minute.

Redis keeps every delivered, unacknowledged task in kombu's `unacked` hash, scored in the
`unacked_index` sorted set by the time it was handed out; every worker regularly puts back in
its queue whatever has been out longer than the visibility timeout. A timeout long enough for
the longest task (it used to be two hours) also kept a dead worker's tasks away for two hours.

So the timeout is short instead — a lease — and each live worker's main process renews the
score of every task it holds (prefetched, waiting for a retry's countdown, or running) every
quarter lease. A worker killed outright stops renewing: within a lease plus one restore scan
its tasks are queued again and taken by any live worker, its own replacement included. A task
only runs twice if its worker cannot reach Redis for a whole lease while still running it;
handlers are idempotent for that case (and for every other redelivery).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import redis

log = logging.getLogger(__name__)

UNACKED_INDEX = "unacked_index"  # kombu's Redis transport default (`unacked_index_key`)


def held_delivery_tags() -> list[str]:
    """Delivery tags of every request this worker process has received and not finished."""
    from celery.worker import state

    for _ in range(3):
        try:
            requests = list(state.requests.values())
            break
        except RuntimeError:  # the consumer changed the dict while we copied it
            continue
    else:
        return []
    tags = []
    for request in requests:
        message = getattr(request, "message", None)
        tag = getattr(message, "delivery_tag", None)
        if tag:
            tags.append(str(tag))
    return tags


def renew(client: redis.Redis, tags: Iterable[str], *, index_key: str = UNACKED_INDEX,
          now: float | None = None) -> int:
    """Move the given deliveries' lease start to now; returns how many were still held.

    `XX` only updates members that exist: a delivery acknowledged meanwhile is not brought back.
    """
    mapping = {tag: now if now is not None else time.time() for tag in tags}
    if not mapping:
        return 0
    return int(client.zadd(index_key, mapping, xx=True, ch=True) or 0)


class LeaseKeeper(threading.Thread):
    """Renews this worker's leases every `lease_seconds / 4` until stopped."""

    def __init__(self, client: redis.Redis, lease_seconds: float,
                 held: Callable[[], list[str]] = held_delivery_tags,
                 index_key: str = UNACKED_INDEX) -> None:
        super().__init__(name="task-lease-keeper", daemon=True)
        self.client = client
        self.every = max(0.5, lease_seconds / 4)
        self.held = held
        self.index_key = index_key
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.every):
            try:
                renew(self.client, self.held(), index_key=self.index_key)
            except redis.exceptions.RedisError as exc:
                # The broker is away: nothing to renew against. Once it is back, tasks whose
                # lease lapsed meanwhile may run again; handlers are idempotent.
                log.warning("could not renew task leases: %s", exc)
            except Exception:
                log.exception("task lease renewal failed")

    def stop(self) -> None:
        self._stopping.set()
