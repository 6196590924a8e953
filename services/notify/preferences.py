"""Per-person channel preferences: the inbox is always on; e-mail on by default; a webhook
when an endpoint is registered, with a signing secret issued by us and shown once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from services.notify import signing, webhooks
from services.notify.fanout import language_of
from services.notify.models import Preference, Recipient
from services.notify.sending import WEBHOOK_SECRET_PURPOSE
from shared.config import Settings
from shared.crypto import FieldCipher
from shared.errors import Conflict, DossierError


class WebhookWithoutUrl(DossierError):
    code = "notify.webhook_url_missing"
    status = 422
    zh = "开启 Webhook 通知前请先填写接收地址。"
    en = "Register a webhook URL before turning webhook notifications on."


class WebhookUrlRefused(DossierError):
    code = "notify.webhook_url_refused"
    status = 422
    zh = "Webhook 地址不可用：{reason}。"
    en = "This webhook address cannot be used: {reason}."


def check_webhook_url(url: str, allow_private: bool) -> None:
    """Refuse addresses that would make notify call into its own network (SSRF), unless the
    operator allows them; the check resolves the name as it stands now, and is made again at
    every send (`webhooks.post`)."""
    try:
        webhooks.checked_address(url, allow_private)
    except webhooks.AddressRefused as exc:
        raise WebhookUrlRefused(reason=str(exc)) from exc


class NotDead(Conflict):
    code = "notify.delivery_not_dead"
    zh = "只有已停止重试的投递可以重新发送（当前状态：{state}）。"
    en = "Only a delivery that has stopped retrying can be retried (now: {state})."


def _defaults(subject: str) -> Preference:
    return Preference(subject=subject, email=True, webhook=False, language=None,
                      webhook_url=None, webhook_secret=None, muted=[],
                      updated_at=datetime.now(UTC))


def view(session: Session, subject: str, secret: str | None = None) -> dict[str, Any]:
    pref = session.get(Preference, subject) or _defaults(subject)
    person = session.get(Recipient, subject)
    return {"subject": subject, "inbox": True, "email": pref.email,
            "email_address": person.email if person else None, "webhook": pref.webhook,
            "webhook_url": pref.webhook_url, "webhook_secret": secret,
            "language": language_of(person, pref), "muted": list(pref.muted or [])}


def update(session: Session, settings: Settings, subject: str, changes: dict[str, Any]
           ) -> dict[str, Any]:
    pref = session.get(Preference, subject)
    if pref is None:
        pref = _defaults(subject)
        session.add(pref)
    for name in ("email", "webhook", "language", "muted"):
        if name in changes:
            setattr(pref, name, changes[name])
    issued: str | None = None
    if "webhook_url" in changes and changes["webhook_url"] != pref.webhook_url:
        if changes["webhook_url"]:
            check_webhook_url(changes["webhook_url"], settings.notify_webhook_private)
        pref.webhook_url = changes["webhook_url"]
        if pref.webhook_url:
            changes = {**changes, "rotate_secret": True}
    if changes.get("rotate_secret") and pref.webhook_url:
        issued = signing.new_secret()
        pref.webhook_secret = FieldCipher(settings.field_key(),
                                          WEBHOOK_SECRET_PURPOSE).encrypt(issued)
    if pref.webhook and not pref.webhook_url:
        raise WebhookWithoutUrl()
    pref.updated_at = datetime.now(UTC)
    session.flush()
    return view(session, subject, issued)
