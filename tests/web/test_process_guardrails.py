"""Issue 15, points 7 and 8 in Chromium over the real stack: the office is warned before it
publishes a list whose publicity would start in the past, and confirms only with a reason the
public notice then shows; a member of the public files an objection, keeps the receipt code and
follows the case to the office's answer, while the evidence opens for the office only."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from review.reviewstack import ReviewDriver, today_plus
from samples import text_pdf

from dossier.localstack import AppStack
from services.review.programme import Programme

pytestmark = pytest.mark.stack

REASON = "已于本月在《忻州日报》公示"


@pytest.fixture
def review(stack: AppStack, auth: Callable[[str, str], dict[str, str]],
           http: requests.Session) -> Iterator[ReviewDriver]:
    driver = ReviewDriver(stack, auth, http)
    yield driver
    driver.sender.close()


def _serious(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in found if v["impact"] in ("serious", "critical")]


def _scored(review: ReviewDriver, name: str) -> str:
    """One accepted organisation, scored to an award, every department opinion in."""
    review.cycle_saved(year=2026)
    app = review.accept(name, credit_code="91140900GUARD0001")
    review.wait_applications(1)
    expert = review.expert(f"exp-guard-{review.cycle}", "山西大学")
    panel = review.panel("material", 1, 1, [expert["id"]])
    r = review.http.post(f"{review.url}/panels/{panel['id']}/assign", headers=review.operator)
    assert r.status_code == 201, r.text
    items = Programme().rubric("organisation").items
    r = review.http.put(f"{review.url}/panels/{panel['id']}/scores/{app}",
                        headers=review.auth("expert", expert["subject"]),
                        json={"items": {k: v * 0.9 for k, v in items.items()}})
    assert r.status_code == 200, r.text
    for department in review.http.get(f"{review.url}/applications/{app}/opinions",
                                      headers=review.operator).json()["missing"]:
        r = review.http.post(f"{review.url}/applications/{app}/opinions",
                             headers=review.operator, json={
                                 "department": department, "favourable": True,
                                 "reference": f"{department}〔2026〕1号"})
        assert r.status_code == 201, r.text
    return app


def test_a_past_start_is_warned_about_and_published_only_with_a_reason_shown_on_the_notice(
        review: ReviewDriver, open_page: Callable[..., Any]) -> None:
    name = "忻州守序机械有限公司"
    _scored(review, name)
    page = open_page("operator", subject="op-guardrails", width=360)
    page.on("dialog", lambda dialog: dialog.accept())  # the publish button asks first
    page.goto(f"/review/ranking?cycle={review.cycle}")
    start = date.today() - timedelta(days=30)
    page.fill("#f-starts_on", start.isoformat())
    page.get_by_role("button", name="公示", exact=True).click()
    page.wait_for_load_state()

    warning = page.locator("[data-order-warning]")
    assert warning.is_visible()
    text = warning.inner_text()
    assert "早于今天" in text and "已在报刊公示" in text and "已结束" in text
    assert page.input_value("#f-starts_on") == start.isoformat()  # what was typed is kept
    assert _serious(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    listed = review.http.get(f"{review.url}/lists", headers=review.operator, params={
        "cycle": review.cycle, "kind": "recommendation"}).json()["items"]
    assert listed == []  # nothing was published by the first click

    page.fill("#f-reason", REASON)
    page.get_by_role("button", name="确认并公示").click()
    page.wait_for_load_state()
    assert REASON in page.locator("[data-deviation]").inner_text()
    [published] = review.http.get(f"{review.url}/lists", headers=review.operator, params={
        "cycle": review.cycle, "kind": "recommendation"}).json()["items"]
    assert published["deviations"] == ["start_in_past"]
    assert published["deviation_reason"] == REASON

    public = open_page(width=360)
    # Lists come newest window first and are paged: a backdated one may sit on a later page
    # when other cycles share the stack.
    for number in range(1, 21):
        public.goto(f"/review/public/lists?page={number}")
        cards = public.locator("[data-list]").filter(has_text=name).filter(
            has_text="拟表彰名单")
        if cards.count():
            break
    card = cards.first
    notice = card.locator("[data-notice]").inner_text()
    assert "发布单位：忻州市市场监督管理局" in notice and REASON in notice
    assert "异议期已于" in notice
    assert _serious(public) == []


def test_the_objector_follows_the_case_by_receipt_code_and_the_office_opens_the_evidence(
        review: ReviewDriver, open_page: Callable[..., Any]) -> None:
    review.cycle_saved()
    name = "忻州随访机械有限公司"
    app = review.accept(name, credit_code="91140900FOLLOW001")
    review.wait_applications(1)
    list_id = f"acc-follow-{review.cycle}"
    review.deliver("acceptance.published", {
        "list_id": list_id, "cycle": review.cycle, "starts_on": today_plus(-1),
        "ends_on": today_plus(6), "audience": [], "entries": [{
            "application_id": app, "applicant_name": name, "kind": "organisation"}]})

    def listed() -> bool:
        return bool(review.http.get(f"{review.url}/lists", headers=review.operator, params={
            "cycle": review.cycle, "kind": "acceptance"}).json()["items"])

    from waiting import poll
    poll(listed)

    # The public: the notice says to whom and until when, the form takes a real-name objection.
    public = open_page(width=360)
    public.goto("/review/public/lists")
    card = public.locator(f'[data-list="{list_id}"]')
    assert "忻州市市长质量奖评审监督组" in card.locator("[data-notice]").inner_text()
    card.get_by_role("link", name="对本名单提出异议").click()
    public.select_option("#f-application_id", label=name)
    public.check("#f-identity-real")
    public.fill("#f-reporter_name", "赵实名")
    public.fill("#f-reporter_contact", "13900000000")
    public.get_by_label("异议内容").fill("该单位去年发生产品质量事故，申报材料未如实说明。")
    public.set_input_files("#f-evidence_files", files=[{
        "name": "抽检报告.pdf", "mimeType": "application/pdf",
        "buffer": text_pdf(["抽检报告：不合格"])}])
    public.get_by_role("button", name="提交异议").click()
    public.wait_for_url("**/review/public/objections/received/**")
    main = public.locator("main").inner_text()
    assert "异议已收到" in main and "已受理" not in main
    code = public.locator("[data-receipt-code]").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code)

    def follow(typed: str) -> str:
        public.goto("/review/public/objections/follow")
        public.fill("#f-code", typed)
        public.click("main form button[type=submit]")
        public.wait_for_load_state()
        return public.locator("main").inner_text()

    text = follow(code.lower().replace("-", " "))  # as someone might type it off paper
    assert public.locator("[data-follow-status]").inner_text() == "已收到"
    assert "赵实名" not in text and "质量事故" not in text
    assert _serious(public) == []
    assert public.evaluate("document.documentElement.scrollWidth") <= 360

    # The operator opens the objection, its evidence, and starts the investigation.
    operator = open_page("operator", subject="op-follow")
    operator.on("dialog", lambda dialog: dialog.accept())
    operator.goto("/review/objections?status=open")
    operator.locator("[data-objections] tr").filter(has_text=name).locator("a").first.click()
    objection_url = operator.url
    page_text = operator.locator("main").inner_text()
    assert "抽检报告.pdf" in page_text and "赵实名" not in page_text
    link = operator.locator("[data-evidence-files] a").first.get_attribute("href")
    assert link
    got = operator.request.get(link)
    assert got.status == 200 and got.body().startswith(b"%PDF")
    operator.get_by_role("button", name="开始调查核实").click()
    operator.wait_for_load_state()
    assert follow(code) and public.locator("[data-follow-status]").inner_text() == "调查核实中"

    # The supervisor opens the evidence too; an expert is told it does not exist.
    supervisor = open_page("supervisor", subject="sup-follow")
    assert supervisor.request.get(link).status == 200
    expert = open_page("expert", subject="exp-follow")
    assert expert.request.get(link).status in (403, 404)
    objection_id = objection_url.rstrip("/").rsplit("/", 1)[1]
    api = f"{review.url}/objections/{objection_id}/evidence/1"
    assert review.http.get(api, headers=review.auth("expert", "exp-follow")).status_code == 404
    assert review.http.get(api, headers=review.auth("applicant", "a-follow")).status_code == 404

    # The answer, then the objector reads it; the reporter's identity is never on that page.
    operator.goto(objection_url)
    operator.select_option("#f-outcome", "dismissed")
    operator.fill("#f-resolution", "调取事故调查报告，责任方为供应商。")
    operator.fill("#f-answer", "经核实，所述事故责任不在该单位，异议不成立。")
    operator.click('form[action$="/resolve"] button[type=submit]')
    operator.wait_for_load_state()
    text = follow(code)
    assert public.locator("[data-follow-status]").inner_text() == "已答复"
    assert "经核实，所述事故责任不在该单位，异议不成立。" in text
    assert "调取事故调查报告" not in text and "赵实名" not in text
    reads = [a for a in review.audit_actions() if a[1] == "objection.evidence_read"
             and a[2] == f"objection:{objection_id}"]
    assert sorted(actor for actor, _a, _t in reads) == ["op-follow", "sup-follow"]
