"""Payloads of the events intake emits (docs/events.md)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from shared.messages import EventPayload, PayloadSchema

KIND = validate.OneOf(("organisation", "individual"))
# `account.invited` carries its set-password link sealed (`shared.crypto.FieldCipher` with this
# purpose and `Settings.field_key()`): intake seals, notify opens it only to send the e-mail.
INVITATION_LINK_PURPOSE = "account.invited.link"
CONFIDENTIALITY = validate.OneOf(("public", "internal", "trade-secret"))


def _pages() -> fields.List[Any]:
    return fields.List(fields.List(fields.Integer(), validate=validate.Length(equal=2)),
                       load_default=list)


class AccountSaved(EventPayload):
    subject = fields.String(required=True)
    role = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True, load_default=None)
    language = fields.String(required=True, validate=validate.OneOf(("zh-CN", "en")))
    unit = fields.String(allow_none=True, load_default=None)
    active = fields.Boolean(required=True)


class AccountInvited(EventPayload):
    """A one-time set-password link for a new (or reset) account, to be e-mailed to it. The
    link is a credential until used: it goes to its own account only, and travels sealed, so
    the outbox, the broker and notify's tables never hold it usable."""

    subject = fields.String(required=True)
    name = fields.String(load_default="")
    link_sealed = fields.String(required=True)
    expires_at = fields.DateTime(required=True)
    # True: the person asked for it (forgot the password), not an account opened for them.
    reset = fields.Boolean(load_default=False)


class Caps(PayloadSchema):
    awards = fields.Integer(required=True)
    nominations = fields.Integer(required=True)


class Stage(PayloadSchema):
    stage = fields.String(required=True, validate=validate.OneOf(("material", "on-site",
                                                                  "defence")))
    starts_on = fields.Date(allow_none=True, load_default=None)
    ends_on = fields.Date(allow_none=True, load_default=None)


class CycleSaved(EventPayload):
    cycle = fields.String(required=True)
    year = fields.Integer(required=True)
    title = fields.String(required=True)
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    status = fields.String(required=True)
    caps = fields.Nested(Caps, required=True)
    catalogue = fields.String(allow_none=True, load_default=None)
    # Optional extra: which programme the cycle belongs to (one deployment may run several).
    programme = fields.String(load_default=None, allow_none=True)
    # Optional extra: the review stages the cycle holds, in order, with planned dates.
    stages = fields.List(fields.Nested(Stage), load_default=list)


class DocumentUploaded(EventPayload):
    application_id = fields.String(required=True)
    cycle = fields.String(required=True)
    kind = fields.String(required=True, validate=KIND)
    owner = fields.String(required=True)
    document_id = fields.String(required=True)
    version_id = fields.String(required=True)
    number = fields.Integer(required=True)
    requirement = fields.String(required=True)
    confidentiality = fields.String(required=True, validate=CONFIDENTIALITY)
    secret_pages = _pages()
    filename = fields.String(required=True)
    object_key = fields.String(required=True)
    object_version = fields.String(allow_none=True, required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    content_type = fields.String(required=True)


class DocumentDeleted(EventPayload):
    application_id = fields.String(required=True)
    document_id = fields.String(required=True)
    version_ids = fields.List(fields.String(), required=True)


class ManifestEntry(PayloadSchema):
    document_id = fields.String(required=True)
    requirement = fields.String(required=True)
    version_id = fields.String(required=True)
    number = fields.Integer(required=True)
    filename = fields.String(required=True)
    object_key = fields.String(required=True)
    object_version = fields.String(allow_none=True, required=True)
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    content_type = fields.String(required=True)
    confidentiality = fields.String(required=True, validate=CONFIDENTIALITY)
    secret_pages = _pages()
    # From documents' inspection record; None until the version is inspected.
    pages = fields.Integer(allow_none=True, load_default=None)


def _manifest() -> fields.List[dict[str, Any]]:
    return fields.List(fields.Nested(ManifestEntry), required=True)


class PacketStep(EventPayload):
    """What every step of a packet's routing says: whose packet, and which unit routes it."""

    application_id = fields.String(required=True)
    cycle = fields.String(required=True)
    owner = fields.String(required=True)
    applicant_name = fields.String(required=True)
    unit = fields.String(required=True)
    # The case number (办件编号) people quote instead of the id; none on rows made before it.
    case_number = fields.String(allow_none=True, load_default=None)


class PacketSubmitted(PacketStep):
    kind = fields.String(required=True, validate=KIND)
    route = fields.String(required=True, validate=validate.OneOf(("county", "industry")))
    submission = fields.Integer(required=True)
    documents = _manifest()


class PacketReturned(PacketStep):
    stage = fields.String(required=True, validate=validate.OneOf(("recommender", "operator")))
    reasons = fields.List(fields.String(), required=True)


class PacketRecommended(PacketStep):
    opinion = fields.String(required=True)
    # Optional extra: the county government's recommendation (county route, Art. 14).
    government_reference = fields.String(allow_none=True, load_default=None)


class Related(PayloadSchema):
    name = fields.String(required=True)
    credit_code = fields.String(allow_none=True, load_default=None)
    relation = fields.String(required=True)


class ApplicantProfile(PayloadSchema):
    applicant_id = fields.String(required=True)
    kind = fields.String(required=True, validate=KIND)
    name = fields.String(required=True)
    credit_code = fields.String(allow_none=True, load_default=None)
    county = fields.String(allow_none=True, load_default=None)
    industry = fields.String(allow_none=True, load_default=None)
    legal_representative = fields.String(allow_none=True, load_default=None)
    employer = fields.String(allow_none=True, load_default=None)
    employer_credit_code = fields.String(allow_none=True, load_default=None)
    related = fields.List(fields.Nested(Related), load_default=list)
    id_index = fields.String(allow_none=True, load_default=None)  # individuals: blind index


class PacketAccepted(EventPayload):
    application_id = fields.String(required=True)
    cycle = fields.String(required=True)
    kind = fields.String(required=True, validate=KIND)
    owner = fields.String(required=True)
    applicant = fields.Nested(ApplicantProfile, required=True)
    unit = fields.String(required=True)
    documents = _manifest()
    # The case number (办件编号) people quote instead of the id; none on rows made before it.
    case_number = fields.String(allow_none=True, load_default=None)


class PacketRejected(EventPayload):
    application_id = fields.String(required=True)
    cycle = fields.String(required=True)
    owner = fields.String(required=True)
    applicant_name = fields.String(required=True)
    reasons = fields.List(fields.String(), required=True)
    # The case number (办件编号) people quote instead of the id; none on rows made before it.
    case_number = fields.String(allow_none=True, load_default=None)


class AcceptanceEntry(PayloadSchema):
    application_id = fields.String(required=True)
    applicant_name = fields.String(required=True)
    kind = fields.String(required=True, validate=KIND)
    unit = fields.String(required=True)
    # The case number (办件编号) people quote instead of the id; none on rows made before it.
    case_number = fields.String(allow_none=True, load_default=None)


class AcceptancePublished(EventPayload):
    list_id = fields.String(required=True)
    cycle = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    entries = fields.List(fields.Nested(AcceptanceEntry), required=True)
    # Optional: why the publicity started before the day it was published.
    reason = fields.String(allow_none=True, load_default=None)


SCHEMAS: dict[str, type[Schema]] = {
    "account.saved": AccountSaved,
    "account.invited": AccountInvited,
    "cycle.saved": CycleSaved,
    "document.uploaded": DocumentUploaded,
    "document.deleted": DocumentDeleted,
    "packet.submitted": PacketSubmitted,
    "packet.returned": PacketReturned,
    "packet.recommended": PacketRecommended,
    "packet.accepted": PacketAccepted,
    "packet.rejected": PacketRejected,
    "acceptance.published": AcceptancePublished,
}
