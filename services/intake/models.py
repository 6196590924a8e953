"""Tables intake owns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import BigId, service_metadata


class Base(DeclarativeBase):
    """The ORM base of this service's tables, on its own MetaData."""

    metadata = service_metadata()


metadata = Base.metadata


class Cycle(Base):
    """One award cycle (届) of a programme, with its window and caps."""

    __tablename__ = "cycles"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    programme: Mapped[str] = mapped_column(String(60), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # planned | open | closed | archived
    caps_awards: Mapped[int] = mapped_column(Integer)
    caps_nominations: Mapped[int] = mapped_column(Integer)
    catalogue: Mapped[str | None] = mapped_column(String(60))
    # The review stages the cycle holds, in order, with their planned dates:
    # [{"stage": "material" | "on-site" | "defence", "starts_on": iso | None, "ends_on": …}].
    stages: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The last case number (办件编号) handed out in this cycle (`case_numbers.assign`).
    case_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RecommendingUnit(Base):
    """One recommending unit (county regulator, committee, industry authority): seeded from
    the units file, then kept by the operator on the units page. A unit is never deleted,
    only deactivated, so old packets and accounts keep its name."""

    __tablename__ = "recommending_units"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # county | zone | industry
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the order lists show
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RequirementList(Base):
    """The requirements of a cycle's catalogue, as the documents service announced them
    (`requirements.published`): what the applicant's pages name and offer for upload."""

    __tablename__ = "requirement_lists"

    cycle: Mapped[str] = mapped_column(String(20), primary_key=True)
    catalogue: Mapped[str] = mapped_column(String(80))
    catalogue_title: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # {kind: [{id, title: {zh-CN, en}, required, provided_by, formats, multiple}]}
    kinds: Mapped[dict[str, Any]] = mapped_column(JSON)
    # When documents announced it (the event's time): an older announcement delivered late
    # never replaces a newer one.
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Account(Base):
    """Applicants, recommenders (with their unit), experts, operators and supervisors known to
    intake."""

    __tablename__ = "accounts"

    subject: Mapped[str] = mapped_column(String(120), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(10))
    unit: Mapped[str | None] = mapped_column(String(20), index=True)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A self-registered applicant: organisation (credit code) or individual (identity number,
    # only encrypted, with its blind index for "already registered?" and sign-in by number).
    kind: Mapped[str | None] = mapped_column(String(20))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    id_number_cipher: Mapped[str | None] = mapped_column(String(200))
    id_masked: Mapped[str | None] = mapped_column(String(32))
    # What every service checks tokens and sessions against (`shared.account_states`): the
    # moment of the last "sign out everywhere" (also a password change or a disable), and a
    # counter of changes so an older record never overwrites a newer one in Redis.
    signed_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Credential(Base):
    """How one account signs in with a browser: its login name and argon2id password hash.

    `login_key` is what a typed login name is looked up by: the name itself (lower case) for
    staff and organisations, `id:` + the identity number's blind index for individuals, so the
    number is never stored in clear. No hash yet means the account waits for its
    set-password link.
    """

    __tablename__ = "credentials"

    subject: Mapped[str] = mapped_column(ForeignKey("accounts.subject"), primary_key=True)
    login_key: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PasswordLink(Base):
    """A one-time set-password link: only the SHA-256 of its token is kept."""

    __tablename__ = "password_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(ForeignKey("accounts.subject"), index=True)
    issued_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when the link was used, or when a newer link for the same account replaced it.
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PersonalToken(Base):
    """A personal API token a person made on their account page. Only the SHA-256 of the token
    is kept; the token itself is shown once. Live (not revoked, not expired) ids are published
    with the account's standing, which every service checks (`shared.account_states`)."""

    __tablename__ = "personal_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the token's `jti`
    subject: Mapped[str] = mapped_column(ForeignKey("accounts.subject"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Application(Base):
    """One applicant's packet in one cycle, with the applicant's details as declared for it."""

    __tablename__ = "applications"
    __change_keys__ = ("id",)  # what pages cache by (shared.changes)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(120), index=True)
    cycle: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # organisation | individual
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The short case number people quote instead of the id (办件编号, `case_numbers.assign`).
    case_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    # Organisation
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    county: Mapped[str | None] = mapped_column(String(20))
    industry: Mapped[str | None] = mapped_column(String(100))
    founded_on: Mapped[date | None] = mapped_column(Date)
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    # Individual: the identity number only encrypted, its blind index for matching
    id_number_cipher: Mapped[str | None] = mapped_column(String(200))
    id_index: Mapped[str | None] = mapped_column(String(64), index=True)
    id_masked: Mapped[str | None] = mapped_column(String(32))
    employer: Mapped[str | None] = mapped_column(String(200))
    employer_credit_code: Mapped[str | None] = mapped_column(String(18))
    quality_years: Mapped[int | None] = mapped_column(Integer)
    # Parent, subsidiaries, main shareholders…: for review's conflict-of-interest checks.
    related: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Attestations and the operator's waiver of the operating years
    attest_no_violation: Mapped[bool | None] = mapped_column(Boolean)
    attest_no_accident: Mapped[bool | None] = mapped_column(Boolean)
    attest_no_state_secrets: Mapped[bool | None] = mapped_column(Boolean)
    attest_authentic: Mapped[bool | None] = mapped_column(Boolean)
    waiver_reference: Mapped[str | None] = mapped_column(String(200))
    waiver_by: Mapped[str | None] = mapped_column(String(120))
    # Internal publicity (Art. 13)
    publicity_starts_on: Mapped[date | None] = mapped_column(Date)
    publicity_ends_on: Mapped[date | None] = mapped_column(Date)
    publicity_document_id: Mapped[str | None] = mapped_column(String(36))
    # Routing and review
    route: Mapped[str | None] = mapped_column(String(20))
    unit: Mapped[str | None] = mapped_column(String(20), index=True)
    submission: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opinion: Mapped[str | None] = mapped_column(Text)
    # County route (Art. 14): the county government's (or committee's) recommendation.
    government_reference: Mapped[str | None] = mapped_column(String(200))
    completeness: Mapped[str | None] = mapped_column(String(20))
    completeness_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Documents' checklist of the current versions (`packet.checked`, submission 0): each
    # requirement's verdict, reasons and the versions it judged. The applicant's page shows it.
    draft_checklist: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A current document carries a state-secret classification mark: the operator must look.
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)

    documents: Mapped[list[Document]] = relationship(back_populates="application",
                                                     order_by="Document.created_at")
    history: Mapped[list[Transition]] = relationship(order_by="Transition.seq",
                                                     viewonly=True)


class Document(Base):
    """One piece of material in a packet (a requirement slot); its content lives in versions."""

    __tablename__ = "documents"
    __change_keys__ = ("application_id",)  # what pages cache by (shared.changes)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    requirement: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    application: Mapped[Application] = relationship(back_populates="documents")
    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", order_by="DocumentVersion.number")


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __change_keys__ = ("application_id",)  # what pages cache by (shared.changes)
    __table_args__ = (
        UniqueConstraint("document_id", "number", name="uq_document_versions_document_number"),
        UniqueConstraint("application_id", "idempotency_key",
                         name="uq_document_versions_idempotency"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    application_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(300))
    object_version: Mapped[str | None] = mapped_column(String(120))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigId)
    content_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    confidentiality: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str | None] = mapped_column(String(120))
    uploaded_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    secret_pages: Mapped[list[list[int]] | None] = mapped_column(JSON)
    frozen_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # From documents' `document.inspected`, so the packet view needs one request.
    inspection: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    classification_marks: Mapped[list[str] | None] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="versions")


class Transition(Base):
    """Every step of an application's way, kept across returns and resubmissions."""

    __tablename__ = "application_transitions"
    __change_keys__ = ("application_id",)  # what pages cache by (shared.changes)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    submission: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class AwardRecord(Base):
    """Past outcomes that bans are read from: from review's `award.decided` / `award.revoked`,
    or imported by the operator (`application_id` then starts with `history:`)."""

    __tablename__ = "award_records"
    __table_args__ = (UniqueConstraint("cycle", "application_id",
                                       name="uq_award_records_cycle_application"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    cycle: Mapped[str] = mapped_column(String(20))
    programme: Mapped[str | None] = mapped_column(String(60))
    year: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[str] = mapped_column(String(36))
    owner: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    id_index: Mapped[str | None] = mapped_column(String(64), index=True)
    tier: Mapped[str] = mapped_column(String(20))
    revoked_year: Mapped[int | None] = mapped_column(Integer)
    ground: Mapped[str | None] = mapped_column(Text)
    # Imported history (the operator's file of past outcomes): the holder's name, the cycle's
    # title as the office writes it (第二届忻州市市长质量奖), the revocation's date, and where the
    # record came from (file and row), so a ban can cite it.
    name: Mapped[str | None] = mapped_column(String(200))
    cycle_title: Mapped[str | None] = mapped_column(String(200))
    revoked_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(String(300))
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Waiver(Base):
    """The city government relaxed the operating years for one organisation in one cycle."""

    __tablename__ = "waivers"
    __table_args__ = (UniqueConstraint("cycle", "credit_code",
                                       name="uq_waivers_cycle_credit_code"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    cycle: Mapped[str] = mapped_column(String(20))
    credit_code: Mapped[str] = mapped_column(String(18))
    reference: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AcceptanceList(Base):
    """A published acceptance list (受理名单) and its publicity window."""

    __tablename__ = "acceptance_lists"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle: Mapped[str] = mapped_column(String(20), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Why the publicity started before the day it was published (audited; shown with it).
    deviation_reason: Mapped[str | None] = mapped_column(String(500))


class Outcome(Base):
    """What became of an accepted application after review, as review announced it
    (`list.published`, `award.decided`, `award.revoked`): the applicant's timeline reads it."""

    __tablename__ = "application_outcomes"
    __change_keys__ = ("application_id",)  # what pages cache by (shared.changes)

    application_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle: Mapped[str] = mapped_column(String(20), index=True)
    # The recommendation list's publicity (公示) this application was on, if any.
    listed: Mapped[bool | None] = mapped_column(Boolean)
    publicity_starts_on: Mapped[date | None] = mapped_column(Date)
    publicity_ends_on: Mapped[date | None] = mapped_column(Date)
    # The decision: tier `award` | `nomination`, or none (not awarded) once decided.
    decided_on: Mapped[date | None] = mapped_column(Date)
    tier: Mapped[str | None] = mapped_column(String(20))
    tier_title: Mapped[dict[str, str] | None] = mapped_column(JSON)
    cycle_title: Mapped[str | None] = mapped_column(String(200))
    decision_reference: Mapped[str | None] = mapped_column(String(200))
    revoked_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
