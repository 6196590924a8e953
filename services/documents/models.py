"""Tables documents owns: verdicts, its read model of packets, and completeness reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigId, service_metadata


class Base(DeclarativeBase):
    """The ORM base of this service's tables, on its own MetaData."""

    metadata = service_metadata()


metadata = Base.metadata


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
    requirement: Mapped[str | None] = mapped_column(String(80))
    text_layer: Mapped[bool | None] = mapped_column()
    scanned: Mapped[bool | None] = mapped_column()
    characters: Mapped[int | None] = mapped_column(Integer)
    javascript: Mapped[bool] = mapped_column(default=False)
    embedded_files: Mapped[int] = mapped_column(Integer, default=0)
    classification_marks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The whole verdict (headings, outline, page size, warnings): what completeness reads.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Packet(Base):
    """Documents' view of one application, fed by intake's events."""

    __tablename__ = "packets"

    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str | None] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(120), index=True)
    unit: Mapped[str | None] = mapped_column(String(40), index=True)
    applicant_name: Mapped[str | None] = mapped_column(String(200))
    route: Mapped[str | None] = mapped_column(String(20))
    submission: Mapped[int] = mapped_column(Integer, default=0)  # 0: still a draft
    # Version ids of the submitted manifest: the report on a submission judges exactly these.
    manifest: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PacketDocument(Base):
    """One uploaded version of a document in a packet (requirement → versions)."""

    __tablename__ = "packet_documents"

    version_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36), index=True)
    document_id: Mapped[str] = mapped_column(String(36), index=True)
    requirement: Mapped[str | None] = mapped_column(String(80))
    number: Mapped[int] = mapped_column(Integer, default=1)
    filename: Mapped[str] = mapped_column(String(255))
    deleted: Mapped[bool] = mapped_column(default=False)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The applicant's marking as intake last announced it (upload, then the submitted
    # manifest): the viewer watermarks trade secrets for every reader but the owner.
    confidentiality: Mapped[str | None] = mapped_column(String(20))
    secret_pages: Mapped[list[Any] | None] = mapped_column(JSON)


class Cycle(Base):
    """Which requirement catalogue each award cycle uses (from `cycle.saved`)."""

    __tablename__ = "cycles"

    cycle: Mapped[str] = mapped_column(String(40), primary_key=True)
    catalogue: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str | None] = mapped_column(String(200))
    year: Mapped[int | None] = mapped_column(Integer)


class CompletenessReport(Base):
    """A completeness report: the live draft checklist (submission 0) or one per submission."""

    __tablename__ = "completeness_reports"
    __table_args__ = (UniqueConstraint("application_id", "submission"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(String(36), index=True)
    submission: Mapped[int] = mapped_column(Integer)
    cycle: Mapped[str] = mapped_column(String(40), index=True)
    owner: Mapped[str] = mapped_column(String(120), index=True)
    unit: Mapped[str | None] = mapped_column(String(40), index=True)
    kind: Mapped[str | None] = mapped_column(String(20))
    catalogue: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), index=True)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    items: Mapped[list[Any]] = mapped_column(JSON)
    unexpected: Mapped[list[Any]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
