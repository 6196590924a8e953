"""Review's HTTP API: the expert registry (more in the review issue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from marshmallow import validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.review.models import Expert
from shared.errors import Conflict
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, page_schema, paginate

blp = Blueprint("review", __name__, url_prefix="/api", description="Experts")


class ExpertIn(ma.Schema):
    subject = ma.fields.String(required=True, validate=validate.Length(min=1, max=120))
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    organisation = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    fields = ma.fields.List(ma.fields.String(validate=validate.Length(max=60)), load_default=list)
    county = ma.fields.String(load_default=None, allow_none=True)


class ExpertOut(ExpertIn):
    id = ma.fields.String()
    created_at = ma.fields.DateTime()


ExpertPage = page_schema(ExpertOut, "ExpertPage")


@blp.get("/experts")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, ExpertPage)
@roles("operator", "supervisor", "admin")
def list_experts(page: int, per_page: int) -> dict[str, Any]:
    with service_context().db.reader() as session:
        return paginate(session, select(Expert).order_by(Expert.name), page, per_page)


@blp.post("/experts")
@blp.arguments(ExpertIn)
@blp.response(201, ExpertOut)
@roles("operator", "admin")
def create_expert(body: dict[str, Any]) -> Expert:
    ctx = service_context()
    who = current_principal()
    expert = Expert(id=str(uuid.uuid4()), created_at=datetime.now(UTC), **body)
    try:
        with ctx.db.session() as session:
            session.add(expert)
            session.flush()
            ctx.audit.append(session, actor=who.subject, role=who.role, action="expert.created",
                             target=f"expert:{expert.id}", detail={"subject": expert.subject})
    except IntegrityError as exc:
        raise Conflict("expert.exists", zh="该专家账号已登记。",
                       en="An expert with this account already exists.") from exc
    return expert
