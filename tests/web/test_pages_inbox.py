"""The notification inbox pages over HTTP through the one origin: only one's own messages,
opening marks read, the unread count for the header badge, both languages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pagewalk import notice, send_event

from dossier.localstack import AppStack


@pytest.fixture
def me() -> str:
    return f"inbox-{uuid.uuid4().hex[:8]}"


def _ids(html: str) -> list[str]:
    return re.findall(r'data-message="([^"]+)"', html)


def test_inbox_lists_only_my_messages_unread_first(
        stack: AppStack, browser_login: Callable[..., Any], me: str) -> None:
    other = f"{me}-other"
    for n in range(3):
        notice(stack, me, n)
    notice(stack, other, 9)
    mine = [r[0] for r in stack.query(
        "notify", "SELECT id FROM notifications WHERE recipient = :s ORDER BY seq", s=me)]
    theirs = stack.query("notify", "SELECT id FROM notifications WHERE recipient = :s",
                         s=other)[0][0]
    who = browser_login("applicant", me, "申报人")
    r = who.get("/notify/inbox")
    assert r.status_code == 200 and 'lang="zh-CN"' in r.text
    assert "[[untranslated" not in r.text
    assert _ids(r.text) == mine[::-1] and theirs not in r.text  # newest first, mine only
    assert "3 条未读消息" in r.text and "申报已受理" in r.text

    # Someone else's message is not found, and stays unread for them.
    r = who.get(f"/notify/inbox/{theirs}")
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/html")
    assert stack.query("notify", "SELECT read_at FROM notifications WHERE id = :i",
                       i=theirs)[0][0] is None

    # Opening the oldest marks it read; it then sorts after the unread ones.
    r = who.get(f"/notify/inbox/{mine[0]}")
    assert r.status_code == 200 and "申报已受理" in r.text and "[[untranslated" not in r.text
    assert '<h1>申报已受理</h1>' in r.text and "/intake/packets/walk-app-0" in r.text
    r = who.get("/notify/inbox")
    assert _ids(r.text) == [mine[2], mine[1], mine[0]]
    assert "2 条未读消息" in r.text
    r = who.get("/notify/inbox?show=unread")
    assert _ids(r.text) == [mine[2], mine[1]]


def test_unread_count_for_the_badge_in_both_languages(
        stack: AppStack, browser_login: Callable[..., Any], me: str) -> None:
    who = browser_login("expert", me)
    r = who.get("/notify/inbox/unread")
    assert r.status_code == 200 and r.json() == {"unread": 0, "label": "0 条未读消息"}
    send_event(stack, "assignment.made", {
        "expert": me, "cycle": "2026", "stage": "initial", "deadline": "2026-12-01",
        "applications": [{"application_id": "a-1", "applicant_name": "甲公司"}]})
    notice(stack, me)
    r = who.get("/notify/inbox/unread")
    assert r.json() == {"unread": 2, "label": "2 条未读消息"}
    assert r.headers["Cache-Control"] == "no-store"
    r = who.get("/notify/inbox/unread?lang=en")
    assert r.json() == {"unread": 2, "label": "2 unread messages"}
    r = who.get("/notify/inbox")  # the language choice is remembered
    assert 'lang="en"' in r.text and "2 unread messages" in r.text
    assert "Review assignment: 1 application(s)" in r.text and "[[untranslated" not in r.text
    notice(stack, f"{me}-someone-else")
    assert who.get("/notify/inbox/unread").json()["unread"] == 2
    [(work,)] = stack.query("notify", "SELECT id FROM notifications WHERE recipient = :s "
                            "AND event_type = 'assignment.made'", s=me)
    r = who.get(f"/notify/inbox/{work}")
    assert 'href="/review/dossiers">Open my assignments</a>' in r.text
    assert who.get("/notify/inbox/unread").json() == {"unread": 1, "label": "1 unread message"}


def test_mark_all_read_needs_the_form_token_and_touches_only_mine(
        stack: AppStack, browser_login: Callable[..., Any], me: str) -> None:
    other = f"{me}-other"
    notice(stack, me, 1)
    notice(stack, me, 2)
    notice(stack, other, 3)
    who = browser_login("operator", me)
    forged = who.http.post(f"{stack.public_url}/notify/inbox/read-all", data={},
                           allow_redirects=False, timeout=10)
    assert forged.status_code == 403
    assert who.get("/notify/inbox/unread").json()["unread"] == 2
    r = who.post("/notify/inbox/read-all")
    assert r.status_code == 303 and r.headers["Location"].endswith("/notify/inbox")
    page = who.get("/notify/inbox")
    assert "已将 2 条消息标为已读。" in page.text and "0 条未读消息" in page.text
    assert "全部标为已读" not in page.text  # nothing left to mark
    assert browser_login("supervisor", other).get("/notify/inbox/unread").json()["unread"] == 1


def test_signed_out_visitor_is_sent_to_sign_in(stack: AppStack) -> None:
    import requests

    r = requests.get(f"{stack.public_url}/notify/inbox", allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert r.headers["Location"] == "/intake/sign-in?next=/notify/inbox"


def test_header_badge_shows_the_count_in_chromium(
        stack: AppStack, open_page: Callable[..., Any], me: str) -> None:
    notice(stack, me, 1)
    notice(stack, me, 2)
    page = open_page("applicant", me, lang="en")
    page.goto("/review/audit")  # any page with the layout: here a 403 page of another service
    badge = page.locator(".inbox-link .badge")
    badge.filter(has_text="2 unread messages").wait_for()
    assert badge.locator("[aria-hidden=true]").inner_text() == "2"
    page.locator(".inbox-link").click()
    page.get_by_role("heading", level=1, name="Inbox").wait_for()
    page.locator("[data-message] a").first.click()
    page.get_by_role("heading", level=1, name="Application accepted").wait_for()
    page.get_by_role("link", name="Back to the inbox").click()
    badge.filter(has_text="1 unread message").wait_for()
    assert badge.locator("[aria-hidden=true]").inner_text() == "1"
    page.locator("[data-message]").first.wait_for()
    page.get_by_role("button", name="Mark all as read").click()
    page.get_by_text("1 message marked as read.").wait_for()
    page.wait_for_load_state("networkidle")
    assert badge.inner_text() == ""  # nothing unread: no badge
