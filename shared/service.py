"""What one service has at run time, built once per process from settings.

Both halves of a service — its Flask app and its Celery worker — build the same context, so a
view and a task reach the database, the object store, the outbox and the audit log the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import redis
from sqlalchemy import MetaData

from shared import changes, clock, txnguard
from shared.account_states import AccountStates
from shared.audit import AuditKey, AuditLog
from shared.config import Settings, load_settings
from shared.db import Database
from shared.events import Inbox, Outbox
from shared.logs import configure as configure_logging
from shared.longpoll import ChangeFeed
from shared.pagecache import PageCache
from shared.storage import ObjectStore, S3ObjectStore
from shared.workdays import WorkCalendar


@dataclass
class ServiceContext:
    name: str
    settings: Settings
    metadata: MetaData
    inbox: Inbox = field(init=False)

    def __post_init__(self) -> None:
        self.inbox = Inbox(self.metadata)
        configure_logging(self.name, self.settings.log_level)
        clock.configure(self.settings.timezone)

    @classmethod
    def create(cls, name: str, metadata: MetaData, settings: Settings | None = None
               ) -> ServiceContext:
        return cls(name=name, settings=settings or load_settings(), metadata=metadata)

    @cached_property
    def db(self) -> Database:
        db = Database(self.settings.database_url(self.name))
        if self.settings.txn_guard:
            txnguard.install(db.engine, self.settings.data_dir / "txn-guard.jsonl")
        # Every commit, from a view or a task, moves the versions of what it wrote, so cached
        # pages built from it are not served again.
        changes.track(db.factories, self.page_cache.publish)
        return db

    @cached_property
    def redis(self) -> redis.Redis:
        """One client (and connection pool) per process for caches and sessions."""
        return redis.Redis.from_url(self.settings.redis_url, socket_timeout=5,
                                    socket_connect_timeout=5, decode_responses=True)

    @cached_property
    def account_states(self) -> AccountStates:
        """The accounts' standing every request is checked against (`shared.account_states`)."""
        return AccountStates(self.redis)

    @cached_property
    def page_cache(self) -> PageCache:
        # Its own client, answering bytes: kept pages are sent as Redis returns them.
        client = redis.Redis.from_url(self.settings.redis_url, socket_timeout=5,
                                      socket_connect_timeout=5)
        return PageCache(client, self.name, ttl=self.settings.page_cache_seconds)

    @cached_property
    def change_feed(self) -> ChangeFeed:
        """What requests waiting for a change (`shared.longpoll`) are woken by: the tags every
        commit publishes through `page_cache`."""
        return ChangeFeed(self.redis, self.name)

    @cached_property
    def store(self) -> ObjectStore:
        s = self.settings
        store = S3ObjectStore(s.s3_endpoint, s.s3_access_key, s.s3_secret_key, s.s3_bucket,
                              secure=s.s3_secure, region=s.s3_region,
                              public_url=s.s3_public_url)
        return txnguard.GuardedStore(store) if s.txn_guard else store

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.metadata, self.name)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.metadata.tables["audit_log"], AuditKey(self.settings.audit_secret()))

    @cached_property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar.default(self.settings.calendar_file)
