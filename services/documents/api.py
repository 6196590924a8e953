"""Documents' HTTP API: inspection verdicts."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from sqlalchemy import select

from services.documents.models import Inspection
from shared.errors import NotFound
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, page_schema, paginate

blp = Blueprint("documents", __name__, url_prefix="/api", description="Inspections")


class InspectionOut(ma.Schema):
    version_id = ma.fields.String()
    application_id = ma.fields.String()
    document_id = ma.fields.String()
    filename = ma.fields.String()
    sha256 = ma.fields.String()
    size = ma.fields.Integer()
    ok = ma.fields.Boolean()
    format = ma.fields.String(allow_none=True)
    pages = ma.fields.Integer(allow_none=True)
    encrypted = ma.fields.Boolean()
    error_code = ma.fields.String(allow_none=True)
    error_message = ma.fields.Dict(allow_none=True)
    inspected_at = ma.fields.DateTime()


class InspectionQuery(ma.Schema):
    application_id = ma.fields.String()


InspectionPage = page_schema(InspectionOut, "InspectionPage")
READERS = ("applicant", "operator", "supervisor", "admin", "recommender")


def _scoped(query: Any) -> Any:
    who = current_principal()
    if who.role == "applicant":
        query = query.where(Inspection.owner == who.subject)
    return query


@blp.get("/inspections")
@blp.arguments(InspectionQuery, location="query")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, InspectionPage)
@roles(*READERS)
def list_inspections(filters: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    query = _scoped(select(Inspection).order_by(Inspection.inspected_at.desc()))
    if "application_id" in filters:
        query = query.where(Inspection.application_id == filters["application_id"])
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


@blp.get("/inspections/<version_id>")
@blp.response(200, InspectionOut)
@roles(*READERS)
def get_inspection(version_id: str) -> Inspection:
    with service_context().db.reader() as session:
        found = session.execute(_scoped(select(Inspection).where(
            Inspection.version_id == version_id))).scalar_one_or_none()
    if found is None:
        raise NotFound(detail=f"inspection {version_id}")
    return found
