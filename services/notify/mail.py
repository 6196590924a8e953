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
    # base64 keeps the message 7-bit clean for any relay, and is compact for Chinese text.
    msg.set_content(body + "\n", cte="base64")
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
        """Send one message; raises smtplib/OS errors.

        A kept connection the server closed while idle is reopened only if it fails at the
        first command (MAIL FROM), before any of the message has left: a failure after that
        point is reported, never silently resent.
        """
        reused = self._smtp is not None
        if self._smtp is None:
            self._smtp = self._open()
        sender = parseaddr(str(msg["From"]))[1]
        recipients = [parseaddr(str(msg["To"]))[1]]
        try:
            self._mail(sender)
        except (smtplib.SMTPServerDisconnected, OSError):
            if not reused:
                raise
            self.close()
            self._smtp = self._open()
            self._mail(sender)
        smtp = self._smtp
        try:
            refused = {}
            for rcpt in recipients:
                code, reply = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, reply)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
            code, reply = smtp.data(msg.as_bytes(policy=msg.policy.clone(linesep="\r\n")))
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            self._reset()  # the connection stays usable for the next message
            raise

    def _mail(self, sender: str) -> None:
        assert self._smtp is not None
        self._smtp.ehlo_or_helo_if_needed()
        code, reply = self._smtp.mail(sender)
        if code != 250:
            self._reset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

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
