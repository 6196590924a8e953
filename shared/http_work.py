"""The unit of work of the current request: the signed-in caller acting on this service.

The API's and the pages' views open their writer transaction here (`request_work`) and hand it
to the domain action; `audit_caller` is the one way a view records a read it does itself (a
dossier opened, a document downloaded), where no action of the domain runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from shared.http import current_principal, service_context
from shared.unit_of_work import UnitOfWork, open_work


@contextmanager
def request_work() -> Iterator[UnitOfWork]:
    ctx = service_context()
    with open_work(ctx.db, ctx.outbox, ctx.audit, current_principal()) as work:
        yield work


def audit_caller(session: Session, action: str, target: str, **detail: Any) -> None:
    """An audit record of the signed-in caller's act, inside the caller's transaction."""
    who = current_principal()
    service_context().audit.append(session, actor=who.subject, role=who.role, action=action,
                                   target=target, detail=detail)
