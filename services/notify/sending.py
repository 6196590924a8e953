"""Sending claimed deliveries: e-mails in batches over one connection, webhooks one by one.

Every failure is recorded on its delivery (retry later or dead), never raised, so one bad
address or endpoint cannot fail the batch or the task it rides in.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import UTC, datetime
from functools import lru_cache

from services.notify import mail, sealed, webhooks
from services.notify.deliveries import claim, mark_failed, mark_sent, sent_marker
from services.notify.models import Delivery, Notification, Preference
from shared.config import Settings
from shared.crypto import FieldCipher
from shared.db import Database

log = logging.getLogger(__name__)
WEBHOOK_SECRET_PURPOSE = "notify.webhook_secret"  # noqa: S105 (a key-derivation label)


def stale_after(settings: Settings) -> float:
    """How long a queued or sending delivery may wait before it is presumed orphaned: past
    the hard time limit of the task that took it and two leases, its task can no longer be
    running nor be handed out again (a lost worker's task comes back within one lease)."""
    return float(settings.task_time_limit + 30 + settings.task_lease_seconds * 2)


def smtp_config(settings: Settings) -> mail.SmtpConfig | None:
    if not settings.notify_smtp_host:
        return None
    return mail.SmtpConfig(settings.notify_smtp_host, settings.notify_smtp_port,
                           settings.notify_smtp_user, settings.notify_smtp_password,
                           settings.notify_smtp_starttls, settings.notify_mail_from,
                           settings.notify_send_timeout)


@lru_cache(maxsize=2)
def _mailer(config: mail.SmtpConfig) -> mail.Mailer:
    # One per process and configuration: the connection outlives the task.
    return mail.Mailer(config)


def drop_connections() -> None:
    """After fork: a child must open its own SMTP connection."""
    _mailer.cache_clear()


def _title_body(settings: Settings, d: Delivery, n: Notification) -> tuple[str, str]:
    """The message as it leaves: a sealed credential opened just now, never kept opened."""
    kept = (n.title_en, n.body_en) if d.language == "en" else (n.title_zh, n.body_zh)
    title, body = sealed.reveal(settings, d.event_type, d.sealed, d.language, *kept)
    return title, body


def _fail(db: Database, settings: Settings, d: Delivery, error: str, permanent: bool) -> None:
    with db.session() as session:
        status = mark_failed(session, d, error, datetime.now(UTC),
                             max_attempts=settings.notify_max_attempts,
                             base_seconds=settings.notify_retry_seconds, permanent=permanent)
    log.warning("delivery %s (%s to %s) failed, now %s: %s", d.id, d.channel, d.recipient,
                status, error.splitlines()[0] if error else "")


def send_emails(db: Database, settings: Settings, ids: list[int], task_id: str) -> int:
    """Send the e-mails of one batch; returns how many the server accepted."""
    config = smtp_config(settings)
    with db.session() as session:
        batch = claim(session, ids, task_id, datetime.now(UTC), stale_after(settings))
    if not batch:
        return 0
    if config is None:
        for d, _ in batch:
            _fail(db, settings, d, "e-mail is not configured (DOSSIER_NOTIFY_SMTP_HOST)", False)
        return 0
    mailer = _mailer(config)
    sent = 0
    with sent_marker(db.engine) as mark:
        for i, (d, n) in enumerate(batch):
            outcome = _send_one(db, settings, config, mailer, d, n)
            if outcome == SENT:
                mark(d.id)
                sent += 1
            elif outcome == SERVER_DOWN:
                # The server is unreachable or hung: waiting out a time-out per message would
                # hold this worker for the whole batch. Defer the rest with the same backoff.
                for rest, _ in batch[i + 1:]:
                    _fail(db, settings, rest, "not tried: the SMTP server failed on an earlier "
                          "message of the batch", False)
                break
    return sent


SENT, REFUSED, SERVER_DOWN = "sent", "refused", "server-down"


def _send_one(db: Database, settings: Settings, config: mail.SmtpConfig, mailer: mail.Mailer,
              d: Delivery, n: Notification) -> str:
    """One e-mail; a failure is recorded on the delivery."""
    if not mail.valid_address(d.target):
        _fail(db, settings, d, f"invalid address {d.target!r}", True)
        return REFUSED
    try:
        title, text = _title_body(settings, d, n)
    except sealed.CannotOpen:
        _fail(db, settings, d, "the sealed link does not open with this deployment's key", True)
        return REFUSED
    msg = mail.build(key=d.key, sender=config.sender, to=d.target, subject=title, body=text,
                     event_type=d.event_type, language=d.language)
    try:
        mailer.send(msg)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
        # A refusal: the connection is still good for the rest of the batch.
        _fail(db, settings, d, f"{type(exc).__name__}: {exc}", mail.is_permanent(exc))
        return REFUSED
    except (smtplib.SMTPException, OSError) as exc:
        mailer.close()  # a half-finished SMTP dialogue must not carry over
        _fail(db, settings, d, f"{type(exc).__name__}: {exc}", mail.is_permanent(exc))
        return SERVER_DOWN
    return SENT


def send_webhook(db: Database, settings: Settings, delivery_id: int, task_id: str) -> bool:
    with db.session() as session:
        batch = claim(session, [delivery_id], task_id, datetime.now(UTC), stale_after(settings))
        pref = None
        if batch:
            pref = session.get(Preference, batch[0][0].recipient)
    if not batch:
        return False
    d, n = batch[0]
    if pref is None or not pref.webhook_secret:
        _fail(db, settings, d, "the recipient's webhook has no secret", True)
        return False
    secret = FieldCipher(settings.field_key(), WEBHOOK_SECRET_PURPOSE).decrypt(
        pref.webhook_secret)
    try:
        title, text = _title_body(settings, d, n)
    except sealed.CannotOpen:
        _fail(db, settings, d, "the sealed link does not open with this deployment's key", True)
        return False
    payload = webhooks.body(
        key=d.key, event_id=d.event_id, event_type=d.event_type, recipient=d.recipient,
        language=d.language, title=title, text=text, created_at=n.created_at.isoformat(),
        references=dict(n.refs or {}))
    try:
        webhooks.post(d.target, secret, d.key, d.event_type, payload,
                      settings.notify_send_timeout, settings.notify_webhook_private)
    except webhooks.WebhookFailed as exc:
        _fail(db, settings, d, str(exc), exc.permanent)
        return False
    with db.session() as session:
        mark_sent(session, d.id, datetime.now(UTC))
    return True
