"""Operations endpoints every service has: dead letters (see and retry) and outbox health."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import marshmallow as ma
from celery import Celery
from flask_smorest import Blueprint
from sqlalchemy import func, select, update

from shared.errors import Conflict, NotFound
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, page_schema, paginate
from shared.tasks import route_task

blp = Blueprint("ops", __name__, url_prefix="/api/ops",
                description="Dead letters and outbox health of this service")
READERS = ("operator", "admin", "supervisor")
WRITERS = ("operator", "admin")


class DeadLetterOut(ma.Schema):
    id = ma.fields.Integer()
    task_id = ma.fields.String()
    task_name = ma.fields.String()
    args = ma.fields.Raw()
    error = ma.fields.String()
    attempts = ma.fields.Integer()
    failed_at = ma.fields.DateTime()
    retried_at = ma.fields.DateTime(allow_none=True)


class OutboxOut(ma.Schema):
    pending = ma.fields.Integer()
    oldest_pending_at = ma.fields.DateTime(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    published = ma.fields.Integer()


DeadLetterPage = page_schema(DeadLetterOut, "DeadLetterPage")


@lru_cache(maxsize=4)
def _sender(broker_url: str) -> Celery:
    app = Celery("dossier-ops", broker=broker_url, set_as_current=False)
    app.conf.update(task_routes=(route_task,), task_serializer="json")
    return app


@blp.get("/dead-letters")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, DeadLetterPage)
@roles(*READERS)
def dead_letters(page: int, per_page: int) -> dict[str, Any]:
    ctx = service_context()
    table = ctx.metadata.tables["dead_letters"]
    with ctx.db.reader() as session:
        result = paginate(session, select(table).order_by(table.c.id.desc()), page, per_page,
                          scalars=False)
    result["items"] = [row._asdict() for row in result["items"]]
    return result


@blp.post("/dead-letters/<int:letter_id>/retry")
@blp.response(202, DeadLetterOut)
@roles(*WRITERS)
def retry_dead_letter(letter_id: int) -> dict[str, Any]:
    """Send the task again (a new task id, so its delivery count starts afresh)."""
    ctx = service_context()
    who = current_principal()
    table = ctx.metadata.tables["dead_letters"]
    with ctx.db.session() as session:
        row = session.execute(select(table).where(table.c.id == letter_id)).first()
        if row is None:
            raise NotFound(detail=f"dead letter {letter_id}")
        if row.retried_at is not None:
            raise Conflict("ops.already_retried", zh="该任务已重新投递过。",
                           en="This dead letter has already been retried.")
        _sender(ctx.settings.redis_url).send_task(row.task_name, args=row.args)
        now = datetime.now(UTC)
        session.execute(update(table).where(table.c.id == letter_id).values(retried_at=now))
        ctx.audit.append(session, actor=who.subject, role=who.role, action="ops.retry",
                         target=f"dead-letter:{letter_id}", detail={"task": row.task_name})
        return {**row._asdict(), "retried_at": now}


@blp.get("/outbox")
@blp.response(200, OutboxOut)
@roles(*READERS)
def outbox_health() -> dict[str, Any]:
    ctx = service_context()
    table = ctx.metadata.tables["outbox"]
    waiting = table.c.published_at.is_(None)
    with ctx.db.reader() as session:
        pending, oldest = session.execute(
            select(func.count(), func.min(table.c.occurred_at)).where(waiting)).one()
        last_error = session.execute(select(table.c.last_error).where(waiting)
                                     .order_by(table.c.seq).limit(1)).scalar()
        published = session.execute(select(func.count()).where(~waiting)).scalar_one()
    return {"pending": pending, "oldest_pending_at": oldest, "last_error": last_error,
            "published": published}
