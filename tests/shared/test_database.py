"""Migrations, the append-only audit log and its hash chain, on SQLite and on real PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from importlib import import_module
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, delete, func, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.audit import AuditKey, AuditLog, record_hash
from shared.config import SERVICES, load_settings
from shared.db import LOCKED_RETRIES, Database, service_metadata
from shared.migrations import upgrade

DIALECTS = ("sqlite", "postgresql")
KEY = AuditKey("audit-test-" + "k" * 32)

OpenDatabase = Callable[[str], Database]


def models_metadata(service: str) -> MetaData:
    return import_module(f"services.{service}.models").metadata


@pytest.fixture(scope="module", params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def migrated(dialect: str, new_database_url: Callable[[str, str], str],
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One freshly migrated database per service for `dialect`: service → URL."""
    urls = {service: new_database_url(dialect, f"mig_{service}") for service in SERVICES}
    env = {
        "DOSSIER_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "DOSSIER_SECRET_KEY": "test-secret-" + "x" * 32,
        "DOSSIER_S3_ACCESS_KEY": "test-access",
        "DOSSIER_S3_SECRET_KEY": "test-s3-secret",
        **{f"DOSSIER_{service.upper()}_DATABASE_URL": url for service, url in urls.items()},
    }
    settings = load_settings(env)
    for service in SERVICES:
        assert settings.database_url(service) == urls[service]
        upgrade(service, settings)
    return urls


@pytest.fixture
def fresh(dialect: str, new_database_url: Callable[[str, str], str],
          open_database: OpenDatabase) -> tuple[Database, AuditLog]:
    """An empty database with the shared tables made by `create_all`: no migration, so no
    append-only triggers, which is what a tamper test needs."""
    db = open_database(new_database_url(dialect, "chain"))
    metadata = service_metadata()
    metadata.create_all(db.engine)
    return db, AuditLog(metadata.tables["audit_log"], KEY)


def _append(db: Database, audit: AuditLog, n: int, actor: str = "u-1") -> None:
    for i in range(n):
        with db.session() as session:
            audit.append(session, actor=actor, role="operator", action="thing.done",
                         target=f"t-{i}", detail={"i": i, "说明": "中文细节"})


@pytest.mark.parametrize("service", SERVICES)
def test_migrations_build_exactly_the_schema_the_models_declare(
        migrated: dict[str, str], service: str, dialect: str) -> None:
    engine = create_engine(migrated[service])
    try:
        with engine.connect() as conn:
            assert conn.dialect.name == dialect
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, models_metadata(service))
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    # Guard against a vacuous comparison: the declared tables are really there.
    assert set(models_metadata(service).tables) <= tables
    assert {"outbox", "processed_events", "audit_log", "dead_letters", "alembic_version"} <= tables


@pytest.mark.parametrize("service", SERVICES)
def test_migrating_an_up_to_date_database_again_changes_nothing(
        migrated: dict[str, str], service: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    env = {"DOSSIER_DATA_DIR": str(tmp_path_factory.mktemp("again")),
           "DOSSIER_SECRET_KEY": "s" * 32, "DOSSIER_S3_ACCESS_KEY": "a",
           "DOSSIER_S3_SECRET_KEY": "b",
           f"DOSSIER_{service.upper()}_DATABASE_URL": migrated[service]}
    upgrade(service, load_settings(env))
    engine = create_engine(migrated[service])
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    assert len(heads) == 1


@pytest.mark.parametrize("service", SERVICES)
def test_appended_audit_records_form_a_chain_that_verifies(
        migrated: dict[str, str], service: str, open_database: OpenDatabase) -> None:
    db = open_database(migrated[service])
    audit = AuditLog(models_metadata(service).tables["audit_log"], KEY)
    with db.session() as session:
        before = audit.verify(session)
    assert before.ok

    _append(db, audit, 3)

    with db.session() as session:
        check = audit.verify(session)
        rows = session.execute(select(audit.table).order_by(audit.table.c.seq)).all()
    assert check.ok, check.reason
    assert check.records == before.records + 3 == len(rows)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-1].detail == {"i": 2, "说明": "中文细节"}
    assert all(r.prev_hash == p.hash for p, r in pairwise(rows))


@pytest.mark.parametrize("service", SERVICES)
def test_the_migrated_database_refuses_to_update_or_delete_audit_records(
        migrated: dict[str, str], service: str, open_database: OpenDatabase) -> None:
    db = open_database(migrated[service])
    table = models_metadata(service).tables["audit_log"]
    _append(db, AuditLog(table, KEY), 1, actor="guarded")
    with db.session() as session:
        target = session.execute(select(table).order_by(table.c.seq.desc()).limit(1)).one()

    with pytest.raises(DBAPIError, match="append-only"), db.session() as session:
        session.execute(update(table).where(table.c.seq == target.seq)
                        .values(detail={"rewritten": True}))
    with pytest.raises(DBAPIError, match="append-only"), db.session() as session:
        session.execute(delete(table).where(table.c.seq == target.seq))

    with db.session() as session:
        after = session.execute(select(table).where(table.c.seq == target.seq)).one()
        assert AuditLog(table, KEY).verify(session).ok
    assert after.detail == target.detail
    assert after.hash == target.hash


def test_verify_names_the_first_record_whose_content_was_changed(
        fresh: tuple[Database, AuditLog]) -> None:
    db, audit = fresh
    _append(db, audit, 5)
    with db.session() as session:
        assert audit.verify(session).ok
        session.execute(update(audit.table).where(audit.table.c.seq == 3)
                        .values(detail={"i": 99}))

    with db.session() as session:
        check = audit.verify(session)
    assert not check.ok
    assert check.first_bad_seq == 3
    assert "content" in check.reason


def test_verify_names_the_record_after_one_that_was_rewritten_with_a_fresh_hash(
        fresh: tuple[Database, AuditLog]) -> None:
    db, audit = fresh
    _append(db, audit, 4)
    t = audit.table
    with db.session() as session:
        row = session.execute(select(t).where(t.c.seq == 2)).one()
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
        forged = record_hash(KEY.records, row.prev_hash, row.seq,
                             at.astimezone(UTC).isoformat(timespec="microseconds"),
                             row.actor, row.role, row.action, row.target, {"i": 99})
        session.execute(update(t).where(t.c.seq == 2).values(detail={"i": 99}, hash=forged))

    with db.session() as session:
        check = audit.verify(session)
    assert not check.ok
    assert check.first_bad_seq == 3
    assert "previous hash" in check.reason


def test_verify_notices_a_removed_record(fresh: tuple[Database, AuditLog]) -> None:
    db, audit = fresh
    _append(db, audit, 4)
    with db.session() as session:
        session.execute(delete(audit.table).where(audit.table.c.seq == 2))

    with db.session() as session:
        check = audit.verify(session)
    assert not check.ok
    assert check.first_bad_seq == 3


def test_a_record_stamped_in_another_time_zone_still_verifies(
        fresh: tuple[Database, AuditLog]) -> None:
    db, audit = fresh
    beijing = timezone(timedelta(hours=8))
    with db.session() as session:
        audit.append(session, actor="u-1", role="operator", action="thing.done", target="t",
                     detail={}, at=datetime(2026, 3, 2, 9, 30, tzinfo=beijing))

    with db.session() as session:
        check = audit.verify(session)
        stored = session.execute(select(audit.table.c.at)).scalar_one()
    assert check.ok, check.reason
    stored = stored if stored.tzinfo else stored.replace(tzinfo=UTC)
    assert stored == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_concurrent_appends_from_four_threads_make_one_valid_chain(
        fresh: tuple[Database, AuditLog]) -> None:
    db, audit = fresh
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(name: str) -> None:
        try:
            start.wait(timeout=30)
            _append(db, audit, 25, actor=name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"writer-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    with db.session() as session:
        check = audit.verify(session)
        seqs = session.execute(select(audit.table.c.seq).order_by(audit.table.c.seq)).scalars()
        seqs = list(seqs)
        actors = Counter(session.execute(select(audit.table.c.actor)).scalars())
        distinct_hashes = session.execute(
            select(func.count(func.distinct(audit.table.c.hash)))).scalar_one()
    assert check.ok, check.reason
    assert check.records == 100
    assert seqs == list(range(1, 101))
    assert distinct_hashes == 100
    assert actors == {f"writer-{n}": 25 for n in range(4)}


# -- SQLite's one write lock ----------------------------------------------------------------------

def _hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)  # a writer elsewhere, slower than the busy timeout
        other.execute("COMMIT")
    finally:
        other.close()


def test_transact_retries_a_whole_transaction_refused_as_locked_and_gives_up_when_bounded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.db.BUSY_TIMEOUT_MS", 300)
    path = tmp_path / "locked.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.session() as session:
            session.execute(text("CREATE TABLE t (n INTEGER)"))
        calls: list[int] = []

        def write(session: Any) -> int:
            calls.append(1)
            session.execute(text("INSERT INTO t VALUES (1)"))
            return len(calls)

        # Held a little longer than one busy timeout: a plain session fails, transact succeeds.
        taken = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(path, 0.45, taken))
        holder.start()
        assert taken.wait(5)
        with pytest.raises(OperationalError, match="locked"), db.session() as session:
            session.execute(text("INSERT INTO t VALUES (0)"))
        holder.join()
        taken.clear()
        holder = threading.Thread(target=_hold_write_lock, args=(path, 0.45, taken))
        holder.start()
        assert taken.wait(5)
        assert db.transact(write) >= 2
        holder.join()

        # Held for good: bounded, the last refusal is raised.
        calls.clear()
        taken.clear()
        holder = threading.Thread(target=_hold_write_lock, args=(path, 3.0, taken))
        holder.start()
        assert taken.wait(5)
        with pytest.raises(OperationalError, match="locked"):
            db.transact(write)
        assert len(calls) == LOCKED_RETRIES
        holder.join()
        with db.reader() as session:
            assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        db.engine.dispose()
