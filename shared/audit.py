"""Append-only audit log with a keyed hash chain.

Each record's hash is an HMAC-SHA256, under the audit key, over its content and the previous
record's hash: changing or removing any record breaks every hash after it, and whoever can write
the database but does not hold the key cannot compute a chain that verifies again (a plain
SHA-256 chain, as kept until 2026-12, could simply be recomputed after an edit). The table also
refuses UPDATE and DELETE at the database level (triggers installed by each service's migration).

What no chain can show by itself is a tail cut off, or a rewrite by someone holding the key:
anchors of the head kept under compliance retention in the object store
(`shared.audit_anchors`) show both. `check_rows` walks the chain and the anchors together and
names the first bad record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, Table, select, text
from sqlalchemy.orm import Session

from shared.crypto import derive_key
from shared.textsearch import contains_text

GENESIS = "0" * 64


def canonical(record: dict[str, Any]) -> bytes:
    """The one byte form a record or an anchor is hashed in."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode("utf-8")


class AuditKey:
    """The audit key's sub-keys (records, anchors) and its public fingerprint."""

    def __init__(self, secret: str) -> None:
        self.records = derive_key(secret, "audit:records")
        self.anchors = derive_key(secret, "audit:anchors")
        # One-way, so safe to write into anchors: a check under another key can say so.
        self.key_id = hmac.new(derive_key(secret, "audit:key-id"), b"key-id",
                               hashlib.sha256).hexdigest()[:16]

    def sign(self, body: dict[str, Any]) -> str:
        return hmac.new(self.anchors, canonical(body), hashlib.sha256).hexdigest()


def record_hash(key: bytes | None, prev_hash: str, seq: int, at: str, actor: str, role: str,
                action: str, target: str, detail: dict[str, Any]) -> str:
    """The record's HMAC-SHA256 under `key`. `key=None` gives the unkeyed SHA-256 of records
    written before the chain was keyed; only the migration that re-signs them uses it."""
    body = canonical({"seq": seq, "at": at, "actor": actor, "role": role, "action": action,
                      "target": target, "detail": detail, "prev": prev_hash})
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def iso(at: datetime) -> str:
    # SQLite gives naive datetimes back; everything we store is UTC, so say so explicitly.
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AnchorRef:
    """What one anchor in the object store says: record `seq` had hash `hash` at `at`."""

    seq: int
    hash: str
    at: str
    object_key: str
    version_id: str | None = None


# Why a chain is not intact, in English for logs and the command line; the audit page shows
# the same sentences from its catalogue (zh-CN first). Placeholders: seq, anchored, at.
PROBLEMS: dict[str, str] = {
    "gap": "a record before it is missing (the numbers jump)",
    "previous": "previous hash does not match: the record before it was changed or removed",
    "content": "record content does not match its keyed hash: it was edited, or hashed "
               "without the audit key",
    "anchor": "the record differs from the anchor written at %(at)s: the chain was rewritten "
              "after that anchor",
    "truncated": "records are missing from here on: the anchor written at %(at)s names "
                 "record %(anchored)s",
    "anchor_forged": "the anchor naming record %(anchored)s is not signed with this audit key: "
                     "someone else wrote into the anchor folder",
    "anchors_unreadable": "the anchors could not be read from the object store, so a cut-off "
                          "tail cannot be ruled out",
}


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str = ""
    problem: str = ""  # a key of PROBLEMS, "" when intact
    anchors: int = 0  # anchors the chain was compared with
    anchor: AnchorRef | None = None  # the furthest anchor (intact), or the one in question

    @classmethod
    def broken(cls, records: int, seq: int | None, problem: str,
               anchor: AnchorRef | None = None, anchors: int = 0) -> ChainCheck:
        params = {"seq": seq, "anchored": anchor.seq if anchor else "", "at":
                  anchor.at if anchor else ""}
        return cls(False, records, seq, PROBLEMS[problem] % params, problem, anchors, anchor)


def check_rows(rows: Iterable[Any], key: bytes | None,
               anchors: Sequence[AnchorRef] = ()) -> ChainCheck:
    """Walk records in `seq` order: numbers without gaps, each linked to and hashed over the one
    before, and equal to every anchor naming it; anchors past the last record mean a cut tail."""
    pending = sorted(anchors, key=lambda a: a.seq)
    next_anchor = 0
    prev = GENESIS
    count = 0
    for expected_seq, row in enumerate(rows, start=1):
        count += 1
        if row.seq != expected_seq:
            return ChainCheck.broken(count, row.seq, "gap")
        if row.prev_hash != prev:
            return ChainCheck.broken(count, row.seq, "previous")
        digest = record_hash(key, prev, row.seq, iso(row.at), row.actor, row.role, row.action,
                             row.target, row.detail)
        if not hmac.compare_digest(digest, row.hash):
            return ChainCheck.broken(count, row.seq, "content")
        while next_anchor < len(pending) and pending[next_anchor].seq <= row.seq:
            anchor = pending[next_anchor]
            next_anchor += 1
            if anchor.seq == row.seq and anchor.hash != row.hash:
                return ChainCheck.broken(count, row.seq, "anchor", anchor, len(pending))
        prev = row.hash
    if next_anchor < len(pending):
        return ChainCheck.broken(count, count + 1, "truncated", pending[-1], len(pending))
    return ChainCheck(True, count, anchors=len(pending),
                      anchor=pending[-1] if pending else None)


@dataclass(frozen=True)
class Head:
    """The last record of a chain."""

    seq: int
    hash: str


class AuditLog:
    """Writes and checks one service's audit table."""

    def __init__(self, table: Table, key: AuditKey) -> None:
        self.table = table
        self.key = key

    def append(self, session: Session, *, actor: str, role: str, action: str, target: str,
               detail: dict[str, Any] | None = None, at: datetime | None = None) -> str:
        """Add a record inside the caller's transaction; returns its hash."""
        if session.get_bind().dialect.name == "postgresql":
            # One writer at a time per chain; released at commit or rollback.
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                            {"k": f"audit:{self.table.name}"})
        last = self.head(session)
        seq = (last.seq + 1) if last else 1
        prev = last.hash if last else GENESIS
        # Stored in UTC: SQLite drops the offset, so any other zone would not verify later.
        when = (at or datetime.now(UTC)).astimezone(UTC)
        clean = json.loads(canonical(detail or {}))
        digest = record_hash(self.key.records, prev, seq, iso(when), actor, role, action,
                             target, clean)
        session.execute(self.table.insert().values(
            seq=seq, at=when, actor=actor, role=role, action=action, target=target,
            detail=clean, prev_hash=prev, hash=digest,
        ))
        return digest

    def head(self, session: Session) -> Head | None:
        last = session.execute(
            select(self.table.c.seq, self.table.c.hash).order_by(self.table.c.seq.desc()).limit(1)
        ).first()
        return Head(last.seq, last.hash) if last else None

    def verify(self, session: Session, anchors: Sequence[AnchorRef] = ()) -> ChainCheck:
        """The chain under this key, compared with `anchors` (read from the object store
        before this session began, so none can name a record the session cannot see)."""
        rows = session.execute(select(self.table).order_by(self.table.c.seq))
        return check_rows(rows, self.key.records, anchors)


def append_only_ddl(dialect: str, table: str = "audit_log") -> list[str]:
    """DDL that makes the database itself refuse UPDATE and DELETE on the audit table."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END",
        ]
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION dossier_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION dossier_append_only()",
        ]
    return []


def drop_append_only_ddl(dialect: str, table: str = "audit_log") -> list[str]:
    """The reverse of `append_only_ddl`, for a migration that must re-sign records."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update",
                f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"]
    return []


def records_query(table: Table, filters: Mapping[str, str | None], *,
                  exact: bool) -> Select[Any]:
    """Records newest first, filtered by actor, action or target: the API matches a value
    exactly (a client passes the code it has), the audit page by words a person typed."""
    query = select(table).order_by(table.c.seq.desc())
    for name in ("actor", "action", "target"):
        value = filters.get(name)
        if value:
            query = query.where(table.c[name] == value if exact
                                else contains_text(value, table.c[name]))
    return query
