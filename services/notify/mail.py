"""E-mail over SMTP: one connection per worker process, reused across tasks, with a time-out
on every call so a slow server fails a delivery instead of hanging the worker."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

# Replies a server gives for a message it will never accept however often it is retried.
PERMANENT_CODES = range(500, 600)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str
    timeout: float


def message_id(key: str) -> str:
    """Deterministic, so a resent copy carries the same id and mail systems drop it."""
    return f"<{key[:40]}@notify.dossier>"


def build(*, key: str, sender: str, to: str, subject: str, body: str, event_type: str,
          language: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(key)
    msg["Content-Language"] = language
    # Out-of-office replies and mail loops stay away from machine-sent notices (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Dossier-Event"] = event_type
    msg["X-Dossier-Delivery"] = key
    msg.set_content(body + "\n")
    return msg


def valid_address(address: str) -> bool:
    _, addr = parseaddr(address)
    try:
        Address(addr_spec=addr)
    except (ValueError, IndexError):
        return False
    return "@" in addr


class Mailer:
    """A lazily opened, reused SMTP connection."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        c = self.config
        smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        if c.starttls:
            smtp.starttls()
        if c.user:
            smtp.login(c.user, c.password or "")
        return smtp

    def send(self, msg: EmailMessage) -> None:
        """Send one message; raises smtplib/OS errors. Reconnects once if the kept
        connection went stale (servers close idle ones)."""
        if self._smtp is None:
            self._smtp = self._open()
        try:
            self._smtp.send_message(msg)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self.close()
            self._smtp = self._open()
            self._smtp.send_message(msg)

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code in PERMANENT_CODES for code in codes)
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code in PERMANENT_CODES
