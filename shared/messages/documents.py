"""Payloads of the events documents emits (docs/events.md)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from shared.messages import EventPayload, PayloadSchema


class InspectionError(PayloadSchema):
    code = fields.String(required=True)
    message = fields.String(required=True)  # English
    # Optional extra: the message in zh-CN and en, for notifications in either language.
    messages = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)


class DocumentInspected(EventPayload):
    application_id = fields.String(required=True)
    document_id = fields.String(required=True)
    version_id = fields.String(required=True)
    owner = fields.String(required=True)
    filename = fields.String(required=True)
    ok = fields.Boolean(required=True)
    format = fields.String(allow_none=True, required=True)
    pages = fields.Integer(allow_none=True, required=True)
    encrypted = fields.Boolean(required=True)
    text_layer = fields.Boolean(allow_none=True, required=True)
    error = fields.Nested(InspectionError, allow_none=True, required=True)
    classification_marks = fields.List(fields.String(), required=True)
    # Optional extras (consumers may ignore them): the error code alone, for templates, and
    # the requirement the file was uploaded for.
    error_code = fields.String(allow_none=True)
    requirement = fields.String(allow_none=True)
    # The upload's confidentiality: notify names a trade-secret file by neither name nor title.
    confidentiality = fields.String(allow_none=True)


class Counts(PayloadSchema):
    met = fields.Integer(required=True)
    missing = fields.Integer(required=True)
    invalid = fields.Integer(required=True)
    attention = fields.Integer(required=True)


class CheckedItem(PayloadSchema):
    """One requirement's verdict as the report states it, with the versions it judged."""

    requirement = fields.String(required=True)
    status = fields.String(required=True)
    # Each reason: {code, zh-CN, en}, already worded for people.
    reasons = fields.List(fields.Dict(keys=fields.String(), values=fields.Raw()),
                          load_default=list)
    versions = fields.List(fields.String(), load_default=list)


class PacketChecked(EventPayload):
    application_id = fields.String(required=True)
    cycle = fields.String(required=True)
    owner = fields.String(required=True)
    status = fields.String(required=True,
                           validate=validate.OneOf(["complete", "incomplete", "attention"]))
    counts = fields.Nested(Counts, required=True)
    missing = fields.List(fields.String(), required=True)
    report_id = fields.String(required=True)
    # Optional extras: which submission the report judges (0: the draft's checklist, announced
    # quietly whenever it changes), and the recommending unit.
    submission = fields.Integer()
    unit = fields.String(allow_none=True)
    # Each requirement's verdict and reasons, so intake's checklist rows and its summary are
    # the report itself, never a second judgement.
    items = fields.List(fields.Nested(CheckedItem))
    applicant_name = fields.String(allow_none=True)  # so a recommender's message names it
    # A draft's checklist right after the last pending inspection finished (one digest).
    settled = fields.Boolean()
    # Optional extra: the missing items' names ({zh-CN, en}), for messages that name them.
    missing_titles = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))


class Title(PayloadSchema):
    """A title in zh-CN and English; a catalogue written in Chinese only reads as Chinese in
    English pages too, rather than failing the whole announcement."""

    zh = fields.String(data_key="zh-CN", required=True, validate=validate.Length(min=1))
    en = fields.String(allow_none=True)

    @post_load
    def _fallback(self, data: dict[str, Any], **_: Any) -> dict[str, str]:
        return {"zh-CN": data["zh"], "en": data.get("en") or data["zh"]}


class CatalogueRef(PayloadSchema):
    version = fields.String(required=True)
    title = fields.Nested(Title, allow_none=True)


class RequirementItem(PayloadSchema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=80))
    title = fields.Nested(Title, required=True)
    required = fields.Boolean(required=True)
    # Who hands it in, as the catalogue says: `applicant`, or `recommender` (added after
    # submission); intake offers only the applicant's in its upload form.
    provided_by = fields.String(load_default="applicant")
    # Accepted formats (`pdf`, `docx`, `image`) and whether several files may answer it.
    formats = fields.List(fields.String(), load_default=list)
    multiple = fields.Boolean(load_default=False)


class RequirementsPublished(EventPayload):
    cycle = fields.String(required=True)
    catalogue = fields.Nested(CatalogueRef, required=True)
    kinds = fields.Dict(keys=fields.String(validate=validate.OneOf(["organisation",
                                                                    "individual"])),
                        values=fields.List(fields.Nested(RequirementItem)), required=True)


SCHEMAS: dict[str, type[Schema]] = {
    "document.inspected": DocumentInspected,
    "packet.checked": PacketChecked,
    "requirements.published": RequirementsPublished,
}
