"""Tables notify owns: the recipient directory, preferences, inbox messages, deliveries and
the deadlines reminders are computed from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigId, service_metadata


class Base(DeclarativeBase):
    """The ORM base of this service's tables, on its own MetaData."""

    metadata = service_metadata()


metadata = Base.metadata


class Notification(Base):
    """One message to one person, rendered in both languages when it is created."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The idempotency key: one event gives one person at most one inbox message.
        UniqueConstraint("event_id", "recipient", name="uq_notifications_event_recipient"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    recipient: Mapped[str] = mapped_column(String(120), index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Ids from the payload (application, cycle, list…) so a page or a webhook receiver can
    # link to the thing itself; never content (see confidentiality.REFERENCE_KEYS).
    refs: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Recipient(Base):
    """The recipient directory, fed by `account.saved` from intake and review."""

    __tablename__ = "recipients"
    __table_args__ = (Index("ix_recipients_role_unit", "role", "unit"),)

    subject: Mapped[str] = mapped_column(String(120), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Preference(Base):
    """A person's own choices; may exist before the directory knows them."""

    __tablename__ = "preferences"

    subject: Mapped[str] = mapped_column(String(120), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean)
    webhook: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str | None] = mapped_column(String(8))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # Encrypted with FieldCipher: a stolen database copy cannot forge signatures.
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    muted: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One message over one outward channel (email, webhook) to one person.

    Written in the same transaction as the inbox message, before anything is sent; the key
    event × recipient × channel makes a redelivered event a no-op.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel",
                         name="uq_deliveries_event_recipient_channel"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    notification_id: Mapped[str] = mapped_column(String(36))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    recipient: Mapped[str] = mapped_column(String(120), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8))
    # pending → queued → sending → sent; failures go back to pending with a later
    # next_attempt_at, or to dead after the last attempt.
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when a send was interrupted after the payload may have reached the receiver; the
    # resend carries the same Message-ID / delivery id so the receiver can drop the copy.
    in_doubt: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A credential the message carries (a set-password link), still sealed as the event
    # brought it; opened only to send (`sealed.reveal`), dropped once sent.
    sealed: Mapped[str | None] = mapped_column(Text)


class Deadline(Base):
    """A date someone must be reminded of, learnt from events (publicity end, review
    deadline, application window close)."""

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("kind", "ref", name="uq_deadlines_kind_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(200))
    cycle: Mapped[str | None] = mapped_column(String(40), index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    audience: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    reminded_on: Mapped[date | None] = mapped_column(Date)


class Cycle(Base):
    """What notify needs of an award cycle: when its application window closes."""

    __tablename__ = "cycles"

    cycle: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    closes_on: Mapped[date | None] = mapped_column(Date)
