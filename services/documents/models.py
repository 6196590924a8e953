"""Tables documents owns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import BigId, declarative_base, service_metadata

metadata = service_metadata()
Base = declarative_base(metadata)


class Inspection(Base):
    """The verdict on one uploaded document version (keyed by intake's version id)."""

    __tablename__ = "inspections"

    version_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36), index=True)
    document_id: Mapped[str] = mapped_column(String(36), index=True)
    owner: Mapped[str] = mapped_column(String(120), index=True)
    object_key: Mapped[str] = mapped_column(String(300))
    object_version: Mapped[str | None] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigId)
    filename: Mapped[str] = mapped_column(String(255))
    ok: Mapped[bool] = mapped_column()
    format: Mapped[str | None] = mapped_column(String(20))
    pages: Mapped[int | None] = mapped_column(Integer)
    encrypted: Mapped[bool] = mapped_column(default=False)
    error_code: Mapped[str | None] = mapped_column(String(80))
    error_message: Mapped[dict | None] = mapped_column(JSON)
    inspected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
