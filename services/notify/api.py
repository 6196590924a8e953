"""Notify's HTTP API: the caller's inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import func, select

from services.notify.models import Notification
from shared.errors import NotFound
from shared.http import current_principal, request_language, roles, service_context
from shared.pagination import PageQuery, paginate

blp = Blueprint("notify", __name__, url_prefix="/api", description="Inbox")
EVERYONE = ("applicant", "recommender", "operator", "expert", "supervisor", "admin")


class MessageOut(ma.Schema):
    id = ma.fields.String()
    event_type = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    created_at = ma.fields.DateTime()
    read = ma.fields.Boolean()


class InboxOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MessageOut))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    unread = ma.fields.Integer(metadata={"description": "Unread messages in the whole inbox"})


class InboxQuery(ma.Schema):
    unread = ma.fields.Boolean()


def _message(n: Notification, lang: str) -> dict[str, Any]:
    en = lang == "en"
    return {"id": n.id, "event_type": n.event_type, "title": n.title_en if en else n.title_zh,
            "body": n.body_en if en else n.body_zh, "created_at": n.created_at,
            "read": n.read_at is not None}


@blp.get("/inbox")
@blp.arguments(InboxQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, InboxOut)
@roles(*EVERYONE)
def inbox(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    who = current_principal()
    mine = Notification.recipient == who.subject
    query = select(Notification).where(mine).order_by(Notification.seq.desc())
    if filters.get("unread") is True:
        query = query.where(Notification.read_at.is_(None))
    elif filters.get("unread") is False:
        query = query.where(Notification.read_at.is_not(None))
    lang = request_language()
    with service_context().db.reader() as session:
        result = paginate(session, query, page, per_page)
        result["unread"] = session.execute(select(func.count()).where(
            mine, Notification.read_at.is_(None))).scalar_one()
    result["items"] = [_message(n, lang) for n in result["items"]]
    return result


@blp.post("/inbox/<message_id>/read")
@blp.response(200, MessageOut)
@roles(*EVERYONE)
def mark_read(message_id: str) -> dict[str, Any]:
    who = current_principal()
    with service_context().db.session() as session:
        n = session.execute(select(Notification).where(
            Notification.id == message_id, Notification.recipient == who.subject)
        ).scalar_one_or_none()
        if n is None:
            raise NotFound(detail=f"message {message_id}")
        if n.read_at is None:
            n.read_at = datetime.now(UTC)
        return _message(n, request_language())
