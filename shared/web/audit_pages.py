"""The audit log page every service serves at `/<service>/audit` for supervisors.

Each service keeps its own keyed hash chain (`shared.audit`); the page checks the whole chain
against the anchors in the object store (`shared.audit_anchors`) on every view and says in words
what is wrong where, then lists the records newest first, filterable by actor, action and target.
Tabs lead to the same page on the other services.

Each record reads as a sentence ("王芳 于 2026年12月6日 14:05 受理了申报：某某公司"): actors and
targets are named through the tables a service declares (`shared.web.names.name_records`),
actions and roles through the label registry (`shared.labels`); the raw record stays one click
away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from sqlalchemy.orm import Session

from shared import labels
from shared.audit import PROBLEMS, records_query
from shared.audit_anchors import check_chain
from shared.config import SERVICES
from shared.http import roles, service_context
from shared.web.blueprint import PageBlueprint
from shared.web.i18n import fmt_datetime
from shared.web.language import language
from shared.web.names import lookup, names_of
from shared.web.nav import N_
from shared.web.rendering import render

PER_PAGE = 50
SERVICE_LABELS = {"intake": N_("Applications"), "documents": N_("Documents"),
                  "review": N_("Review"), "notify": N_("Notifications")}
audit_pages = PageBlueprint("audit_pages", __name__)
# Actors that are not accounts.
NON_ACCOUNTS = {"system": ("系统", "The system"), "reporter": ("异议人", "An objector"),
                "anonymous": ("访客", "A visitor")}
SENTENCE = {"zh-CN": "{actor} 于 {at} {action}{target}。",
            "en": "{actor} {action}{target} on {at}."}
def _names(session: Session, rows: list[Any]) -> tuple[dict[str, str], dict[str, str]]:
    spec = names_of(service_context().name)
    actors: dict[str, str] = {}
    subjects = {r.actor for r in rows}
    for columns in spec.people:
        actors = {**lookup(session, columns, subjects - set(actors)), **actors}
    targets: dict[str, str] = {}
    for kind, columns in spec.targets.items():
        ids = {r.target.split(":", 1)[1] for r in rows if r.target.startswith(f"{kind}:")}
        targets |= {f"{kind}:{k}": v for k, v in lookup(session, columns, ids).items()}
    return actors, targets


def sentence(row: Any, actors: Mapping[str, str], targets: Mapping[str, str], lang: str) -> str:
    """One audit record in words: who, when, did what, to what."""
    i = 1 if lang == "en" else 0
    role = labels.label("role", row.role, lang) if labels.knows("role", row.role) else ""
    if row.actor in actors:
        actor = f"{actors[row.actor]}（{role}）" if role and lang != "en" else (
            f"{actors[row.actor]} ({role})" if role else actors[row.actor])
    elif row.actor in NON_ACCOUNTS:
        actor = NON_ACCOUNTS[row.actor][i]
    else:
        actor = role or ("有人" if lang != "en" else "Someone")
    name = targets.get(row.target, "")
    target = (f"：{name}" if lang != "en" else f": {name}") if name else ""
    return SENTENCE["en" if lang == "en" else "zh-CN"].format(
        actor=actor, at=fmt_datetime(row.at, lang), action=labels.label("action", row.action, lang),
        target=target)


@audit_pages.get("/audit")
@roles("supervisor", "admin")
def audit_log() -> Any:
    ctx = service_context()
    filters = {k: (request.args.get(k) or "").strip() for k in ("actor", "action", "target")}
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    query = records_query(ctx.audit.table, filters, exact=False)
    check = check_chain(ctx.db, ctx.audit, ctx.store, ctx.name)
    with ctx.db.reader() as session:
        rows = list(session.execute(query.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)))
        actors, targets = _names(session, rows[:PER_PAGE])
    lang = language()
    records = [(row, sentence(row, actors, targets, lang)) for row in rows[:PER_PAGE]]
    return render("web/audit.html", service=ctx.name, services=SERVICES, labels=SERVICE_LABELS,
                  check=check, problems=PROBLEMS, records=records, page=page,
                  more=len(rows) > PER_PAGE, filters=filters)
