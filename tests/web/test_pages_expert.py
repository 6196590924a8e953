"""The expert's pages over the real stack: assignments, the declaration, declaring a conflict,
documents read in the browser (watermarked pages), and the score sheet with drafts."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from PIL import Image
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


@dataclass
class Setup:
    review: ReviewDriver
    mine: str  # application the expert serves on
    other: str  # application of the same cycle the expert does not serve on
    expert: dict[str, Any]
    panel: dict[str, Any]
    docs: list[dict[str, Any]]


def _setup(review: ReviewDriver) -> Setup:
    review.cycle_saved()
    body = text_pdf(["quality manual page one", "quality manual page two"])
    mine = f"pg-{review.cycle}"
    docs = [review.document(mine, "overview", "质量手册.pdf", body),
            review.document(mine, "evidence", "质量手册-保密.pdf", body,
                            confidentiality="trade-secret")]
    review.accept("忻州页面测试有限公司", credit_code="91140900PAGE00001", app_id=mine,
                  documents=docs)
    other = review.accept("忻州另一家有限公司", credit_code="91140900PAGE00002",
                          app_id=f"pg2-{review.cycle}")
    review.wait_applications(2)
    expert = review.expert(f"exp-pg-{review.cycle}", "山西大学", name="页评审")
    colleague = review.expert(f"exp-pg2-{review.cycle}", "太原理工大学")
    panel = review.panel("material", 1, 1, [expert["id"], colleague["id"]],
                         deadline=today_plus(10))
    r = review.http.post(f"{review.url}/panels/{panel['id']}/assign", headers=review.operator)
    assert r.status_code == 201, r.text
    pairs = {p["application_id"]: p["expert_id"] for p in r.json()["items"]}
    if pairs[mine] != expert["id"]:  # the solver is free to swap the two experts
        expert, colleague = colleague, expert
    assert pairs[mine] == expert["id"] and pairs[other] == colleague["id"]
    return Setup(review, mine, other, expert, panel, docs)


def _clean(html: str) -> None:
    assert "[[untranslated" not in html


def _pledged(setup: Setup, browser_login: Callable[..., Any]) -> Any:
    me = browser_login("expert", setup.expert["subject"], setup.expert["name"])
    r = me.post(f"/review/dossiers/{setup.mine}/pledge", {"accept": "1"})
    assert r.status_code == 303, r.text
    return me


def test_expert_sees_only_assigned_dossiers_and_declares_before_the_first_opens(
        review: ReviewDriver, browser_login: Callable[..., Any]) -> None:
    setup = _setup(review)
    me = browser_login("expert", setup.expert["subject"], setup.expert["name"])
    for lang in ("zh-CN", "en"):
        r = me.get(f"/review/dossiers?lang={lang}")
        assert r.status_code == 200
        _clean(r.text)
        assert "忻州页面测试有限公司" in r.text and "忻州另一家有限公司" not in r.text
        assert f'data-application="{setup.mine}"' in r.text
    assert "Material review" in r.text and "Not scored" in r.text and "Not yet made" in r.text

    # An expert account the registry does not know sees an empty list, not an error.
    r = browser_login("expert", f"unknown-{review.cycle}").get("/review/dossiers?lang=en")
    assert r.status_code == 200 and "No dossiers are assigned to you" in r.text

    # Another expert's dossier: 404, as if it did not exist.
    assert me.get(f"/review/dossiers/{setup.other}").status_code == 404
    assert me.post(f"/review/dossiers/{setup.other}/pledge", {"accept": "1"}).status_code == 404

    # Before the declaration: the declaration form, nothing of the dossier.
    r = me.get(f"/review/dossiers/{setup.mine}?lang=zh-CN")
    assert r.status_code == 200
    _clean(r.text)
    assert "公正与保密承诺声明" in r.text and "质量手册.pdf" not in r.text
    doc = setup.docs[0]["document_id"]
    assert me.get(f"/review/dossiers/{setup.mine}/documents/{doc}").status_code == 403
    assert me.get(f"/review/dossiers/{setup.mine}/documents/{doc}/pages/1.png"
                  ).status_code == 403
    r = me.post(f"/review/dossiers/{setup.mine}/pledge", {})
    assert r.status_code == 422 and 'id="e-accept"' in r.text

    r = me.post(f"/review/dossiers/{setup.mine}/pledge", {"accept": "1"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/review/dossiers/{setup.mine}")
    for lang in ("zh-CN", "en"):
        r = me.get(f"/review/dossiers/{setup.mine}?lang={lang}")
        assert r.status_code == 200
        _clean(r.text)
        assert "质量手册.pdf" in r.text and "质量手册-保密.pdf" in r.text
        assert f"/review/api/dossiers/{setup.mine}/download" in r.text
    assert "Trade secret" in r.text and "Score sheet: Material review" in r.text
    # Page counts come from the inspection record in the manifest.
    rows = re.findall(r'data-label="Pages">(\d+)<', r.text)
    assert rows == ["2", "2"]
    actions = [a for a in review.audit_actions() if a[0] == setup.expert["subject"]]
    assert ("dossier.acknowledged" in {a[1] for a in actions}
            and "dossier.viewed" in {a[1] for a in actions})


def test_declaring_a_conflict_on_the_page_ends_access_on_the_next_request(
        review: ReviewDriver, browser_login: Callable[..., Any]) -> None:
    setup = _setup(review)
    me = _pledged(setup, browser_login)
    assert me.get(f"/review/dossiers/{setup.mine}").status_code == 200
    r = me.get(f"/review/dossiers/{setup.mine}/conflict?lang=en")
    assert r.status_code == 200
    _clean(r.text)
    assert 'name="ground"' in r.text and "Close relative" in r.text
    r = me.post(f"/review/dossiers/{setup.mine}/conflict", {"ground": "relative", "reason": ""})
    assert r.status_code == 422 and 'id="e-reason"' in r.text

    r = me.post(f"/review/dossiers/{setup.mine}/conflict",
                {"ground": "relative", "reason": "本人配偶在该单位任职"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/review/dossiers")
    # The very next request is refused, and the list no longer shows the dossier.
    assert me.get(f"/review/dossiers/{setup.mine}").status_code == 404
    doc = setup.docs[0]["document_id"]
    assert me.get(f"/review/dossiers/{setup.mine}/documents/{doc}/pages/1.png"
                  ).status_code == 404
    assert me.http.get(f"{me.origin}/review/api/dossiers/{setup.mine}/download"
                       ).status_code == 404
    r = me.get("/review/dossiers")
    assert r.status_code == 200 and setup.mine not in r.text
    records = review.http.get(f"{review.url}/conflicts", headers=review.operator, params={
        "application_id": setup.mine, "expert_id": setup.expert["id"]}).json()["items"]
    assert [(c["ground"], c["source"]) for c in records] == [("relative", "expert")]


def _red_pixels(png: bytes) -> int:
    """Pixels in the watermark's red ink (the page itself is black on white)."""
    data = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    return sum(1 for r, g, b in zip(data[0::3], data[1::3], data[2::3], strict=True)
               if r > 150 and r - g > 40 and r - b > 40)


def test_a_trade_secret_page_is_rendered_watermarked_and_the_view_is_audited(
        review: ReviewDriver, browser_login: Callable[..., Any]) -> None:
    setup = _setup(review)
    me = _pledged(setup, browser_login)
    plain_id, secret_id = (d["document_id"] for d in setup.docs)
    r = me.get(f"/review/dossiers/{setup.mine}/documents/{secret_id}?page=2&lang=zh-CN")
    assert r.status_code == 200
    _clean(r.text)
    assert f"/documents/{secret_id}/pages/2.png" in r.text and "上一页" in r.text
    assert "商业秘密" in r.text

    pictures = {}
    for name, doc in (("plain", plain_id), ("secret", secret_id)):
        r = me.get(f"/review/dossiers/{setup.mine}/documents/{doc}/pages/1.png")
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"] == "image/png"
        assert r.headers["Cache-Control"] == "no-store"
        pictures[name] = r.content
    # Same PDF bytes underneath: only the watermark makes the difference.
    assert pictures["plain"] != pictures["secret"]
    assert _red_pixels(pictures["plain"]) == 0
    assert _red_pixels(pictures["secret"]) > 500
    assert me.get(f"/review/dossiers/{setup.mine}/documents/{secret_id}/pages/3.png"
                  ).status_code == 404
    viewed = [a for a in review.audit_actions() if a[1] == "document.page_viewed"]
    assert (setup.expert["subject"], "document.page_viewed", f"document:{secret_id}") in viewed
    assert (setup.expert["subject"], "document.page_viewed", f"document:{plain_id}") in viewed


def test_the_score_sheet_checks_each_maximum_saves_drafts_and_submits(
        review: ReviewDriver, browser_login: Callable[..., Any]) -> None:
    setup = _setup(review)
    me = _pledged(setup, browser_login)
    rubric = Programme().rubric("organisation")
    items = list(rubric.items)
    url = f"/review/dossiers/{setup.mine}/scores/{setup.panel['id']}"
    page = f"/review/dossiers/{setup.mine}"
    r = me.get(page)
    for item in items:  # every item carries its maximum for the browser to check
        assert re.search(rf'name="item-{re.escape(item)}"[^>]*', r.text)
        assert f'max="{rubric.items[item]}"' in r.text

    # A draft with two items: saved, shown again, never counted.
    draft = {f"item-{items[0]}": "12", f"item-{items[1]}": "7.5", "comment": "初评意见"}
    r = me.post(url, {**draft, "action": "draft"})
    assert r.status_code == 303, r.text
    r = me.get(page + "?lang=zh-CN")
    _clean(r.text)
    assert 'data-sheet-state="draft"' in r.text and "初评意见" in r.text
    assert re.search(rf'name="item-{re.escape(items[0])}"[^>]*value="12"', r.text)
    assert re.search(rf'name="item-{re.escape(items[1])}"[^>]*value="7.5"', r.text)
    scores = review.http.get(f"{review.url}/scores", headers=review.operator,
                             params={"application_id": setup.mine}).json()
    assert scores["items"] == []
    api_draft = review.http.get(f"{review.url}/panels/{setup.panel['id']}/drafts/{setup.mine}",
                                headers=review.auth("expert", setup.expert["subject"]))
    assert api_draft.status_code == 200
    assert api_draft.json()["items"] == {items[0]: 12.0, items[1]: 7.5}

    # The API refuses a draft over an item's maximum and names the item.
    r = review.http.put(f"{review.url}/panels/{setup.panel['id']}/drafts/{setup.mine}",
                        headers=review.auth("expert", setup.expert["subject"]),
                        json={"items": {items[0]: rubric.items[items[0]] + 1}})
    assert r.status_code == 422 and r.json()["code"] == "review.score_invalid"
    assert list(r.json()["errors"]) == [items[0]]

    # Over an item's maximum: refused by the server, the error next to that item.
    full = {f"item-{i}": str(int(m * 0.8)) for i, m in rubric.items.items()}
    over = items[2]
    r = me.post(url + "?lang=zh-CN",
                {**full, f"item-{over}": str(rubric.items[over] + 1), "action": "submit"})
    assert r.status_code == 422
    _clean(r.text)
    error = re.search(rf'id="e-{setup.panel["id"]}-{re.escape(over)}"[^>]*>([^<]+)<', r.text)
    assert error and "超出该项的分值范围" in error.group(1)
    assert re.search(rf'name="item-{re.escape(over)}"[^>]*aria-invalid="true"', r.text)
    assert review.http.get(f"{review.url}/scores", headers=review.operator,
                           params={"application_id": setup.mine}).json()["items"] == []

    # Submitted: counted, and the draft is gone.
    r = me.post(url, {**full, "action": "submit"})
    assert r.status_code == 303, r.text
    [score] = review.http.get(f"{review.url}/scores", headers=review.operator,
                              params={"application_id": setup.mine}).json()["items"]
    assert score["total"] == sum(int(m * 0.8) for m in rubric.items.values())
    r = me.get(page + "?lang=en")
    _clean(r.text)
    assert 'data-sheet-state="submitted"' in r.text and 'data-sheet-state="draft"' not in r.text
    r = me.get("/review/dossiers?lang=en")
    assert "Submitted" in r.text


def _serious_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


def test_the_score_sheet_in_chromium_keeps_a_running_total_and_enforces_each_maximum(
        review: ReviewDriver, browser_login: Callable[..., Any],
        open_page: Callable[..., Any]) -> None:
    setup = _setup(review)
    _pledged(setup, browser_login)
    rubric = Programme().rubric("organisation")
    items = list(rubric.items)
    page = open_page("expert", setup.expert["subject"], setup.expert["name"], lang="en")
    page.goto(f"/review/dossiers/{setup.mine}")
    assert _serious_violations(page) == []
    total = page.locator("[data-score-total]")
    first = page.locator(f'input[name="item-{items[0]}"]')
    second = page.locator(f'input[name="item-{items[1]}"]')
    first.fill("10")
    second.fill("5.5")
    assert total.inner_text() == "15.5"
    # Over the maximum: the item is marked at once and left out of the total...
    second.fill(str(rubric.items[items[1]] + 1))
    assert second.get_attribute("aria-invalid") == "true"
    assert total.inner_text() == "10"
    message = page.locator(f"#e-{setup.panel['id']}-{items[1]}".replace(".", "\\."))
    assert message.is_visible() and "Enter a number from 0 to" in message.inner_text()
    # ...and the browser will not submit the form.
    assert second.evaluate("el => el.validity.rangeOverflow") is True
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Submit score").click()
    assert page.url.endswith(f"/review/dossiers/{setup.mine}")
    assert review.http.get(f"{review.url}/scores", headers=review.operator,
                           params={"application_id": setup.mine}).json()["items"] == []
    second.fill("5")
    assert second.get_attribute("aria-invalid") == "false"
    assert total.inner_text() == "15"
    # The list and a document page, narrow as a phone.
    narrow = open_page("expert", setup.expert["subject"], setup.expert["name"], width=360)
    narrow.goto("/review/dossiers")
    assert _serious_violations(narrow) == []
    narrow.goto(f"/review/dossiers/{setup.mine}/documents/{setup.docs[1]['document_id']}")
    narrow.wait_for_function("() => { const img = document.querySelector('.page-view img');"
                             " return img.complete && img.naturalWidth > 0; }")
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 360
    assert _serious_violations(narrow) == []
