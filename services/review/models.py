"""Tables review owns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata


class Base(DeclarativeBase):
    """The ORM base of this service's tables, on its own MetaData."""

    metadata = service_metadata()


metadata = Base.metadata


class Expert(Base):
    __tablename__ = "experts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    county: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    organisation_credit_code: Mapped[str | None] = mapped_column(String(18))
    # [{organisation, credit_code, role, started_on, ended_on}]: former employers and boards.
    past_affiliations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{name, credit_code, relation}]: interests the expert declared (relatives, clients, ...).
    relations: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Cycle(Base):
    """An award cycle as intake announced it (`cycle.saved`)."""

    __tablename__ = "cycles"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30))
    caps: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The dates the cycle's rules are counted to: the application deadline and each review
    # stage's planned dates ({stage, starts_on, ends_on}, ISO strings), as intake announced them.
    closes_on: Mapped[date | None] = mapped_column(Date)
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # When intake announced what is kept: an older `cycle.saved` arriving late changes nothing.
    announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RequirementList(Base):
    """The requirements of a cycle's catalogue as the documents service announced them
    (`requirements.published`): what names each document of a dossier on review's pages."""

    __tablename__ = "requirement_lists"

    cycle: Mapped[str] = mapped_column(String(60), primary_key=True)
    catalogue: Mapped[str] = mapped_column(String(80))
    catalogue_title: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # {kind: [{id, title: {zh-CN, en}, required, provided_by, formats, multiple}]}
    kinds: Mapped[dict[str, Any]] = mapped_column(JSON)
    # When documents announced it (the event's time): an older announcement delivered late
    # never replaces a newer one.
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Application(Base):
    """An accepted packet: the applicant's profile and its frozen document manifest."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    cycle: Mapped[str] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(120))
    applicant_name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(60))
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Intake's case number (办件编号), quoted on pages and in messages instead of the id.
    case_number: Mapped[str | None] = mapped_column(String(40))


class ConflictRecord(Base):
    """One interest between an expert and an application. Never deleted, only withdrawn."""

    __tablename__ = "conflicts"
    __change_keys__ = ("expert_id",)  # what pages cache by (shared.changes)
    __table_args__ = (UniqueConstraint("expert_id", "application_id", "ground", "source",
                                       "reason", name="uq_conflicts_detected"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    expert_id: Mapped[str] = mapped_column(ForeignKey("experts.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    ground: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # detected / operator / expert / applicant
    reason: Mapped[str] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by: Mapped[str | None] = mapped_column(String(120))
    withdrawal_reason: Mapped[str | None] = mapped_column(String(500))


class Panel(Base):
    """One review stage of a cycle: K experts per application, a load cap, field matching."""

    __tablename__ = "panels"
    __table_args__ = (UniqueConstraint("cycle", "stage", name="uq_panels_cycle"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle: Mapped[str] = mapped_column(String(60))
    stage: Mapped[str] = mapped_column(String(30))  # material / on-site / defence
    per_application: Mapped[int] = mapped_column(Integer)
    max_load: Mapped[int] = mapped_column(Integer)
    require_field_match: Mapped[bool] = mapped_column(Boolean, default=False)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    # Expert ids the operator picked for this stage; empty: every active expert.
    pool: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Application ids this stage reviews (e.g. the shortlist for on-site review); empty: all
    # accepted applications of the cycle.
    applications: Mapped[list[str]] = mapped_column(JSON, default=list)
    deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What one confidentiality pledge covers in this stage: `session` (one 承诺书 for the whole
    # review session, i.e. this panel) or `dossier` (one per dossier, as the cycle may ask).
    pledge_scope: Mapped[str] = mapped_column(String(10), default="session")


class Assignment(Base):
    __tablename__ = "assignments"
    __change_keys__ = ("expert_id",)  # what pages cache by (shared.changes)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    panel_id: Mapped[str] = mapped_column(ForeignKey("panels.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    expert_id: Mapped[str] = mapped_column(ForeignKey("experts.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))  # active / proposed / ended
    affinity: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(200))


class Acknowledgement(Base):
    """An expert's confidentiality and impartiality pledge for one dossier."""

    __tablename__ = "acknowledgements"
    __change_keys__ = ("expert_id",)  # what pages cache by (shared.changes)
    __table_args__ = (UniqueConstraint("expert_id", "application_id",
                                       name="uq_acknowledgements_expert_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    expert_id: Mapped[str] = mapped_column(ForeignKey("experts.id"))
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    statement: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SessionPledge(Base):
    """An expert's confidentiality and impartiality pledge for one review session (a panel: one
    stage of a cycle). It covers the dossiers the expert serves on in that panel while the
    panel's `pledge_scope` is `session`."""

    __tablename__ = "session_pledges"
    __change_keys__ = ("expert_id",)  # what pages cache by (shared.changes)
    __table_args__ = (UniqueConstraint("expert_id", "panel_id",
                                       name="uq_session_pledges_expert_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    expert_id: Mapped[str] = mapped_column(ForeignKey("experts.id"), index=True)
    panel_id: Mapped[str] = mapped_column(ForeignKey("panels.id"))
    statement: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Score(Base):
    __tablename__ = "scores"
    __change_keys__ = ("expert_id",)  # what pages cache by (shared.changes)
    __table_args__ = (UniqueConstraint("panel_id", "application_id", "expert_id",
                                       name="uq_scores_panel_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    panel_id: Mapped[str] = mapped_column(ForeignKey("panels.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    expert_id: Mapped[str] = mapped_column(ForeignKey("experts.id"), index=True)
    rubric: Mapped[str] = mapped_column(String(80))
    items: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    total: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScoreDraft(Base):
    """An expert's unsubmitted scoring form, saved as typed (items may be missing). A draft is
    never a score: results, ranking and progress read only `scores`."""

    __tablename__ = "score_drafts"
    __change_keys__ = ("expert_id",)  # what pages cache by (shared.changes)
    __table_args__ = (UniqueConstraint("panel_id", "application_id", "expert_id",
                                       name="uq_score_drafts_panel_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    panel_id: Mapped[str] = mapped_column(ForeignKey("panels.id"), index=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    expert_id: Mapped[str] = mapped_column(ForeignKey("experts.id"), index=True)
    items: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PublicList(Base):
    """A list under publicity: acceptance (from intake), recommendation, final."""

    __tablename__ = "public_lists"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    cycle: Mapped[str] = mapped_column(String(60), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Where publishing departed from the order of the Measures (a start in the past, ...):
    # the codes of the departures and the operator's recorded reason, shown on the notice.
    deviations: Mapped[list[str]] = mapped_column(JSON, default=list)
    deviation_reason: Mapped[str | None] = mapped_column(Text)
    # The notice as published: issuing office and how to object (a snapshot of publicity.yaml).
    notice: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Objection(Base):
    __tablename__ = "objections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    list_id: Mapped[str] = mapped_column(ForeignKey("public_lists.id"), index=True)
    application_id: Mapped[str | None] = mapped_column(String(60))
    anonymous: Mapped[bool] = mapped_column(Boolean)
    # Encrypted with FieldCipher("review.objection_reporter"); readable by supervisors only.
    reporter_sealed: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Files the reporter attached: [{n, filename, size, content_type, sha256, object_key}];
    # the bytes live in the object store under `objections/<objection id>/<n>`.
    evidence_files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))  # open / upheld / dismissed
    resolution: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    # What the reporter keeps to follow the case on the public page (Crockford base32 with a
    # check symbol); the status shown there never includes who reported.
    receipt_code: Mapped[str | None] = mapped_column(String(20), unique=True, index=True)
    investigating_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The answer published to the reporter on the follow page (the resolution stays internal).
    answer: Mapped[str | None] = mapped_column(Text)


class Opinion(Base):
    """A department's written opinion on an applicant (public security, taxation, ...)."""

    __tablename__ = "opinions"
    __table_args__ = (UniqueConstraint("application_id", "department",
                                       name="uq_opinions_application_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"), index=True)
    department: Mapped[str] = mapped_column(String(60))
    favourable: Mapped[bool] = mapped_column(Boolean)
    reference: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Award(Base):
    __tablename__ = "awards"
    __table_args__ = (UniqueConstraint("application_id", name="uq_awards_application_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle: Mapped[str] = mapped_column(String(60), index=True)
    year: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[str] = mapped_column(ForeignKey("applications.id"))
    tier: Mapped[str] = mapped_column(String(20))  # award / nomination
    score: Mapped[float] = mapped_column(Float)
    amount: Mapped[int] = mapped_column(Integer)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decision_reference: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Revocation(Base):
    __tablename__ = "revocations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    award_id: Mapped[str] = mapped_column(ForeignKey("awards.id"), unique=True)
    ground: Mapped[str] = mapped_column(String(40))
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    amount_to_recover: Mapped[int] = mapped_column(Integer)
    amount_recovered: Mapped[int] = mapped_column(Integer, default=0)
    year: Mapped[int] = mapped_column(Integer)
    barred_cycles: Mapped[int] = mapped_column(Integer)
    revoked_by: Mapped[str] = mapped_column(String(120))
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AssignmentJob(Base):
    """One run of a panel's assignment on review's worker (`assignment_jobs`): queued,
    running (with its phase), then done, failed (with the reason) or cancelled."""

    __tablename__ = "assignment_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    panel_id: Mapped[str] = mapped_column(ForeignKey("panels.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # queued/running/done/failed/cancelled
    phase: Mapped[str] = mapped_column(String(20), default="queued")
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(String(120))  # subject, for the audit record
    requested_role: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pairs: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"zh": …, "en": …}
