"""Request and response schemas of documents' HTTP API (one declaration: validation, output,
OpenAPI)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from shared.pagination import page_schema


class InspectionOut(ma.Schema):
    version_id = ma.fields.String()
    application_id = ma.fields.String()
    document_id = ma.fields.String()
    requirement = ma.fields.String(allow_none=True)
    filename = ma.fields.String()
    sha256 = ma.fields.String()
    size = ma.fields.Integer()
    ok = ma.fields.Boolean()
    format = ma.fields.String(allow_none=True)
    pages = ma.fields.Integer(allow_none=True)
    encrypted = ma.fields.Boolean()
    text_layer = ma.fields.Boolean(allow_none=True)
    scanned = ma.fields.Boolean(allow_none=True)
    characters = ma.fields.Integer(allow_none=True)
    javascript = ma.fields.Boolean()
    embedded_files = ma.fields.Integer()
    classification_marks = ma.fields.List(ma.fields.String())
    error_code = ma.fields.String(allow_none=True)
    error_message = ma.fields.Dict(allow_none=True, metadata={"description": "zh-CN and en"})
    details = ma.fields.Dict(metadata={
        "description": "The full verdict: headings, outline, page size, warnings, … (not the "
                       "text preview of a DOCX)"})
    inspected_at = ma.fields.DateTime()

    @ma.post_dump
    def _without_text(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        # The file's own text is its content: it is read in the material viewer, where each
        # read by someone other than the owner is audited, not through the facts of a check.
        if isinstance(data.get("details"), dict):
            data["details"] = {k: v for k, v in data["details"].items() if k != "preview"}
        return data


class InspectionQuery(ma.Schema):
    application_id = ma.fields.String()
    document_id = ma.fields.String()
    requirement = ma.fields.String()
    ok = ma.fields.Boolean()
    format = ma.fields.String()


class Counts(ma.Schema):
    met = ma.fields.Integer()
    missing = ma.fields.Integer()
    invalid = ma.fields.Integer()
    attention = ma.fields.Integer()


class ReportSummary(ma.Schema):
    id = ma.fields.String()
    application_id = ma.fields.String()
    submission = ma.fields.Integer(metadata={"description": "0: the live draft checklist"})
    cycle = ma.fields.String()
    owner = ma.fields.String()
    unit = ma.fields.String(allow_none=True)
    kind = ma.fields.String(allow_none=True)
    catalogue = ma.fields.String()
    status = ma.fields.String(metadata={"description": "complete / incomplete / attention"})
    pending = ma.fields.Integer(metadata={"description": "documents still being inspected"})
    counts = ma.fields.Nested(Counts)
    missing = ma.fields.Method("_missing")
    computed_at = ma.fields.DateTime()
    announced_at = ma.fields.DateTime(allow_none=True)

    def _missing(self, report: object) -> list[str]:
        return [i["requirement"] for i in getattr(report, "items", None) or []
                if i.get("status") == "missing"]


class ReportOut(ReportSummary):
    items = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "One per requirement: status, reasons (zh-CN, en), evidence"})
    unexpected = ma.fields.List(ma.fields.Dict())


class ReportQuery(ma.Schema):
    application_id = ma.fields.String()
    cycle = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(["complete", "incomplete",
                                                          "attention"]))
    submitted = ma.fields.Boolean(metadata={"description": "true: submission reports only; "
                                            "false: draft checklists only"})


class CompletenessQuery(ma.Schema):
    submission = ma.fields.Integer(validate=ma.validate.Range(min=0))


class CatalogueQuery(ma.Schema):
    cycle = ma.fields.String()
    version = ma.fields.String()
    kind = ma.fields.String(validate=ma.validate.OneOf(["organisation", "individual"]))


class CatalogueOut(ma.Schema):
    version = ma.fields.String()
    title = ma.fields.Dict()
    paper = ma.fields.String(allow_none=True)
    kinds = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.Dict()))


InspectionPage = page_schema(InspectionOut, "InspectionPage")
ReportPage = page_schema(ReportSummary, "ReportPage")
