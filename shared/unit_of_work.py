"""One unit of work: what a domain action needs beside its command, handed over as one object.

An action (create an expert, record a conflict, …) changes rows, writes the events that change
causes and an audit record of who did it, all in one transaction. Threading the session, the
outbox, the audit log, the caller and the clock through every call by hand is how parameter
lists grew to ten; here they travel together. The API view, the page view and the Celery task
open one the same way (`open_work`), so the action cannot tell which of them called it.

No Flask or Celery here: `shared.http_work` opens one for the current request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from shared import clock
from shared.audit import AuditLog
from shared.auth import Principal
from shared.db import Database
from shared.events import Event, Outbox


@dataclass
class UnitOfWork:
    """The session of one transaction, with its outbox and audit log and the actor."""

    session: Session
    outbox: Outbox
    audit_log: AuditLog
    who: Principal
    clock: clock.Clock = field(default_factory=clock.current)

    def emit(self, type_: str, payload: dict[str, Any]) -> Event:
        """An event written in this transaction (published after it commits)."""
        return self.outbox.emit(self.session, type_, payload)

    def audit(self, action: str, target: str, **detail: Any) -> str:
        """An audit record of the actor's act, in this transaction; returns its hash."""
        return self.audit_log.append(self.session, actor=self.who.subject, role=self.who.role,
                                     action=action, target=target, detail=detail)

    def now(self) -> datetime:
        # In UTC: SQLite keeps no offset, so a stored time in any other zone reads back wrong.
        return self.clock.now().astimezone(UTC)

    def today(self) -> date:
        """Today in the office's zone (the date every date rule is counted in)."""
        return self.clock.today()


@contextmanager
def open_work(db: Database, outbox: Outbox, audit_log: AuditLog, who: Principal
              ) -> Iterator[UnitOfWork]:
    """A writer transaction as a unit of work: committed when the block ends, rolled back (the
    change, its events and its audit record together) if it raises."""
    with db.session() as session:
        yield UnitOfWork(session, outbox, audit_log, who)
