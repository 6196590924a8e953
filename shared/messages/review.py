"""Payloads of the events review emits (docs/events.md)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.messages import EventPayload, PayloadSchema

_S = fields.String


class AssignedApplication(PayloadSchema):
    application_id = _S(required=True)
    applicant_name = _S(required=True)


class AssignmentMade(EventPayload):
    cycle = _S(required=True)
    stage = _S(required=True)
    expert = _S(required=True)
    applications = fields.List(fields.Nested(AssignedApplication), required=True)
    deadline = _S(allow_none=True, load_default=None)


class RecusalRecorded(EventPayload):
    cycle = _S(required=True)
    expert = _S(required=True)
    application_id = _S(required=True)
    applicant_name = _S(allow_none=True, load_default=None)  # optional addition
    ground = _S(required=True)
    source = _S(required=True)
    replacement = _S(allow_none=True, load_default=None)
    applicant_name = _S(allow_none=True, load_default=None)  # optional: named, not an id
    case_number = _S(allow_none=True, load_default=None)


class ObjectionReceived(EventPayload):
    objection_id = _S(required=True)
    list_id = _S(required=True)
    cycle = _S(required=True)
    application_id = _S(allow_none=True, load_default=None)
    anonymous = fields.Boolean(required=True)
    applicant_name = _S(allow_none=True, load_default=None)  # optional: named, not an id
    case_number = _S(allow_none=True, load_default=None)
    list_kind = _S(allow_none=True, load_default=None)


class OpinionsCompleted(EventPayload):
    cycle = _S(required=True)
    application_id = _S(required=True)
    applicant_name = _S(required=True)
    case_number = _S(allow_none=True, load_default=None)


class ListEntry(PayloadSchema):
    application_id = _S(required=True)
    applicant_name = _S(required=True)
    tier = _S(allow_none=True, load_default=None)
    case_number = _S(allow_none=True, load_default=None)  # intake's 办件编号


class ListPublished(EventPayload):
    list_id = _S(required=True)
    cycle = _S(required=True)
    kind = _S(required=True, validate=validate.OneOf(["recommendation", "final"]))
    starts_on = _S(required=True)
    ends_on = _S(required=True)
    entries = fields.List(fields.Nested(ListEntry), required=True)


class AwardResult(PayloadSchema):
    application_id = _S(required=True)
    owner = _S(required=True)
    kind = _S(required=True)
    credit_code = _S(allow_none=True, load_default=None)
    id_index = _S(allow_none=True, load_default=None)
    tier = _S(required=True, validate=validate.OneOf(["award", "nomination"]))
    amount = fields.Integer(required=True)
    # Optional additions for the applicant's page and message: names and words, not codes.
    applicant_name = _S(allow_none=True, load_default=None)
    case_number = _S(allow_none=True, load_default=None)
    tier_title = fields.Dict(keys=_S(), values=_S(), allow_none=True, load_default=None)


class AwardDecided(EventPayload):
    cycle = _S(required=True)
    year = fields.Integer(required=True)
    results = fields.List(fields.Nested(AwardResult), required=True)
    # Optional additions: the cycle's title, the decision's date and document reference.
    cycle_title = _S(allow_none=True, load_default=None)
    decided_on = _S(allow_none=True, load_default=None)
    reference = _S(allow_none=True, load_default=None)


class AwardRevoked(EventPayload):
    cycle = _S(required=True)
    application_id = _S(required=True)
    owner = _S(required=True)
    credit_code = _S(allow_none=True, load_default=None)
    id_index = _S(allow_none=True, load_default=None)
    year = fields.Integer(required=True)
    ground = _S(required=True)
    applicant_name = _S(allow_none=True, load_default=None)  # optional addition
    # Optional addition to docs/events.md: cycles barred, counted from `year` (3 by default).
    barred_cycles = fields.Integer(load_default=None, allow_none=True)
    applicant_name = _S(allow_none=True, load_default=None)  # optional: named, not an id
    case_number = _S(allow_none=True, load_default=None)


SCHEMAS: dict[str, type[Schema]] = {
    "assignment.made": AssignmentMade,
    "recusal.recorded": RecusalRecorded,
    "objection.received": ObjectionReceived,
    "opinions.completed": OpinionsCompleted,
    "list.published": ListPublished,
    "award.decided": AwardDecided,
    "award.revoked": AwardRevoked,
}


class AssignmentRequested(EventPayload):
    """Review to itself, through its outbox: run this panel's assignment job on the worker."""

    job_id = _S(required=True)
    panel_id = _S(required=True)


SCHEMAS["assignment.requested"] = AssignmentRequested
