"""The Celery app factory: one queue per service, tasks named `<service>.<verb>`.

Delivery rules, the same for all four services: a task is acknowledged only after it finishes
(`acks_late`), is requeued if its process dies (`reject_on_worker_lost`) or its whole worker dies
(a lease the live worker renews, `shared.task_leases`), one task is reserved at a time
(prefetch 1), transient failures retry with exponential backoff — and when the retry cannot be
queued because the broker is down, the delivery is handed back instead of dropped — and a task
that keeps failing or keeps killing its worker ends in the service's `dead_letters` table instead
of looping. Handlers must still be idempotent: every rule above can run a task twice.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import sqlalchemy.exc
import urllib3.exceptions
from celery import Celery, Task, signals
from celery.exceptions import Reject
from minio.error import ServerError

from shared.audit_anchors import AnchorTimer, write_anchor
from shared.config import SERVICES, Settings
from shared.errors import Unavailable
from shared.events import OutboxRelay
from shared.service import ServiceContext
from shared.task_leases import LeaseKeeper

log = logging.getLogger(__name__)

# Failures worth retrying: the database, broker or object store is briefly unreachable.
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    urllib3.exceptions.HTTPError,
    ServerError,
    redis.exceptions.ConnectionError,
    Unavailable,
)


def queue_for(task_name: str) -> str:
    service, _, verb = task_name.partition(".")
    if service not in SERVICES or not verb:
        raise ValueError(f"task {task_name!r} is not named <service>.<verb>")
    return service


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None,
               **kw: Any) -> dict[str, str]:
    return {"queue": queue_for(name)}


def heartbeat_path(service: str) -> Path:
    """File a worker touches while alive; the container health check reads its age."""
    return Path(tempfile.gettempdir()) / f"dossier-{service}-worker.heartbeat"


class DossierTask(Task[Any, Any]):
    """Base for every task: retry policy, poison-message cap, dead letters."""

    abstract = True
    autoretry_for = TRANSIENT
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    acks_late = True
    reject_on_worker_lost = True
    ctx: ServiceContext  # set by make_celery

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        attempts = self._count_attempt(task_id)
        limit = self.ctx.settings.task_max_retries + 1
        if attempts > limit:
            # Redelivered more often than it may be retried: most likely it kills its worker
            # (reject_on_worker_lost requeues those forever). Park it instead of looping.
            self._dead_letter(task_id, args, f"gave up after {attempts - 1} deliveries",
                              attempts - 1)
            from celery.exceptions import Ignore
            raise Ignore()
        if self.ctx.settings.task_start_delay > 0:
            time.sleep(self.ctx.settings.task_start_delay)

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().retry(*args, **kwargs)
        except Reject as exc:
            # Celery raises this when the retry could not be published (the broker is down)
            # and would then drop the delivery: neither retried nor dead-lettered. Hand it back
            # instead; if the broker cannot take even that, its lease lapses and it is queued
            # again once the broker is back. Its deliveries are counted, so it cannot loop.
            # celery-types declares Reject's arguments but not the attributes that keep them.
            requeue, reason = exc.requeue, exc.reason  # type: ignore[attr-defined]
            if requeue:
                raise
            log.warning("task %s %s: retry could not be queued (%s); handing it back",
                        self.name, self.request.id, reason)
            raise Reject(reason, requeue=True) from exc

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any,
                   einfo: Any) -> None:
        self._dead_letter(task_id, args, "".join(traceback.format_exception(exc))[-4000:],
                          self.request.retries + 1)

    def _count_attempt(self, task_id: str) -> int:
        key = f"dossier:attempts:{task_id}"
        client = _redis(self.ctx)
        try:
            count = int(client.incr(key))
            client.expire(key, max(self.ctx.settings.task_lease_seconds * 4, 86400))
        except redis.exceptions.RedisError:
            # Counting is a safety net; never fail (or dead-letter) a task because of it.
            log.warning("could not count delivery of %s", task_id, exc_info=True)
            return 1
        return count

    def _dead_letter(self, task_id: str, args: Any, error: str, attempts: int) -> None:
        table = self.ctx.metadata.tables["dead_letters"]
        log.error("task %s %s is dead: %s", self.name, task_id, error.splitlines()[-1:])
        with self.ctx.db.session() as session:
            session.execute(table.insert().values(
                task_id=task_id, task_name=self.name, args=list(args or []), error=error,
                attempts=attempts, failed_at=datetime.now(UTC)))


_redis_clients: dict[str, redis.Redis] = {}


def _redis(ctx: ServiceContext) -> redis.Redis:
    url = ctx.settings.redis_url
    if url not in _redis_clients:
        _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=5,
                                                   socket_connect_timeout=5)
    return _redis_clients[url]


def transport_options(s: Settings) -> dict[str, Any]:
    """Redis transport options: how soon a task whose worker died is handed out again."""
    lease = s.task_lease_seconds
    return {
        # Live workers renew the leases of what they hold (`shared.task_leases`), so this can
        # be short: it is how long a dead worker's tasks stay out of reach.
        "visibility_timeout": lease,
        # Look for lapsed leases every few seconds (kombu's default is every 100 s); the scan
        # is one ZRANGE, and only deliveries whose lease lapsed are taken back.
        "unacked_restore_interval": max(1, min(10, lease // 3)),
        "unacked_restore_throttle": 1,
        # The scan runs under a Redis lock shared by every worker, which lives 300 s by
        # default: a worker killed while holding it stops all restores for five minutes. The
        # scan takes milliseconds, so let the lock lapse within half a lease.
        "unacked_mutex_expire": max(5, min(300, lease // 2)),
    }


def make_celery(ctx: ServiceContext) -> Celery:
    """The Celery app of one service, with its generic `<service>.handle_event` task."""
    s = ctx.settings
    transport = transport_options(s)
    app = Celery(f"dossier-{ctx.name}", broker=s.redis_url, set_as_current=False)
    app.conf.update(
        task_default_queue=ctx.name,
        task_routes=(route_task,),
        task_create_missing_queues=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        # A task that runs away (a hostile file, a hung peer) is stopped, not waited for; the
        # soft limit raises inside the task so it ends as a dead letter with its reason.
        task_soft_time_limit=s.task_time_limit,
        task_time_limit=s.task_time_limit + 30,
        worker_max_memory_per_child=s.worker_max_memory_mb * 1024,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        visibility_timeout=s.task_lease_seconds,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_soft_shutdown_timeout=10.0,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
        enable_utc=True,
        timezone="Asia/Shanghai",
    )

    class BoundTask(DossierTask):
        abstract = True

    BoundTask.ctx = ctx
    BoundTask.max_retries = s.task_max_retries
    app.Task = BoundTask  # type: ignore[misc]

    @app.task(name=f"{ctx.name}.handle_event", bind=True)
    def handle_event(self: Task[Any, Any], envelope: dict[str, Any]) -> bool:
        return ctx.inbox.handle(ctx.db, envelope)

    _wire_worker_signals(app, ctx)
    return app


def _wire_worker_signals(app: Celery, ctx: ServiceContext) -> None:
    threads: dict[str, OutboxRelay | LeaseKeeper | AnchorTimer] = {}

    @signals.worker_ready.connect(weak=False)
    def start_threads(sender: Any = None, **_: Any) -> None:
        # All live in the worker's main process, which holds the deliveries (the pool
        # children only run them) and outlives any one child.
        threads["relay"] = OutboxRelay(ctx.outbox, ctx.db, app,
                                       ctx.settings.outbox_poll_seconds)
        threads["leases"] = LeaseKeeper(_redis(ctx), ctx.settings.task_lease_seconds)
        every = ctx.settings.audit_anchor_seconds
        if every > 0:
            # In the worker, not Celery beat: every service has a worker, only notify a beat.
            threads["anchors"] = AnchorTimer(lambda known: write_anchor(
                ctx.db, ctx.audit, ctx.store, ctx.name,
                ctx.settings.audit_anchor_retention_days, known=known), every, ctx.name)
        for thread in threads.values():
            thread.start()

    @signals.worker_shutdown.connect(weak=False)
    def stop_threads(sender: Any = None, **_: Any) -> None:
        for thread in threads.values():
            thread.stop()

    @signals.heartbeat_sent.connect(weak=False)
    def touch_heartbeat(sender: Any = None, **_: Any) -> None:
        # Sent every 2 s by the consumer's own event loop while it is connected and consuming:
        # a stuck consumer or a lost broker stops it, unlike a side thread would.
        heartbeat_path(ctx.name).touch()

    @signals.worker_process_init.connect(weak=False)
    def fresh_connections(**_: Any) -> None:
        # A forked child must not reuse the parent's sockets.
        ctx.db.dispose()
        _redis_clients.clear()


@functools.lru_cache(maxsize=4)
def task_sender(broker_url: str) -> Celery:
    """A client that sends tasks by name (`<service>.<verb>` to that service's queue), for web
    processes that ask a worker for work without importing its code."""
    app = Celery("dossier-sender", broker=broker_url, set_as_current=False)
    app.conf.update(task_routes=(route_task,), task_serializer="json")
    return app
