"""The keyed audit chain and its anchors, against someone who can write the database.

Every tamper below goes past the append-only triggers the way a person with the database file or
a database login could (dropping them), on SQLite and on the real PostgreSQL; anchors go to the
real S3 server (SeaweedFS) started by the session's `backing` fixture.
"""

from __future__ import annotations

import io
import json
import secrets
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, select, text, update
from sqlalchemy.exc import DBAPIError

from dossier.localstack import BackingServers
from shared.audit import (
    PROBLEMS,
    AuditKey,
    AuditLog,
    ChainCheck,
    append_only_ddl,
    canonical,
    check_rows,
    drop_append_only_ddl,
    iso,
    record_hash,
)
from shared.audit_anchors import anchor_name, check_chain, list_anchors, write_anchor
from shared.config import load_settings
from shared.db import Database, service_metadata
from shared.migrations import upgrade
from shared.storage import ObjectLocked, ObjectStore, S3ObjectStore
from shared.web.i18n import LOCALES, SHARED_DIR, load_catalogue

KEY = AuditKey("audit-chain-test-" + "k" * 32)
SERVICE = "notify"
DIALECTS = ("sqlite", "postgresql")

Chain = tuple[Database, AuditLog]


@pytest.fixture(scope="module")
def store(backing: BackingServers) -> ObjectStore:
    built = S3ObjectStore(backing.s3_endpoint, backing.access_key, backing.secret_key,
                          f"audit-{secrets.token_hex(6)}")
    built.ensure_bucket()
    return built


@pytest.fixture(params=DIALECTS)
def chain(request: pytest.FixtureRequest, new_database_url: Callable[[str, str], str],
          open_database: Callable[[str], Database]) -> Chain:
    """An audit table as the migrations leave it (append-only triggers on), empty."""
    db = open_database(new_database_url(str(request.param), "audit"))
    metadata = service_metadata()
    metadata.create_all(db.engine)
    with db.engine.begin() as conn:
        for statement in append_only_ddl(db.dialect):
            conn.exec_driver_sql(statement)
    return db, AuditLog(metadata.tables["audit_log"], KEY)


@pytest.fixture
def service() -> str:
    """A service name of this test's own, so anchors of different tests never meet."""
    return f"svc{secrets.token_hex(4)}"


def append(db: Database, audit: AuditLog, n: int) -> None:
    for i in range(n):
        with db.session() as session:
            audit.append(session, actor="op-1", role="operator", action="thing.done",
                         target=f"t-{i}", detail={"i": i, "说明": "中文细节"})


def past_the_triggers(db: Database, *statements: str, **params: Any) -> None:
    """What a database login can do: drop the append-only triggers, then change the table."""
    with db.engine.begin() as conn:
        for statement in drop_append_only_ddl(db.dialect):
            conn.exec_driver_sql(statement)
        for statement in statements:
            conn.execute(text(statement), params)


def recompute(db: Database, table: Table, key: bytes | None) -> None:
    """Re-hash the whole chain as it now stands, with `key` (None: plain SHA-256)."""
    past_the_triggers(db)
    with db.engine.begin() as conn:
        prev = "0" * 64
        for row in conn.execute(select(table).order_by(table.c.seq)).all():
            digest = record_hash(key, prev, row.seq, iso(row.at), row.actor, row.role,
                                 row.action, row.target, row.detail)
            conn.execute(update(table).where(table.c.seq == row.seq)
                         .values(prev_hash=prev, hash=digest))
            prev = digest


def verdict(chain: Chain, store: ObjectStore, service: str) -> ChainCheck:
    db, audit = chain
    return check_chain(db, audit, store, service)


def test_an_untouched_chain_agrees_with_its_anchors(chain: Chain, store: ObjectStore,
                                                      service: str) -> None:
    db, audit = chain
    append(db, audit, 3)
    first = write_anchor(db, audit, store, service, 1)
    append(db, audit, 2)
    second = write_anchor(db, audit, store, service, 1)
    assert first is not None and second is not None
    assert (first.seq, second.seq) == (3, 5)

    check = verdict(chain, store, service)
    assert check.ok, check.reason
    assert (check.records, check.anchors, check.anchor.seq if check.anchor else None) == (5, 2, 5)


def test_an_edited_record_is_caught_by_its_keyed_hash(chain: Chain, store: ObjectStore,
                                                       service: str) -> None:
    db, audit = chain
    append(db, audit, 4)
    past_the_triggers(db, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")

    check = verdict(chain, store, service)
    assert not check.ok
    assert (check.first_bad_seq, check.problem) == (2, "content")


def test_an_edit_made_in_the_sqlite_file_itself_is_caught(
        new_database_url: Callable[[str, str], str],
        open_database: Callable[[str], Database], store: ObjectStore, service: str) -> None:
    url = new_database_url("sqlite", "file")
    db = open_database(url)
    metadata = service_metadata()
    metadata.create_all(db.engine)
    with db.engine.begin() as conn:
        for statement in append_only_ddl("sqlite"):
            conn.exec_driver_sql(statement)
    audit = AuditLog(metadata.tables["audit_log"], KEY)
    append(db, audit, 3)
    db.engine.dispose()

    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as raw:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("UPDATE audit_log SET target = 'x' WHERE seq = 3")
        raw.execute("DROP TRIGGER audit_log_no_update")
        raw.execute("UPDATE audit_log SET detail = '{\"i\": 99}' WHERE seq = 3")
        raw.commit()

    check = check_chain(db, audit, store, service)
    assert (check.ok, check.first_bad_seq, check.problem) == (False, 3, "content")


def test_an_edit_with_the_whole_chain_recomputed_in_plain_sha256_is_caught(
        chain: Chain, store: ObjectStore, service: str) -> None:
    db, audit = chain
    append(db, audit, 4)
    past_the_triggers(db, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
    recompute(db, audit.table, None)
    with db.reader() as session:  # the unkeyed check of before is satisfied
        assert check_rows(session.execute(select(audit.table).order_by(audit.table.c.seq)),
                          None).ok

    check = verdict(chain, store, service)
    assert not check.ok
    assert (check.first_bad_seq, check.problem) == (1, "content")
    assert "without the audit key" in check.reason


def test_an_edit_with_the_whole_chain_recomputed_under_another_key_is_caught(
        chain: Chain, store: ObjectStore, service: str) -> None:
    db, audit = chain
    append(db, audit, 4)
    past_the_triggers(db, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3")
    recompute(db, audit.table, AuditKey("a-guessed-key-" + "g" * 32).records)

    check = verdict(chain, store, service)
    assert (check.ok, check.first_bad_seq, check.problem) == (False, 1, "content")


def test_a_tail_deleted_after_an_anchor_is_caught(chain: Chain, store: ObjectStore,
                                                   service: str) -> None:
    db, audit = chain
    append(db, audit, 5)
    anchored = write_anchor(db, audit, store, service, 1)
    assert anchored is not None and anchored.seq == 5
    append(db, audit, 1)
    past_the_triggers(db, "DELETE FROM audit_log WHERE seq >= 4")
    with db.reader() as session:
        assert audit.verify(session).ok  # the chain alone cannot tell: a prefix is a chain

    check = verdict(chain, store, service)
    assert not check.ok
    assert (check.first_bad_seq, check.problem, check.records) == (4, "truncated", 3)
    assert check.anchor is not None and check.anchor.seq == 5
    assert "names record 5" in check.reason

    # Writing on after the cut reuses the numbers; the anchor still disagrees.
    append(db, audit, 3)
    check = verdict(chain, store, service)
    assert (check.ok, check.first_bad_seq, check.problem) == (False, 5, "anchor")


def test_a_chain_rewritten_by_someone_holding_the_key_differs_from_its_anchor(
        chain: Chain, store: ObjectStore, service: str) -> None:
    db, audit = chain
    append(db, audit, 3)
    write_anchor(db, audit, store, service, 1)
    append(db, audit, 2)
    past_the_triggers(db, "UPDATE audit_log SET target = 'rewritten' WHERE seq = 2")
    recompute(db, audit.table, KEY.records)
    with db.reader() as session:
        assert audit.verify(session).ok

    check = verdict(chain, store, service)
    assert (check.ok, check.first_bad_seq, check.problem) == (False, 3, "anchor")


def test_anchors_are_signed_and_kept_under_compliance_retention(
        chain: Chain, store: ObjectStore, service: str) -> None:
    db, audit = chain
    assert write_anchor(db, audit, store, service, 30) is None  # nothing to anchor yet
    append(db, audit, 2)
    anchored = write_anchor(db, audit, store, service, 30)
    assert anchored is not None
    assert anchored.object_key == anchor_name(service, 2, anchored.hash)
    # The same head again is the same anchor: no second object.
    again = write_anchor(db, audit, store, service, 30)
    assert again is not None and again.version_id == anchored.version_id
    assert len(store.versions(anchored.object_key)) == 1

    body = json.loads(store.read(anchored.object_key))
    mac = body.pop("mac")
    assert mac == KEY.sign(body)
    assert (body["service"], body["seq"], body["key_id"]) == (service, 2, KEY.key_id)
    until = store.retained_until(anchored.object_key, anchored.version_id)
    assert until is not None and until > datetime.now(UTC) + timedelta(days=29)
    with pytest.raises(ObjectLocked):
        store.delete(anchored.object_key, anchored.version_id)

    # A plain delete only adds a marker; the check still finds the anchor and the cut tail.
    store.delete(anchored.object_key)
    assert [a.seq for a in list_anchors(store, service)] == [2]
    past_the_triggers(db, "DELETE FROM audit_log WHERE seq = 2")
    check = verdict(chain, store, service)
    assert (check.first_bad_seq, check.problem) == (2, "truncated")


def test_an_anchor_written_without_the_key_is_named_as_forged(
        chain: Chain, store: ObjectStore, service: str) -> None:
    db, audit = chain
    append(db, audit, 2)
    write_anchor(db, audit, store, service, 1)
    other = AuditKey("not-the-audit-key-" + "n" * 32)
    body = {"service": service, "seq": 9, "hash": "f" * 64, "at": iso(datetime.now(UTC)),
            "key_id": other.key_id}
    data = canonical({**body, "mac": other.sign(body)})
    store.put(anchor_name(service, 9, "f" * 64), io.BytesIO(data), length=len(data))

    check = verdict(chain, store, service)
    assert (check.ok, check.problem) == (False, "anchor_forged")
    assert "record 9" in check.reason


def test_a_store_that_cannot_be_read_leaves_the_chain_unconfirmed(
        chain: Chain, backing: BackingServers, service: str) -> None:
    db, audit = chain
    append(db, audit, 2)
    refused = S3ObjectStore(backing.s3_endpoint, backing.access_key, "wrong-secret",
                            f"audit-{secrets.token_hex(6)}")

    check = check_chain(db, audit, refused, service)
    assert (check.ok, check.first_bad_seq, check.problem) == (False, None, "anchors_unreadable")
    assert check.records == 2


def test_every_reason_has_its_chinese_words() -> None:
    catalogue = load_catalogue([SHARED_DIR], LOCALES["zh-CN"])
    untranslated = [text for text in PROBLEMS.values() if catalogue.gettext(text) == text]
    assert untranslated == []


# -- the migration that keys the chain -------------------------------------------------------

BEFORE_KEYED = "a0e1fa1d71f9"  # notify's revision before 0003_keyed_audit_chain


def _plain_records(db: Database, table: Table, n: int, edit_seq: int | None = None) -> None:
    """Records as the unkeyed chain wrote them (plain SHA-256), one perhaps edited after."""
    prev = "0" * 64
    with db.engine.begin() as conn:
        for seq in range(1, n + 1):
            at = datetime(2026, 11, 1, 8, seq, tzinfo=UTC)
            detail = {"i": seq}
            digest = record_hash(None, prev, seq, iso(at), "op-1", "operator", "thing.done",
                                 f"t-{seq}", detail)
            if seq == edit_seq:
                detail = {"i": 99}
            conn.execute(table.insert().values(seq=seq, at=at, actor="op-1", role="operator",
                                               action="thing.done", target=f"t-{seq}",
                                               detail=detail, prev_hash=prev, hash=digest))
            prev = digest


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_migration_re_signs_the_records_of_the_plain_chain_with_the_key(
        dialect: str, new_database_url: Callable[[str, str], str],
        open_database: Callable[[str], Database], tmp_path: Any) -> None:
    url = new_database_url(dialect, "resign")
    settings = load_settings({"DOSSIER_DATA_DIR": str(tmp_path), "DOSSIER_SECRET_KEY": "s" * 32,
                              "DOSSIER_S3_ACCESS_KEY": "a", "DOSSIER_S3_SECRET_KEY": "b",
                              "DOSSIER_NOTIFY_DATABASE_URL": url})
    upgrade(SERVICE, settings, BEFORE_KEYED)
    db = open_database(url)
    table = service_metadata().tables["audit_log"]
    _plain_records(db, table, 3)

    upgrade(SERVICE, settings)

    audit = AuditLog(table, AuditKey(settings.audit_secret()))
    with db.reader() as session:
        check = audit.verify(session)
    assert check.ok, check.reason
    assert check.records == 3
    # The triggers are back: the table is append-only again.
    with pytest.raises(DBAPIError, match="append-only"), db.session() as session:
        session.execute(update(table).where(table.c.seq == 1).values(actor="x"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_migration_refuses_to_re_sign_a_plain_chain_that_was_already_edited(
        dialect: str, new_database_url: Callable[[str, str], str],
        open_database: Callable[[str], Database], tmp_path: Any) -> None:
    url = new_database_url(dialect, "refuse")
    settings = load_settings({"DOSSIER_DATA_DIR": str(tmp_path), "DOSSIER_SECRET_KEY": "s" * 32,
                              "DOSSIER_S3_ACCESS_KEY": "a", "DOSSIER_S3_SECRET_KEY": "b",
                              "DOSSIER_NOTIFY_DATABASE_URL": url})
    upgrade(SERVICE, settings, BEFORE_KEYED)
    db = open_database(url)
    _plain_records(db, service_metadata().tables["audit_log"], 3, edit_seq=2)

    with pytest.raises(RuntimeError, match="refusing to re-sign"):
        upgrade(SERVICE, settings)
