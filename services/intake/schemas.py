"""Request and response bodies of intake's API."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from services.intake.applications import CONFIDENTIALITY, KINDS


class ApplicationIn(ma.Schema):
    cycle = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Za-z_-]{1,20}$"))
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
    created_at = ma.fields.DateTime()


class DocumentOut(ma.Schema):
    id = ma.fields.String()
    requirement = ma.fields.String()
    created_at = ma.fields.DateTime()
    versions = ma.fields.List(ma.fields.Nested(VersionOut))


class ApplicationOut(ma.Schema):
    id = ma.fields.String()
    owner = ma.fields.String()
    cycle = ma.fields.String()
    kind = ma.fields.String()
    name = ma.fields.String()
    status = ma.fields.String()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    # Embedded so a packet page needs one request, not one per document.
    documents = ma.fields.List(ma.fields.Nested(DocumentOut))


class ApplicationQuery(ma.Schema):
    status = ma.fields.String()
    cycle = ma.fields.String()


class UploadQuery(ma.Schema):
    requirement = ma.fields.String()
    confidentiality = ma.fields.String(validate=validate.OneOf(CONFIDENTIALITY))
    filename = ma.fields.String()
