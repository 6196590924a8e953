"""Append-only, hash-chained audit log.

Each record's hash covers its content and the previous record's hash, so changing or removing
any record breaks every hash after it; `verify` finds the first break. The table also refuses
UPDATE and DELETE at the database level (triggers installed by each service's migration).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

GENESIS = "0" * 64


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode("utf-8")


def record_hash(prev_hash: str, seq: int, at: str, actor: str, role: str, action: str,
                target: str, detail: dict[str, Any]) -> str:
    body = {"seq": seq, "at": at, "actor": actor, "role": role, "action": action,
            "target": target, "detail": detail, "prev": prev_hash}
    return hashlib.sha256(_canonical(body)).hexdigest()


def _iso(at: datetime) -> str:
    # SQLite gives naive datetimes back; everything we store is UTC, so say so explicitly.
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str = ""


class AuditLog:
    """Writes and checks one service's audit table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def append(self, session: Session, *, actor: str, role: str, action: str, target: str,
               detail: dict[str, Any] | None = None, at: datetime | None = None) -> str:
        """Add a record inside the caller's transaction; returns its hash."""
        if session.get_bind().dialect.name == "postgresql":
            # One writer at a time per chain; released at commit or rollback.
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                            {"k": f"audit:{self.table.name}"})
        last = session.execute(
            select(self.table.c.seq, self.table.c.hash).order_by(self.table.c.seq.desc()).limit(1)
        ).first()
        seq = (last.seq + 1) if last else 1
        prev = last.hash if last else GENESIS
        # Stored in UTC: SQLite drops the offset, so any other zone would not verify later.
        when = (at or datetime.now(UTC)).astimezone(UTC)
        clean = json.loads(_canonical(detail or {}))
        digest = record_hash(prev, seq, _iso(when), actor, role, action, target, clean)
        session.execute(self.table.insert().values(
            seq=seq, at=when, actor=actor, role=role, action=action, target=target,
            detail=clean, prev_hash=prev, hash=digest,
        ))
        return digest

    def verify(self, session: Session) -> ChainCheck:
        prev = GENESIS
        count = 0
        rows = session.execute(select(self.table).order_by(self.table.c.seq))
        for expected_seq, row in enumerate(rows, start=1):
            count += 1
            if row.seq != expected_seq:
                return ChainCheck(False, count, row.seq, f"sequence gap before {row.seq}")
            if row.prev_hash != prev:
                return ChainCheck(False, count, row.seq, "previous hash does not match")
            digest = record_hash(prev, row.seq, _iso(row.at), row.actor, row.role, row.action,
                                 row.target, row.detail)
            if digest != row.hash:
                return ChainCheck(False, count, row.seq, "record content does not match its hash")
            prev = row.hash
        return ChainCheck(True, count)


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
