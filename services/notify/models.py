"""Tables notify owns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import BigId, declarative_base, service_metadata

metadata = service_metadata()
Base = declarative_base(metadata)


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
