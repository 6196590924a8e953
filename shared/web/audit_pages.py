"""The audit log page every service serves at `/<service>/audit` for supervisors.

Each service keeps its own keyed hash chain (`shared.audit`); the page checks the whole chain
against the anchors in the object store (`shared.audit_anchors`) on every view and says in words
what is wrong where, then lists the records newest first, filterable by actor, action and target.
Tabs lead to the same page on the other services.
"""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import select

from shared.audit import PROBLEMS
from shared.audit_anchors import check_chain
from shared.config import SERVICES
from shared.http import roles, service_context
from shared.textsearch import contains_text
from shared.web.nav import N_
from shared.web.pages import PageBlueprint, render

PER_PAGE = 50
SERVICE_LABELS = {"intake": N_("Applications"), "documents": N_("Documents"),
                  "review": N_("Review"), "notify": N_("Notifications")}
audit_pages = PageBlueprint("audit_pages", __name__)


@audit_pages.get("/audit")
@roles("supervisor", "admin")
def audit_log() -> Any:
    ctx = service_context()
    table = ctx.audit.table
    filters = {k: (request.args.get(k) or "").strip() for k in ("actor", "action", "target")}
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    query = select(table).order_by(table.c.seq.desc())
    for name, value in filters.items():
        if value:
            query = query.where(contains_text(value, table.c[name]))
    check = check_chain(ctx.db, ctx.audit, ctx.store, ctx.name)
    with ctx.db.reader() as session:
        rows = list(session.execute(query.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
    return render("web/audit.html", service=ctx.name, services=SERVICES, labels=SERVICE_LABELS,
                  check=check, problems=PROBLEMS, rows=rows[:PER_PAGE], page=page,
                  more=len(rows) > PER_PAGE, filters=filters)
