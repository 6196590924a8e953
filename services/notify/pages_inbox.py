"""The notification inbox page and the header's unread count.

Every signed-in role has an inbox; it shows only the caller's own messages (the queries filter
on the session's subject, as the API does), unread ones first, in the page's language.
"""

from __future__ import annotations

from math import ceil
from typing import Any
from urllib.parse import quote

from flask import jsonify, request, url_for

from services.notify import inbox
from shared.http import current_principal, roles, service_context
from shared.pagination import paginate
from shared.web.blueprint import PageBlueprint
from shared.web.language import _, language, ngettext
from shared.web.rendering import done, render

blp = PageBlueprint("notify_inbox_pages", __name__)
EVERYONE = ("applicant", "recommender", "operator", "expert", "supervisor", "admin")
PER_PAGE = 20
EXPERT_WORK = frozenset({"assignment.made", "recusal.recorded", "reminder.review_deadline"})


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def related_link(role: str, event_type: str, refs: dict[str, Any]) -> tuple[str, str] | None:
    """Where a message leads the reader: only to pages whose paths are agreed in the nav (and
    that page checks access again on its own)."""
    app = refs.get("application_id")
    if role == "applicant" and isinstance(app, str) and app:
        return _("Open the application"), f"/intake/packets/{quote(app, safe='')}"
    if role == "expert" and event_type in EXPERT_WORK:
        return _("Open my assignments"), "/review/dossiers"
    if event_type == "list.published":
        return _("Open the published lists"), "/review/public/lists"
    return None


def unread_label(n: int) -> str:
    return ngettext("%(num)d unread message", "%(num)d unread messages", n)


@blp.get("/inbox")
@roles(*EVERYONE)
def inbox_page() -> Any:
    who = current_principal()
    only_unread = request.args.get("show") == "unread"
    page = _page_number()
    query = inbox.messages_query(who.subject, unread=True if only_unread else None,
                                 unread_first=True)
    with service_context().db.reader() as session:
        result = paginate(session, query, page, PER_PAGE)
        unread = inbox.unread_count(session, who.subject)
    lang = language()
    items = [inbox.message_view(n, lang) for n in result["items"]]
    pages = max(1, ceil(result["total"] / PER_PAGE))
    return render("notify/inbox.html", items=items, unread=unread,
                  unread_text=unread_label(unread), total=result["total"], page=page,
                  pages=pages, only_unread=only_unread)


@blp.get("/inbox/unread")
@roles(*EVERYONE)
def unread_badge() -> Any:
    """The header's badge: a count and its spoken label in the page's language."""
    with service_context().db.reader() as session:
        n = inbox.unread_count(session, current_principal().subject)
    response = jsonify({"unread": n, "label": unread_label(n)})
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.get("/inbox/<message_id>")
@roles(*EVERYONE)
def message_page(message_id: str) -> Any:
    """Opening a message marks it read, as in any mail client."""
    who = current_principal()
    with service_context().db.session() as session:
        n = inbox.mark_read(session, who.subject, message_id)
        message = inbox.message_view(n, language())
    paragraphs = [p for p in (message["body"] or "").split("\n") if p.strip()]
    return render("notify/message.html", message=message, paragraphs=paragraphs,
                  link=related_link(who.role, message["event_type"], message["refs"]))


@blp.post("/inbox/read-all")
@roles(*EVERYONE)
def read_all() -> Any:
    with service_context().db.session() as session:
        marked = inbox.mark_all_read(session, current_principal().subject)
    return done(ngettext("%(num)d message marked as read.", "%(num)d messages marked as read.",
                         marked), url_for(".inbox_page"))
