"""Request and response schemas of review's API (one declaration: validation, output, docs)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from services.review.bulk import BULK_LIMIT
from shared.pagination import PageQuery, page_schema

S = ma.fields.String
PLEDGE_SCOPES = ("session", "dossier")
_OPT: dict[str, Any] = {"load_default": None, "allow_none": True}


class Affiliation(ma.Schema):
    organisation = S(required=True, validate=validate.Length(min=1, max=200))
    credit_code = S(**_OPT)
    role = S(**_OPT)
    started_on = ma.fields.Date(**_OPT)
    ended_on = ma.fields.Date(**_OPT)


class Relation(ma.Schema):
    name = S(required=True, validate=validate.Length(min=1, max=200))
    credit_code = S(**_OPT)
    relation = S(required=True, validate=validate.Length(min=1, max=60))
    ended_on = ma.fields.Date(**_OPT)


class ExpertIn(ma.Schema):
    subject = S(required=True, validate=validate.Length(min=1, max=120))
    name = S(required=True, validate=validate.Length(min=1, max=100))
    organisation = S(required=True, validate=validate.Length(min=1, max=200))
    organisation_credit_code = S(validate=validate.Length(max=18), **_OPT)
    # `fields` and `load` are Schema's own names: declared under another, same key in and out.
    fields_ = ma.fields.List(S(validate=validate.Length(max=60)), load_default=list,
                             data_key="fields", attribute="fields")
    county = S(**_OPT)
    email = ma.fields.Email(**_OPT)
    phone = S(validate=validate.Length(max=40), **_OPT)
    language = S(validate=validate.OneOf(["zh-CN", "en"]), load_default="zh-CN")
    past_affiliations = ma.fields.List(ma.fields.Nested(Affiliation), load_default=list)
    relations = ma.fields.List(ma.fields.Nested(Relation), load_default=list)


class ExpertOut(ExpertIn):
    id = S()
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    past_affiliations = ma.fields.List(ma.fields.Dict())
    relations = ma.fields.List(ma.fields.Dict())


class ExpertQuery(PageQuery):
    q = S(load_default=None)
    field = S(load_default=None)
    county = S(load_default=None)


class ImportOut(ma.Schema):
    imported = ma.fields.Integer()
    conflicts_detected = ma.fields.Integer()


class ApplicationOut(ma.Schema):
    id = S()
    cycle = S()
    kind = S()
    applicant_name = S()
    unit = S()
    accepted_at = ma.fields.DateTime()
    documents = ma.fields.Integer()
    trade_secret_documents = ma.fields.Integer()
    active_conflicts = ma.fields.Integer()


class ApplicationQuery(PageQuery):
    cycle = S(load_default=None)
    kind = S(load_default=None)


class ConflictIn(ma.Schema):
    expert_id = S(load_default=None)
    application_id = S(required=True)
    ground = S(required=True)
    reason = S(required=True, validate=validate.Length(min=2, max=500))
    requested_by_applicant = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "operator records an applicant's written request to recuse"})


class WithdrawIn(ma.Schema):
    reason = S(required=True, validate=validate.Length(min=2, max=500))


class ConflictOut(ma.Schema):
    id = S()
    expert_id = S()
    expert_subject = S(metadata={"description": "the expert's account (sign-in) subject"})
    expert_name = S()
    application_id = S()
    applicant_name = S()
    ground = S()
    source = S()
    reason = S()
    recorded_by = S()
    recorded_at = ma.fields.DateTime()
    withdrawn_at = ma.fields.DateTime()
    withdrawn_by = S()
    withdrawal_reason = S()


class ConflictQuery(PageQuery):
    expert_id = S(load_default=None)
    application_id = S(load_default=None)
    active = ma.fields.Boolean(load_default=None)
    source = S(load_default=None)


class PanelIn(ma.Schema):
    cycle = S(required=True)
    stage = S(required=True, validate=validate.OneOf(["material", "on-site", "defence"]))
    per_application = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=50))
    max_load = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    require_field_match = ma.fields.Boolean(load_default=False)
    weight = ma.fields.Float(load_default=1.0, validate=validate.Range(min=0, max=100))
    deadline = ma.fields.Date(**_OPT)
    pool = ma.fields.List(S(), load_default=list,
                          metadata={"description": "expert ids; empty: every active expert"})
    applications = ma.fields.List(
        S(), load_default=list,
        metadata={"description": "application ids (a shortlist); empty: the whole cycle"})
    pledge_scope = S(load_default="session", validate=validate.OneOf(PLEDGE_SCOPES), metadata={
        "description": "what one confidentiality pledge covers: `session` (one per expert for "
                       "this stage, POST /panels/{id}/pledge) or `dossier` (one per dossier, "
                       "POST /dossiers/{app}/acknowledge)"})


class PanelSettingsIn(ma.Schema):
    """What may change on a panel before its assignment runs; keys left out stay as they are."""

    per_application = ma.fields.Integer(validate=validate.Range(min=1, max=50))
    max_load = ma.fields.Integer(validate=validate.Range(min=1, max=1000))
    require_field_match = ma.fields.Boolean()
    weight = ma.fields.Float(validate=validate.Range(min=0, max=100))
    deadline = ma.fields.Date(allow_none=True)
    pool = ma.fields.List(S())
    applications = ma.fields.List(S())
    pledge_scope = S(validate=validate.OneOf(PLEDGE_SCOPES))


class PanelOut(PanelIn):
    id = S()
    created_at = ma.fields.DateTime()


class AssignmentJobOut(ma.Schema):
    """A panel's assignment job (`assignment_jobs`): poll it until `status` is final."""

    id = S()
    panel_id = S()
    status = S(metadata={"description": "queued, running, done, failed or cancelled"})
    phase = S(metadata={"description": "queued, reading, solving, writing or finished"})
    fraction = ma.fields.Float(metadata={"description": "progress, 0 to 1"})
    cancel_requested = ma.fields.Boolean()
    requested_by = S()
    requested_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    pairs = ma.fields.Integer(allow_none=True, metadata={"description": "assignments written"})
    error_code = S(allow_none=True)
    error = ma.fields.Dict(keys=S(), values=S(), allow_none=True,
                           metadata={"description": "why it failed: {zh, en}"})


class AssignmentOut(ma.Schema):
    id = S()
    panel_id = S()
    application_id = S()
    applicant_name = S()
    expert_id = S()
    expert_subject = S()
    expert_name = S()
    status = S()
    affinity = ma.fields.Integer()
    explanation = ma.fields.Dict()
    created_at = ma.fields.DateTime()
    ended_at = ma.fields.DateTime()
    end_reason = S()


class CandidateOut(ma.Schema):
    expert_id = S()
    expert_subject = S()
    expert_name = S()
    eligible = ma.fields.Boolean()
    reasons = ma.fields.List(S())
    terms = ma.fields.Dict()
    affinity = ma.fields.Integer()
    load_ = ma.fields.Integer(data_key="load", attribute="load")
    max_load = ma.fields.Integer()
    assignment = S(allow_none=True, metadata={"description": "active / proposed / ended"})


class AssignmentQuery(PageQuery):
    panel_id = S(load_default=None)
    application_id = S(load_default=None)
    expert_id = S(load_default=None)
    status = S(load_default=None)


class DocumentOut(ma.Schema):
    document_id = S()
    requirement = S()
    filename = S()
    size = ma.fields.Integer()
    content_type = S()
    confidentiality = S()
    trade_secret = ma.fields.Boolean()
    available = ma.fields.Boolean()


class DossierOut(ma.Schema):
    application_id = S()
    cycle = S()
    kind = S()
    applicant_name = S()
    stages = ma.fields.List(S())
    scored_stages = ma.fields.List(S())
    panels = ma.fields.Dict(keys=S(), values=S(), metadata={"description": "stage → panel id"})
    acknowledged = ma.fields.Boolean()
    documents = ma.fields.List(ma.fields.Nested(DocumentOut))


class AckIn(ma.Schema):
    accept = ma.fields.Boolean(required=True, validate=validate.Equal(True))


class SessionPledgeOut(ma.Schema):
    panel_id = S()
    cycle = S()
    stage = S()
    pledge_scope = S()
    statement = S(metadata={"description": "the pledge's text as recorded"})
    pledged_at = ma.fields.DateTime()
    new = ma.fields.Boolean(metadata={"description": "false: the pledge was already given"})
    dossiers = ma.fields.Integer(metadata={"description": "dossiers it covers now"})


class RubricQuery(ma.Schema):
    cycle = S(load_default=None)


class RubricOut(ma.Schema):
    id = S()
    title = ma.fields.Dict()
    total = ma.fields.Float()
    floors = ma.fields.Dict()
    categories = ma.fields.List(ma.fields.Dict())


class ScoreIn(ma.Schema):
    items = ma.fields.Dict(keys=S(), values=ma.fields.Raw(), required=True)
    comment = S(**_OPT)


class BulkScoreIn(ScoreIn):
    application_id = S(required=True, validate=validate.Length(min=1, max=60))


class BulkScoresIn(ma.Schema):
    scores = ma.fields.List(ma.fields.Nested(BulkScoreIn), required=True,
                            validate=validate.Length(min=1, max=BULK_LIMIT))


class ScoreOut(ma.Schema):
    id = S()
    panel_id = S()
    application_id = S()
    expert_id = S()
    rubric = S()
    items = ma.fields.Dict()
    total = ma.fields.Float()
    comment = S()
    submitted_at = ma.fields.DateTime()


class DraftIn(ma.Schema):
    items = ma.fields.Dict(keys=S(), values=ma.fields.Raw(allow_none=True), required=True)
    comment = S(**_OPT)


class DraftOut(ma.Schema):
    id = S()
    panel_id = S()
    application_id = S()
    items = ma.fields.Dict()
    comment = S()
    saved_at = ma.fields.DateTime()


class ScoreQuery(PageQuery):
    panel_id = S(load_default=None)
    application_id = S(load_default=None)


class ResultOut(ma.Schema):
    application_id = S()
    applicant_name = S()
    kind = S()
    stages = ma.fields.Dict()
    score = ma.fields.Float(allow_none=True)
    max = ma.fields.Float()
    experts = ma.fields.Dict()
    rank = ma.fields.Integer(allow_none=True)
    tier = S(allow_none=True)
    note = S()


class ListIn(ma.Schema):
    starts_on = ma.fields.Date(load_default=None)
    # Required (at least 4 characters) where publishing departs from the order of the Measures:
    # a start in the past (e.g. 已在报刊公示), or before the acceptance publicity ends.
    reason = S(validate=validate.Length(max=500), **_OPT)


class ListOut(ma.Schema):
    id = S()
    cycle = S()
    kind = S()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    entries = ma.fields.List(ma.fields.Dict())
    published_at = ma.fields.DateTime()
    open_objections = ma.fields.Integer()
    deviations = ma.fields.List(S(), metadata={
        "description": "Departures from the order of the Measures: start_in_past, "
                       "acceptance_running"})
    deviation_reason = S(allow_none=True)
    notice = ma.fields.Dict(allow_none=True, metadata={
        "description": "Issuing office and objection channels the public notice names"})


class ListQuery(PageQuery):
    cycle = S(load_default=None)
    kind = S(load_default=None)


class ObjectionIn(ma.Schema):
    application_id = S(**_OPT)
    anonymous = ma.fields.Boolean(load_default=False)
    reporter_name = S(validate=validate.Length(max=100), **_OPT)
    reporter_contact = S(validate=validate.Length(max=200), **_OPT)
    text = S(required=True, validate=validate.Length(min=5, max=10000))
    evidence = ma.fields.List(S(validate=validate.Length(max=500)), load_default=list)


class EvidenceFileOut(ma.Schema):
    n = ma.fields.Integer(metadata={"description": "GET /objections/{id}/evidence/{n}"})
    filename = S()
    size = ma.fields.Integer()
    content_type = S()
    sha256 = S()


class ObjectionOut(ma.Schema):
    id = S()
    list_id = S()
    application_id = S()
    anonymous = ma.fields.Boolean()
    text = S()
    evidence = ma.fields.List(S())
    evidence_files = ma.fields.List(ma.fields.Nested(EvidenceFileOut))
    status = S()
    resolution = S()
    received_at = ma.fields.DateTime()
    investigating_since = ma.fields.DateTime(allow_none=True)
    resolved_at = ma.fields.DateTime()
    answer = S(allow_none=True)


class ObjectionReceiptOut(ObjectionOut):
    receipt_code = S(metadata={"description": "Give it to the reporter: it opens the public "
                                              "follow-up page (status and answer, no identity)"})


class FollowOut(ma.Schema):
    receipt_code = S()
    status = S(metadata={"description": "received, investigating or answered"})
    received_at = ma.fields.DateTime()
    investigating_since = ma.fields.DateTime(allow_none=True)
    answered_at = ma.fields.DateTime(allow_none=True)
    outcome = S(allow_none=True)
    answer = S(allow_none=True)
    list_kind = S()
    cycle_title = S()


class ObjectionQuery(PageQuery):
    list_id = S(load_default=None)
    status = S(load_default=None)


class ReporterOut(ma.Schema):
    objection_id = S()
    anonymous = ma.fields.Boolean()
    subject = S(allow_none=True)
    name = S(allow_none=True)
    contact = S(allow_none=True)


class ResolveIn(ma.Schema):
    outcome = S(required=True, validate=validate.OneOf(["upheld", "dismissed"]))
    resolution = S(required=True, validate=validate.Length(min=2, max=5000))
    # The answer the reporter reads on the follow-up page; without it only the outcome shows.
    answer = S(validate=validate.Length(max=5000), **_OPT)


class OpinionIn(ma.Schema):
    department = S(required=True)
    favourable = ma.fields.Boolean(required=True)
    reference = S(required=True, validate=validate.Length(min=1, max=200))
    note = S(**_OPT)


class BulkOpinionsIn(ma.Schema):
    opinions = ma.fields.List(ma.fields.Nested(OpinionIn), required=True,
                              validate=validate.Length(min=1, max=BULK_LIMIT))


class OpinionOut(ma.Schema):
    id = S()
    application_id = S()
    department = S()
    favourable = ma.fields.Boolean()
    reference = S()
    note = S()
    recorded_at = ma.fields.DateTime()


class OpinionStatusOut(ma.Schema):
    application_id = S()
    sector = S()
    required = ma.fields.List(S())
    missing = ma.fields.List(S())
    opinions = ma.fields.List(ma.fields.Nested(OpinionOut))


class DecisionIn(ma.Schema):
    reference = S(**_OPT)


class AwardOut(ma.Schema):
    id = S()
    cycle = S()
    year = ma.fields.Integer()
    application_id = S()
    applicant_name = S()
    kind = S()
    tier = S()
    score = ma.fields.Float()
    amount = ma.fields.Integer()
    serial = S()
    decided_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime()
    revocation = ma.fields.Dict(allow_none=True)


class AwardQuery(PageQuery):
    cycle = S(load_default=None)
    tier = S(load_default=None)


class RevokeIn(ma.Schema):
    ground = S(required=True)
    evidence = ma.fields.List(S(validate=validate.Length(min=1, max=500)), required=True)
    note = S(**_OPT)
    amount_to_recover = ma.fields.Integer(load_default=None, allow_none=True)
    year = ma.fields.Integer(load_default=None, allow_none=True)


class RecoveryIn(ma.Schema):
    amount = ma.fields.Integer(required=True, validate=validate.Range(min=1))
    reference = S(required=True, validate=validate.Length(min=1, max=200),
                  metadata={"description": "receipt or payment reference (kept in the audit)"})


class VerifyOut(ma.Schema):
    serial = S()
    valid = ma.fields.Boolean()
    holder = S()
    tier = S()
    year = ma.fields.Integer()
    revoked = ma.fields.Boolean()


class AuditQuery(PageQuery):
    action = S(load_default=None)
    actor = S(load_default=None)
    target = S(load_default=None)


class AuditOut(ma.Schema):
    seq = ma.fields.Integer()
    at = ma.fields.DateTime()
    actor = S()
    role = S()
    action = S()
    target = S()
    detail = ma.fields.Dict()
    hash = S()


class AuditPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditOut))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    chain_ok = ma.fields.Boolean()
    chain_records = ma.fields.Integer()


ExpertPage = page_schema(ExpertOut, "ExpertPage")
ConflictPage = page_schema(ConflictOut, "ConflictPage")
AssignmentPage = page_schema(AssignmentOut, "AssignmentPage")
DossierPage = page_schema(DossierOut, "DossierPage")
ScorePage = page_schema(ScoreOut, "ScorePage")
ListPage = page_schema(ListOut, "ListPage")
ObjectionPage = page_schema(ObjectionOut, "ObjectionPage")
AwardPage = page_schema(AwardOut, "AwardPage")
ApplicationPage = page_schema(ApplicationOut, "ApplicationPage")
PanelPage = page_schema(PanelOut, "PanelPage")
