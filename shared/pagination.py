"""One way to page every list: `?page=&per_page=` in, `{items, page, per_page, total}` out."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PER_PAGE = 200


class PageQuery(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=50,
                                 validate=ma.validate.Range(min=1, max=MAX_PER_PAGE))


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A response schema `{items: [item], page, per_page, total}` named for OpenAPI."""
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item)),
        "page": ma.fields.Integer(),
        "per_page": ma.fields.Integer(),
        "total": ma.fields.Integer(),
    })


def paginate(session: Session, query: Select[Any], page: int, per_page: int,
             scalars: bool = True) -> dict[str, Any]:
    total = session.execute(select(func.count()).select_from(query.order_by(None).subquery())
                            ).scalar_one()
    result = session.execute(query.limit(per_page).offset((page - 1) * per_page))
    items = list(result.scalars()) if scalars else list(result)
    return {"items": items, "page": page, "per_page": per_page, "total": total}
