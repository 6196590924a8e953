"""A person's inbox: their own messages only, in their language; shared by the API and the page.

Every function takes the recipient's subject and filters on it in the query itself, so neither
the API nor the page can show or mark someone else's message (another person's id is simply not
found).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select, update
from sqlalchemy.orm import Session

from services.notify.models import Notification
from shared.errors import NotFound


def message_view(n: Notification, lang: str) -> dict[str, Any]:
    """A message as the API returns it, in one language."""
    en = lang == "en"
    return {"id": n.id, "event_type": n.event_type, "title": n.title_en if en else n.title_zh,
            "body": n.body_en if en else n.body_zh, "created_at": n.created_at,
            "read": n.read_at is not None, "refs": n.refs or {}}


def messages_query(subject: str, unread: bool | None = None, event_type: str | None = None,
                   unread_first: bool = False) -> Select[Any]:
    """Newest first; with `unread_first` the unread ones come before all read ones (the page)."""
    query = select(Notification).where(Notification.recipient == subject)
    if unread is True:
        query = query.where(Notification.read_at.is_(None))
    elif unread is False:
        query = query.where(Notification.read_at.is_not(None))
    if event_type:
        query = query.where(Notification.event_type == event_type)
    order: list[ColumnElement[Any]] = [Notification.seq.desc()]
    if unread_first:
        order.insert(0, case((Notification.read_at.is_(None), 0), else_=1))
    return query.order_by(*order)


def unread_count(session: Session, subject: str) -> int:
    return int(session.execute(select(func.count()).where(
        Notification.recipient == subject, Notification.read_at.is_(None))).scalar_one())


def own_message(session: Session, subject: str, message_id: str) -> Notification:
    n = session.execute(select(Notification).where(
        Notification.id == message_id, Notification.recipient == subject)).scalar_one_or_none()
    if n is None:
        raise NotFound(detail=f"message {message_id}")
    return n


def mark_read(session: Session, subject: str, message_id: str) -> Notification:
    """The caller's message, marked read the first time (the first reading time is kept)."""
    n = own_message(session, subject, message_id)
    if n.read_at is None:
        n.read_at = datetime.now(UTC)
    return n


def mark_all_read(session: Session, subject: str) -> int:
    result = session.execute(update(Notification).where(
        Notification.recipient == subject, Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC)))
    return int(result.rowcount)  # type: ignore[attr-defined]
