"""SQLAlchemy 2 engine and sessions, one database per service.

SQLite is the embedded default and PostgreSQL the production database; both are exercised by the
tests. Each service declares its tables on its own `MetaData` (see `service_metadata`), which
also carries the tables every service has: outbox, processed events, audit log, dead letters.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")

# Stable constraint names make migrations reproducible on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL but INTEGER on SQLite, where only INTEGER PRIMARY KEY autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def service_metadata() -> MetaData:
    """A fresh MetaData holding the tables every service shares in shape (not in data)."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    Table(
        "outbox",
        metadata,
        Column("seq", BigId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(80), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True, index=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
    )
    Table(
        "processed_events",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("type", String(80), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "audit_log",
        metadata,
        Column("seq", BigId, primary_key=True, autoincrement=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor", String(120), nullable=False),
        Column("role", String(20), nullable=False),
        Column("action", String(80), nullable=False),
        Column("target", String(200), nullable=False),
        Column("detail", JSON, nullable=False),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False, unique=True),
    )
    Table(
        "dead_letters",
        metadata,
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("task_id", String(64), nullable=False, index=True),
        Column("task_name", String(120), nullable=False),
        Column("args", JSON, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("failed_at", DateTime(timezone=True), nullable=False),
        Column("retried_at", DateTime(timezone=True), nullable=True),
    )
    return metadata


BUSY_TIMEOUT_MS = 10_000
LOCKED_RETRIES = 3  # attempts of a whole transaction that SQLite refused as locked


def is_locked(exc: BaseException) -> bool:
    """SQLite's 'database is locked' / 'database table is locked' (SQLITE_BUSY, SQLITE_LOCKED)."""
    return (isinstance(exc, OperationalError)
            and "is locked" in str(getattr(exc, "orig", exc)))


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" hook below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # web and worker processes share the file
        # A writer waits this long for the lock. Transactions are short (no transaction spans
        # slow work, see docs/events.md), so a longer wait means a stuck holder: give up and
        # let `Database.transact` retry the whole transaction instead.
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front (IMMEDIATE): a deferred transaction that reads and then
        # writes can fail at once with SQLITE_BUSY instead of waiting its turn. Readers stay
        # deferred so that, under WAL, they never wait for a writer.
        readonly = conn.get_execution_options().get("dossier_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    """Engine + session factory for one service."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False,
                                      "timeout": BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.engine = create_engine(url, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _sqlite_pragmas(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(dossier_readonly=True),
                                     expire_on_commit=False)

    @property
    def factories(self) -> tuple[sessionmaker[Session], ...]:
        return (self._sessions, self._readers)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def transact(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one short writer transaction and commit it; the one place that
        retries a whole transaction SQLite refused as locked (bounded: LOCKED_RETRIES)."""
        for attempt in range(1, LOCKED_RETRIES + 1):
            try:
                with self.session() as session:
                    return work(session)
            except OperationalError as exc:
                if not is_locked(exc) or attempt == LOCKED_RETRIES:
                    raise
                log.warning("database locked; retrying the transaction (%d/%d)", attempt,
                            LOCKED_RETRIES)
                time.sleep(0.05 * attempt * (1 + random.random()))  # noqa: S311 (jitter)
        raise AssertionError("unreachable")

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only unit of work: never takes a write lock; nothing is committed.

        close() hands the connection back (the pool rolls it back) and detaches the objects
        with their loaded state, so views can serialise them after the block.
        """
        session = self._readers()
        try:
            yield session
        finally:
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Drop pooled connections, e.g. in a child after fork (sockets must not be shared)."""
        self.engine.dispose(close=False)
