"""Request and response bodies of intake's API."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from services.intake.accounts import ACCOUNT_ROLES
from services.intake.applications import KINDS
from services.intake.cycles import STAGES, STATUSES, stages_of
from services.intake.material import CONFIDENTIALITY
from services.intake.personal_tokens import is_live

CYCLE_ID = validate.Regexp(r"^[0-9A-Za-z_-]{1,20}$")
STATUS = validate.OneOf(("draft", "submitted", "returned", "recommended", "accepted",
                         "rejected"))
PAGES = ma.fields.List(ma.fields.List(ma.fields.Integer(), validate=validate.Length(equal=2)))


# -- cycles -----------------------------------------------------------------------------------

class Caps(ma.Schema):
    awards = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=1000))
    nominations = ma.fields.Integer(required=True, validate=validate.Range(min=0, max=1000))


class StageIn(ma.Schema):
    stage = ma.fields.String(required=True, validate=validate.OneOf(STAGES))
    starts_on = ma.fields.Date(allow_none=True, load_default=None)
    ends_on = ma.fields.Date(allow_none=True, load_default=None)


class CycleIn(ma.Schema):
    year = ma.fields.Integer(validate=validate.Range(min=2000, max=2200))
    title = ma.fields.String(validate=validate.Length(min=1, max=200))
    opens_on = ma.fields.Date()
    closes_on = ma.fields.Date()
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    caps = ma.fields.Nested(Caps)
    catalogue = ma.fields.String(allow_none=True, validate=validate.Length(max=60))
    programme = ma.fields.String(validate=validate.Length(min=1, max=60))
    stages = ma.fields.List(ma.fields.Nested(StageIn), metadata={
        "description": "review stages in order (material, on-site, defence) with planned "
                       "dates; the material review is always held"})


class CycleOut(ma.Schema):
    id = ma.fields.String()
    programme = ma.fields.String()
    year = ma.fields.Integer()
    title = ma.fields.String()
    opens_on = ma.fields.Date()
    closes_on = ma.fields.Date()
    status = ma.fields.String()
    caps = ma.fields.Function(lambda c: {"awards": c.caps_awards,
                                         "nominations": c.caps_nominations})
    catalogue = ma.fields.String(allow_none=True)
    stages = ma.fields.Function(stages_of)
    updated_at = ma.fields.DateTime()


class RequirementListOut(ma.Schema):
    """The requirements of a cycle's catalogue as the documents service last announced them."""

    cycle = ma.fields.String()
    catalogue = ma.fields.String(metadata={"description": "catalogue version"})
    catalogue_title = ma.fields.Dict(allow_none=True)
    kinds = ma.fields.Dict(metadata={
        "description": "{organisation|individual: [{id, title {zh-CN, en}, required, "
                       "provided_by, formats, multiple}]}"})
    published_at = ma.fields.DateTime()
    pending = ma.fields.Function(lambda _row: [], metadata={
        "description": "Always empty: while the list is being prepared the answer is 404 "
                       "`cycle.requirements_pending` (or, with `?wait=`, held until it is "
                       "published)"})


class CycleQuery(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES))
    programme = ma.fields.String()
    year = ma.fields.Integer()


# -- units and accounts -----------------------------------------------------------------------

class UnitOut(ma.Schema):
    code = ma.fields.String()
    kind = ma.fields.String()
    route = ma.fields.String()
    name = ma.fields.String()
    name_en = ma.fields.String()
    active = ma.fields.Boolean()


class UnitIn(ma.Schema):
    """A unit as the units page edits it; the code is the address's (never changed)."""

    kind = ma.fields.String(required=True, validate=validate.OneOf(("county", "zone",
                                                                    "industry")))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    name_en = ma.fields.String(allow_none=True, validate=validate.Length(max=200))
    active = ma.fields.Boolean(load_default=True)


class UnitQuery(ma.Schema):
    kind = ma.fields.String(validate=validate.OneOf(("county", "zone", "industry")))
    route = ma.fields.String(validate=validate.OneOf(("county", "industry")))


class AccountIn(ma.Schema):
    role = ma.fields.String(required=True, validate=validate.OneOf(ACCOUNT_ROLES))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = ma.fields.Email(allow_none=True)
    language = ma.fields.String(load_default="zh-CN", validate=validate.OneOf(("zh-CN", "en")))
    unit = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean(load_default=True)


class MyAccountIn(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = ma.fields.Email(allow_none=True)
    language = ma.fields.String(load_default="zh-CN", validate=validate.OneOf(("zh-CN", "en")))


class AccountOut(ma.Schema):
    subject = ma.fields.String()
    role = ma.fields.String()
    name = ma.fields.String()
    email = ma.fields.String(allow_none=True)
    language = ma.fields.String()
    unit = ma.fields.String(allow_none=True)
    active = ma.fields.Boolean()
    updated_at = ma.fields.DateTime()


class AccountQuery(ma.Schema):
    role = ma.fields.String(validate=validate.OneOf(ACCOUNT_ROLES))
    unit = ma.fields.String()
    active = ma.fields.Boolean()


# -- applications -----------------------------------------------------------------------------

class RelatedIn(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    credit_code = ma.fields.String(allow_none=True, load_default=None,
                                   validate=validate.Length(max=30))
    relation = ma.fields.String(required=True, validate=validate.Length(min=1, max=60),
                                metadata={"description": "e.g. 控股股东, 子公司, 母公司"})


class ProfileIn(ma.Schema):
    """The applicant's details; organisation and individual fields are exclusive."""

    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    credit_code = ma.fields.String(allow_none=True, validate=validate.Length(max=30))
    county = ma.fields.String(allow_none=True)
    industry = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    founded_on = ma.fields.Date(allow_none=True)
    legal_representative = ma.fields.String(allow_none=True, validate=validate.Length(max=100))
    id_number = ma.fields.String(allow_none=True, validate=validate.Length(max=30),
                                 metadata={"description": "Stored encrypted, shown masked"})
    employer = ma.fields.String(allow_none=True, validate=validate.Length(max=200))
    employer_credit_code = ma.fields.String(allow_none=True, validate=validate.Length(max=30))
    quality_years = ma.fields.Integer(allow_none=True, validate=validate.Range(min=0, max=80))
    attest_no_violation = ma.fields.Boolean(allow_none=True)
    attest_no_accident = ma.fields.Boolean(allow_none=True)
    related = ma.fields.List(ma.fields.Nested(RelatedIn), validate=validate.Length(max=100),
                             metadata={"description": "Related organisations, for conflict "
                                                      "checks by the reviewers"})


class ApplicationIn(ProfileIn):
    cycle = ma.fields.String(required=True, validate=CYCLE_ID)
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))


class VersionOut(ma.Schema):
    id = ma.fields.String()
    document_id = ma.fields.String()
    number = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    confidentiality = ma.fields.String(validate=validate.OneOf(CONFIDENTIALITY))
    secret_pages = PAGES
    frozen = ma.fields.Function(lambda v: v.frozen_until is not None)
    inspection = ma.fields.Dict(allow_none=True)
    classification_marks = ma.fields.List(ma.fields.String(), allow_none=True)
    created_at = ma.fields.DateTime()


class BatchOut(ma.Schema):
    versions = ma.fields.List(ma.fields.Nested(VersionOut),
                              metadata={"description": "One per file part, in their order"})


class DocumentOut(ma.Schema):
    id = ma.fields.String()
    requirement = ma.fields.String()
    created_at = ma.fields.DateTime()
    versions = ma.fields.List(ma.fields.Nested(VersionOut))


class TransitionOut(ma.Schema):
    at = ma.fields.DateTime()
    actor = ma.fields.String()
    role = ma.fields.String()
    action = ma.fields.String()
    from_status = ma.fields.String()
    to_status = ma.fields.String()
    submission = ma.fields.Integer()
    note = ma.fields.String(allow_none=True)


class ApplicationOut(ma.Schema):
    id = ma.fields.String()
    case_number = ma.fields.String(allow_none=True)
    owner = ma.fields.String()
    cycle = ma.fields.String()
    kind = ma.fields.String()
    name = ma.fields.String()
    status = ma.fields.String()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    credit_code = ma.fields.String(allow_none=True)
    county = ma.fields.String(allow_none=True)
    industry = ma.fields.String(allow_none=True)
    founded_on = ma.fields.Date(allow_none=True)
    legal_representative = ma.fields.String(allow_none=True)
    id_number = ma.fields.String(attribute="id_masked", allow_none=True,
                                 metadata={"description": "Masked"})
    employer = ma.fields.String(allow_none=True)
    employer_credit_code = ma.fields.String(allow_none=True)
    quality_years = ma.fields.Integer(allow_none=True)
    related = ma.fields.List(ma.fields.Dict(), allow_none=True)
    attest_no_violation = ma.fields.Boolean(allow_none=True)
    attest_no_accident = ma.fields.Boolean(allow_none=True)
    attest_no_state_secrets = ma.fields.Boolean(allow_none=True)
    attest_authentic = ma.fields.Boolean(allow_none=True)
    waiver_reference = ma.fields.String(allow_none=True)
    publicity_starts_on = ma.fields.Date(allow_none=True)
    publicity_ends_on = ma.fields.Date(allow_none=True)
    publicity_document_id = ma.fields.String(allow_none=True)
    route = ma.fields.String(allow_none=True)
    unit = ma.fields.String(allow_none=True)
    submission = ma.fields.Integer()
    submitted_at = ma.fields.DateTime(allow_none=True)
    opinion = ma.fields.String(allow_none=True)
    government_reference = ma.fields.String(allow_none=True)
    completeness = ma.fields.String(allow_none=True)
    completeness_report = ma.fields.Dict(allow_none=True)
    flagged = ma.fields.Boolean(metadata={"description": "A current document carries a "
                                                         "classification mark"})
    # Embedded so a packet page needs one request, not one per document.
    documents = ma.fields.List(ma.fields.Nested(DocumentOut))


class PendingOut(ma.Schema):
    """Work the system still has under way (`services/intake/pending.py`)."""

    class Meta:
        ordered = True

    code = ma.fields.String(metadata={"description": "requirements.pending, "
                                      "inspection.running or completeness.report"})
    zh_cn = ma.fields.String(data_key="zh-CN", attribute="zh-CN")
    en = ma.fields.String()
    requirement = ma.fields.String(metadata={"description": "inspection.running: the "
                                             "requirement whose files are being checked"})
    versions = ma.fields.List(ma.fields.String(), metadata={"description": "inspection."
                                                            "running: those versions' ids"})


PENDING = ma.fields.List(ma.fields.Nested(PendingOut), metadata={
    "description": "What the system is still working on (waiting with `?wait=` brings it); "
                   "empty: nothing, what is left is for people to do"})


class ChecklistFileOut(ma.Schema):
    version_id = ma.fields.String()
    document_id = ma.fields.String()
    number = ma.fields.Integer()
    filename = ma.fields.String()
    inspection = ma.fields.String(metadata={"description": "pending, passed, failed, marked"})


class ChecklistRowOut(ma.Schema):
    requirement = ma.fields.String()
    title = ma.fields.Dict(metadata={"description": "{zh-CN, en}; the id while the cycle's "
                                     "list has not arrived"})
    required = ma.fields.Boolean()
    state = ma.fields.String(metadata={"description": "met, missing, invalid, attention, "
                                       "pending (being checked) or optional"})
    files = ma.fields.List(ma.fields.Nested(ChecklistFileOut))
    reasons = ma.fields.List(ma.fields.Dict(), metadata={"description": "[{zh-CN, en}]"})
    marks = ma.fields.List(ma.fields.String())


class ChecklistOut(ma.Schema):
    """The applicant's checklist: documents' verdict per requirement on the current versions."""

    application_id = ma.fields.String()
    status = ma.fields.String(allow_none=True, metadata={
        "description": "pending, complete, incomplete, attention; null before anything is "
                       "uploaded or judged"})
    counts = ma.fields.Dict()
    submission = ma.fields.Integer(allow_none=True)
    known = ma.fields.Boolean(metadata={"description": "false while the cycle's requirement "
                                        "list has not arrived"})
    rows = ma.fields.List(ma.fields.Nested(ChecklistRowOut))
    pending = PENDING


class ApplicationDetail(ApplicationOut):
    pending = PENDING
    history = ma.fields.List(ma.fields.Nested(TransitionOut))
    eligibility = ma.fields.Dict(metadata={
        "description": "Eligibility as the cycle's dates stand now: `eligible`, `counted_to` "
                       "(the application deadline operating years count to), `basis` (that "
                       "date in words), `failures` (code, zh-CN, en); the full check after "
                       "submission, attestations not yet given are no failure in a draft"})


class StageOut(ma.Schema):
    key = ma.fields.String(metadata={"description": "submitted, recommended, accepted, "
                                     "rejected, in_review, publicity, result, award, "
                                     "nomination, not_awarded or revoked"})
    state = ma.fields.String(validate=validate.OneOf(("done", "current", "upcoming",
                                                      "skipped")))
    on = ma.fields.Date(allow_none=True)
    until = ma.fields.Date(allow_none=True)


class TimelineOut(ma.Schema):
    application_id = ma.fields.String()
    case_number = ma.fields.String(allow_none=True)
    headline = ma.fields.String()
    stages = ma.fields.List(ma.fields.Nested(StageOut))
    tier = ma.fields.String(allow_none=True)
    decided_on = ma.fields.Date(allow_none=True)


class ApplicationQuery(ma.Schema):
    status = ma.fields.String(validate=STATUS)
    cycle = ma.fields.String()
    kind = ma.fields.String(validate=validate.OneOf(KINDS))
    unit = ma.fields.String()
    route = ma.fields.String(validate=validate.OneOf(("county", "industry")))
    county = ma.fields.String()
    flagged = ma.fields.Boolean()
    completeness = ma.fields.String()
    q = ma.fields.String(validate=validate.Length(min=1, max=100),
                         metadata={"description": "Part of the applicant's name"})


class UploadQuery(ma.Schema):
    requirement = ma.fields.String()
    confidentiality = ma.fields.String(validate=validate.OneOf(CONFIDENTIALITY))
    secret_pages = ma.fields.String(metadata={"description": "e.g. 1-3,7"})
    document_id = ma.fields.String(metadata={"description": "Upload a new version of it"})
    filename = ma.fields.String()


class ConfidentialityIn(ma.Schema):
    confidentiality = ma.fields.String(required=True, validate=validate.OneOf(CONFIDENTIALITY))
    secret_pages = ma.fields.Raw(load_default=None,
                                 metadata={"description": "[[first, last], …] or \"1-3,7\""})


class PublicityIn(ma.Schema):
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    document_id = ma.fields.String(required=True)


class SubmitIn(ma.Schema):
    route = ma.fields.String(required=True, validate=validate.OneOf(("county", "industry")))
    unit = ma.fields.String(allow_none=True,
                            metadata={"description": "The industry authority (industry route)"})
    attest_no_state_secrets = ma.fields.Boolean(required=True)
    attest_authentic = ma.fields.Boolean(required=True)
    attest_no_violation = ma.fields.Boolean()
    attest_no_accident = ma.fields.Boolean()


class OpinionIn(ma.Schema):
    opinion = ma.fields.String(required=True, validate=validate.Length(min=1, max=4000))
    government_reference = ma.fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "County route: the county government's (or committee's) "
                                 "recommendation document"})


class ReasonsIn(ma.Schema):
    reasons = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=2000)),
                             required=True, validate=validate.Length(min=1, max=50))


class WaiverIn(ma.Schema):
    reference = ma.fields.String(required=True, validate=validate.Length(min=1, max=200),
                                 metadata={"description": "The city government's document"})


class WaiverOut(ma.Schema):
    cycle = ma.fields.String()
    credit_code = ma.fields.String()
    reference = ma.fields.String()
    recorded_by = ma.fields.String()
    recorded_at = ma.fields.DateTime()


class AcceptanceIn(ma.Schema):
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(load_default=None,
                             metadata={"description": "Default: 5 working days"})
    reason = ma.fields.String(load_default=None, validate=validate.Length(max=500), metadata={
        "description": "Required (4+ characters) when starts_on is before today, e.g. "
                       "已在报刊公示; audited and shown with the list"})


class AcceptanceOut(ma.Schema):
    id = ma.fields.String()
    cycle = ma.fields.String()
    starts_on = ma.fields.Date()
    ends_on = ma.fields.Date()
    entries = ma.fields.List(ma.fields.Dict())
    published_by = ma.fields.String()
    published_at = ma.fields.DateTime()
    deviation_reason = ma.fields.String(allow_none=True)


class AwardHistoryModeIn(ma.Schema):
    mode = ma.fields.String(load_default="preview", validate=validate.OneOf(("preview",
                                                                                 "commit")),
                            metadata={"description": "preview: check and show what would "
                                      "change, write nothing; commit: all rows or none"})


class AwardHistoryFileIn(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={
        "type": "string", "format": "binary",
        "description": "CSV (UTF-8 or GBK) or XLSX; columns 奖项, 届次, 年度 (optional), "
                       "统一社会信用代码或身份证号, 名称, 等次 (获奖/提名), 撤销日期, 撤销理由"})


class AwardHistoryRowOut(ma.Schema):
    line = ma.fields.Integer(metadata={"description": "Row number as a spreadsheet shows it"})
    status = ma.fields.String(metadata={"description": "new | updated | unchanged | invalid"})
    errors = ma.fields.List(ma.fields.Dict(), metadata={"description": "{zh-CN, en} each"})
    changes = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "What an `updated` row changes in the stored record, {zh-CN, en} each"})
    values = ma.fields.Dict()


class AwardHistoryReportOut(ma.Schema):
    filename = ma.fields.String()
    sha256 = ma.fields.String()
    committed = ma.fields.Boolean()
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    rows = ma.fields.List(ma.fields.Nested(AwardHistoryRowOut))


class AwardHistoryRecordOut(ma.Schema):
    programme = ma.fields.String()
    year = ma.fields.Integer()
    cycle_title = ma.fields.String()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "organisation | individual"})
    credit_code = ma.fields.String(allow_none=True,
                                   metadata={"description": "Organisations only; a person's "
                                             "identity number is not stored"})
    tier = ma.fields.String(metadata={"description": "award | nomination"})
    revoked_on = ma.fields.Date(allow_none=True)
    ground = ma.fields.String(allow_none=True)
    source = ma.fields.String(metadata={"description": "File, import date and row"})
    imported_at = ma.fields.DateTime()


# -- signing in and personal tokens through the API --------------------------------------------

class RegisterIn(ma.Schema):
    """What the registration page asks for; `password_again` is the page's, not the API's."""

    kind = ma.fields.String(required=True, validate=validate.OneOf(("organisation",
                                                                     "individual")))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    credit_code = ma.fields.String(load_default="", validate=validate.Length(max=30))
    id_number = ma.fields.String(load_default="", validate=validate.Length(max=30))
    email = ma.fields.String(required=True, validate=validate.Length(max=200))
    password = ma.fields.String(required=True, load_only=True,
                                validate=validate.Length(max=256))
    language = ma.fields.String(load_default="zh-CN", validate=validate.OneOf(("zh-CN", "en")))


class SignInIn(ma.Schema):
    login = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = ma.fields.String(required=True, load_only=True,
                                validate=validate.Length(max=256))


class SignInOut(ma.Schema):
    token = ma.fields.String(metadata={"description": "Bearer token for every service"})
    token_type = ma.fields.String()
    expires_in = ma.fields.Integer(metadata={"description": "seconds"})
    subject = ma.fields.String()
    role = ma.fields.String()


class MeOut(ma.Schema):
    subject = ma.fields.String()
    role = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    kind = ma.fields.String(allow_none=True, metadata={
        "description": "organisation | individual for applicants; null otherwise"})
    unit = ma.fields.String(allow_none=True)
    unit_name = ma.fields.String(allow_none=True)
    login = ma.fields.String(allow_none=True, metadata={
        "description": "what the person signs in with (an identity number masked)"})
    email = ma.fields.String(allow_none=True)
    language = ma.fields.String(allow_none=True)
    personal_token = ma.fields.String(allow_none=True, metadata={
        "description": "id of the personal token this request carries, if any"})


class TokenIn(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=80))
    days = ma.fields.Integer(load_default=90, validate=validate.Range(min=1, max=365))


class TokenOut(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    role = ma.fields.String()
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    revoked_at = ma.fields.DateTime(allow_none=True)
    live = ma.fields.Function(lambda row: is_live(row), metadata={
        "description": "neither revoked nor expired"})


class TokenMade(TokenOut):
    token = ma.fields.String(metadata={"description": "shown this once; only its hash is kept"})
