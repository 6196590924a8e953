"""Notify's HTTP API: the caller's inbox and channel preferences; deliveries for operators."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import func, select

from services.notify import inbox as inbox_logic
from services.notify import preferences as prefs
from services.notify.deliveries import retry_dead
from services.notify.models import Delivery
from services.notify.schemas import (
    DeliveryCounts,
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    InboxOut,
    InboxQuery,
    MessageOut,
    PreferencesIn,
    PreferencesOut,
    ReadAllOut,
)
from shared.crypto import mask
from shared.errors import NotFound
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, paginate
from shared.web.language import request_language

blp = Blueprint("notify", __name__, url_prefix="/api", description="Inbox and deliveries")
EVERYONE = ("applicant", "recommender", "operator", "expert", "supervisor", "admin")
MANAGERS = ("operator", "admin")
WATCHERS = ("operator", "admin", "supervisor")


@blp.get("/inbox")
@blp.arguments(InboxQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, InboxOut)
@roles(*EVERYONE)
def inbox(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    who = current_principal()
    query = inbox_logic.messages_query(who.subject, unread=filters.get("unread"),
                                       event_type=filters.get("event_type"))
    lang = request_language()
    with service_context().db.reader() as session:
        result = paginate(session, query, page, per_page)
        result["unread"] = inbox_logic.unread_count(session, who.subject)
    result["items"] = [inbox_logic.message_view(n, lang) for n in result["items"]]
    return result


@blp.post("/inbox/<message_id>/read")
@blp.response(200, MessageOut)
@roles(*EVERYONE)
def mark_read(message_id: str) -> dict[str, Any]:
    who = current_principal()
    with service_context().db.session() as session:
        n = inbox_logic.mark_read(session, who.subject, message_id)
        return inbox_logic.message_view(n, request_language())


@blp.post("/inbox/read-all")
@blp.response(200, ReadAllOut)
@roles(*EVERYONE)
def mark_all_read() -> dict[str, Any]:
    who = current_principal()
    with service_context().db.session() as session:
        return {"marked": inbox_logic.mark_all_read(session, who.subject)}


@blp.get("/preferences")
@blp.response(200, PreferencesOut)
@roles(*EVERYONE)
def my_preferences() -> dict[str, Any]:
    ctx = service_context()
    with ctx.db.reader() as session:
        return prefs.view(session, current_principal().subject)


@blp.put("/preferences")
@blp.arguments(PreferencesIn)
@blp.response(200, PreferencesOut)
@roles(*EVERYONE)
def set_my_preferences(changes: dict[str, Any]) -> dict[str, Any]:
    who = current_principal()
    return _save_preferences(who.subject, changes)


@blp.get("/recipients/<subject>/preferences")
@blp.response(200, PreferencesOut)
@roles(*MANAGERS)
def preferences_of(subject: str) -> dict[str, Any]:
    ctx = service_context()
    with ctx.db.reader() as session:
        return prefs.view(session, subject)


@blp.put("/recipients/<subject>/preferences")
@blp.arguments(PreferencesIn)
@blp.response(200, PreferencesOut)
@roles(*MANAGERS)
def set_preferences_of(changes: dict[str, Any], subject: str) -> dict[str, Any]:
    return _save_preferences(subject, changes)


def _save_preferences(subject: str, changes: dict[str, Any]) -> dict[str, Any]:
    ctx = service_context()
    who = current_principal()
    with ctx.db.session() as session:
        result = prefs.update(session, ctx.settings, subject, changes)
        # Who changed where someone's notices go is worth a trail (a webhook can leak).
        ctx.audit.append(session, actor=who.subject, role=who.role,
                         action="notify.preferences", target=f"recipient:{subject}",
                         detail={k: v for k, v in changes.items() if k != "webhook_url"}
                         | {"webhook_url_set": bool(changes.get("webhook_url"))})
    return result


def _delivery(d: Delivery) -> dict[str, Any]:
    target = mask(d.target, 2, 6) if d.channel == "email" else d.target.split("?", 1)[0]
    return {**{c: getattr(d, c) for c in DeliveryOut._declared_fields}, "target": target}


@blp.get("/deliveries")
@blp.arguments(DeliveryQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, DeliveryPage)
@roles(*WATCHERS)
def deliveries(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    query = select(Delivery).order_by(Delivery.id.desc())
    for name, value in filters.items():
        query = query.where(getattr(Delivery, name) == value)
    with service_context().db.reader() as session:
        result = paginate(session, query, page, per_page)
    result["items"] = [_delivery(d) for d in result["items"]]
    return result


@blp.get("/deliveries/counts")
@blp.response(200, DeliveryCounts)
@roles(*WATCHERS)
def delivery_counts() -> dict[str, Any]:
    with service_context().db.reader() as session:
        rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {"counts": {status: n for status, n in rows}}


@blp.post("/deliveries/<int:delivery_id>/retry")
@blp.response(202, DeliveryOut)
@roles(*MANAGERS)
def retry_delivery(delivery_id: int) -> dict[str, Any]:
    ctx = service_context()
    who = current_principal()
    with ctx.db.session() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            raise NotFound(detail=f"delivery {delivery_id}")
        if delivery.status != "dead":
            raise prefs.NotDead(state=delivery.status)
        retry_dead(session, delivery_id)
        ctx.audit.append(session, actor=who.subject, role=who.role, action="notify.retry",
                         target=f"delivery:{delivery_id}", detail={"channel": delivery.channel})
        return _delivery(delivery)
