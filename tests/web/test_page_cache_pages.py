"""The two busy pages come from the page cache, and every kind of write shows at once: the
reader's own form posts, another role's API call, and a worker handling another service's event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from intake.flows import Intake, deliver, unique
from review.reviewstack import ReviewDriver, today_plus
from samples import text_pdf

from dossier.localstack import AppStack
from services.review.programme import Programme

pytestmark = pytest.mark.stack


@pytest.fixture
def review(stack: AppStack, auth: Callable[[str, str], dict[str, str]],
           http: requests.Session) -> Iterator[ReviewDriver]:
    driver = ReviewDriver(stack, auth, http)
    yield driver
    driver.sender.close()


def _row(html: str, application_id: str) -> str | None:
    found = re.search(rf'<tr data-application="{re.escape(application_id)}">(.*?)</tr>', html,
                      re.S)
    return found.group(1) if found else None


def _served(browser: Any, path: str, expect: str | None) -> str:
    """The page, with what the cache did: hit, miss, or None when the page had a confirmation
    to show (such a page is neither served from the cache nor kept)."""
    r = browser.get(path)
    assert r.status_code == 200, r.text[:300]
    assert r.headers.get("X-Page-Cache") == expect, (path, r.headers.get("X-Page-Cache"))
    return str(r.text)


def test_the_expert_list_is_reused_until_a_pledge_a_draft_or_a_conflict_changes_it(
        review: ReviewDriver, browser_login: Callable[..., Any]) -> None:
    review.cycle_saved()
    mine = f"pc-{review.cycle}"
    body = text_pdf(["page cache"])
    review.accept("忻州缓存测试有限公司", credit_code="91140900CACHE0001", app_id=mine,
                  documents=[review.document(mine, "overview", "概况.pdf", body)])
    second = review.accept("忻州缓存测试二有限公司", credit_code="91140900CACHE0002",
                           app_id=f"pc2-{review.cycle}")
    review.wait_applications(2)
    expert = review.expert(f"exp-pc-{review.cycle}", "山西大学", name="缓存评审")
    panel = review.panel("material", 1, 2, [expert["id"]], deadline=today_plus(10))
    r = review.http.post(f"{review.url}/panels/{panel['id']}/assign", headers=review.operator)
    assert r.status_code == 201, r.text

    me = browser_login("expert", expert["subject"], expert["name"])
    first = _served(me, "/review/dossiers", "miss")
    again = _served(me, "/review/dossiers", "hit")
    assert first == again
    row = _row(again, mine)
    assert row is not None and "status warn" in row and "status bad" in row  # no pledge, no score
    assert _row(again, second) is not None
    # Another browser of the same account is served the same page, with its own CSRF token.
    assert me.csrf in first
    other = browser_login("expert", expert["subject"], expert["name"])
    shared = _served(other, "/review/dossiers", "hit")
    assert other.csrf in shared and me.csrf not in shared
    assert shared.replace(other.csrf, me.csrf) == first
    # Another name on the session is another account's page.
    _served(browser_login("expert", expert["subject"], "另一个名字"), "/review/dossiers", "miss")

    # The expert's own write: the declaration.
    assert me.post(f"/review/dossiers/{mine}/pledge", {"accept": "1"}).status_code == 303
    _served(me, "/review/dossiers", None)
    row = _row(_served(me, "/review/dossiers", "miss"), mine)
    assert row is not None and '<span class="status ok">' in row
    _served(me, "/review/dossiers", "hit")

    # A draft saved on the score sheet.
    item = next(iter(Programme().rubric("organisation").items))
    r = me.post(f"/review/dossiers/{mine}/scores/{panel['id']}",
                {f"item-{item}": "3", "action": "draft"})
    assert r.status_code == 303, r.text
    _served(me, "/review/dossiers?lang=en", None)
    html = _served(me, "/review/dossiers?lang=en", "miss")
    assert "Draft saved" in (_row(html, mine) or "")
    _served(me, "/review/dossiers?lang=en", "hit")

    # The operator records a conflict through the API: the dossier leaves the list at once.
    r = review.http.post(f"{review.url}/conflicts", headers=review.operator, json={
        "expert_id": expert["id"], "application_id": second, "ground": "ownership",
        "reason": "持有该公司股份"})
    assert r.status_code == 201, r.text
    html = _served(me, "/review/dossiers?lang=en", "miss")
    assert _row(html, second) is None and _row(html, mine) is not None


def test_the_packet_page_is_reused_until_the_applicant_or_a_worker_changes_what_it_shows(
        stack: AppStack, http: requests.Session, browser_login: Callable[..., Any]) -> None:
    intake = Intake(stack, http)
    cycle = unique("c")[:20]
    intake.open_cycle(cycle)
    listed = intake.requirements(cycle)
    subject = unique("pc-applicant")
    who = intake.as_("applicant", subject)
    r = intake.create(who, cycle, name="忻州缓存申报有限公司")
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = intake.upload(who, app_id, "自评报告.pdf", text_pdf(["self evaluation"]))
    assert r.status_code == 201, r.text
    document_id = r.json()["document_id"]

    me = browser_login("applicant", subject)
    path = f"/intake/packets/{app_id}?lang=zh-CN"
    _served(me, path, "miss")
    _served(me, path, "hit")

    # The applicant's own form post: the file becomes a trade secret with a page range.
    r = me.post(f"/intake/packets/{app_id}/documents/{document_id}/confidentiality",
                {"confidentiality": "trade-secret", "secret_pages": "1"})
    assert r.status_code == 303, r.text
    _served(me, path, None)  # the confirmation is shown once, on a page not kept
    html = _served(me, path, "miss")
    assert "商业秘密" in html
    _served(me, path, "hit")

    # A worker's write: documents announces a renamed requirement, intake's worker stores it.
    kinds = {kind: [{**item, "title": {**item["title"],
                                       "zh-CN": f"{item['title']['zh-CN']}（缓存新版）"}}
                    if item["id"] == "self-evaluation" else item for item in items]
             for kind, items in listed["kinds"].items()}
    deliver(stack, "requirements.published",
            {"cycle": cycle, "kinds": kinds,
             "catalogue": {"version": listed["catalogue"], "title": listed["catalogue_title"]}},
            source="documents", occurred_at=datetime.now(UTC).isoformat())
    html = _served(me, path, "miss")
    assert "（缓存新版）" in html
