"""The applicant sees the outcome (issue 15, points 4 and 10), over the running stack.

A small cycle is driven to a decision through the services' APIs (set-up only: this test is
about what the applicant then sees); then, in Chromium, the applicant's page shows the case
number and every stage of the timeline up to 获奖 with its dates, the decision letter and the
certificate as PDFs that only the owner can open (each download audited), and the inboxes hold
what each person must act on: one upload digest for all files, the 请补充 message never at the
recommender, the award message naming the award.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from intake.flows import Intake, new_uscc
from journey_steps import chinese_pdf
from pagewalk import inspect
from pypdf import PdfReader
from waiting import poll

from dossier.localstack import AppStack
from services.review.programme import Programme
from shared.auth import issue_token

pytestmark = pytest.mark.stack
SEVEN = ["一、领导", "二、战略", "三、顾客与市场", "四、资源", "五、过程管理",
         "六、测量、分析与改进", "七、结果"]

NAME = "忻州结果可见精密制造有限公司"


def _bearer(stack: AppStack, role: str, subject: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(stack.secret_key, subject=subject,
                                                     role=role, ttl_seconds=3600)}


def _ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _decided_cycle(stack: AppStack, http: requests.Session, applicant: str, recommender: str
                   ) -> dict[str, Any]:
    """One organisation's application from draft to the decision; its id, cycle and award."""
    intake = Intake(stack, http)
    documents, review = f"{stack.url('documents')}/api", f"{stack.url('review')}/api"
    operator = intake.operator
    cycle = intake.open_cycle(year=date.today().year,
                              programme=f"outcome-{uuid.uuid4().hex[:8]}")["id"]
    me = intake.as_("applicant", applicant)
    _ok(intake.call("PUT", "/accounts/me", me, json={"name": NAME, "language": "zh-CN"}))
    rec = intake.recommender("140902", recommender)
    app = _ok(intake.create(me, cycle, name=NAME, credit_code=new_uscc()), 201)
    app_id = app["id"]
    catalogue = _ok(http.get(f"{documents}/catalogue", headers=me,
                             params={"cycle": cycle, "kind": "organisation"}))
    uploaded: dict[str, dict[str, Any]] = {}
    for req in catalogue["kinds"]["organisation"]:
        if not req.get("required") or req.get("provided_by") == "recommender":
            continue
        title = req["title"]["zh-CN"]
        data = chinese_pdf(SEVEN if req.get("sections") else [title])
        uploaded[req["id"]] = _ok(intake.upload(me, app_id, f"{title[:20]}.pdf", data,
                                                requirement=req["id"]), 201)

    def inspected() -> bool:  # every file's verdict is back in intake
        versions = [v for d in intake.detail(me, app_id)["documents"] for v in d["versions"]]
        return len(versions) == len(uploaded) and all(v["inspection"] for v in versions)

    poll(inspected, 120)
    _ok(intake.publicity(me, app_id, uploaded["publicity-proof"]["document_id"]))
    _ok(intake.submit(me, app_id))
    poll(lambda: intake.detail(me, app_id).get("completeness") is not None, 90)
    _ok(intake.call("POST", f"/applications/{app_id}/recommend", rec,
                    json={"opinion": "材料齐全，情况属实，同意推荐。",
                          "government_reference": "忻府政函〔2026〕9号"}))
    _ok(intake.call("POST", f"/applications/{app_id}/accept", operator, json={}))
    _ok(intake.call("POST", f"/cycles/{cycle}/acceptance-lists", operator,
                    json={"starts_on": (date.today() - timedelta(days=40)).isoformat(),
                          "reason": "已在报刊公示"}), 201)
    poll(lambda: _ok(http.get(f"{review}/applications", headers=operator,
                              params={"cycle": cycle}))["items"], 60)
    experts = [_ok(http.post(f"{review}/experts", headers=operator, json={
        "subject": f"expert-{i}-{cycle}", "name": f"结果专家{i}",
        "organisation": f"山西省标准化研究院{i}", "fields": ["装备制造"]}), 201)
        for i in range(5)]
    panel = _ok(http.post(f"{review}/panels", headers=operator, json={
        "cycle": cycle, "stage": "material", "per_application": 5, "max_load": 3,
        "pool": [e["id"] for e in experts]}), 201)
    pairs = _ok(http.post(f"{review}/panels/{panel['id']}/assign", headers=operator),
                201)["items"]
    items = Programme().rubric("organisation").items
    for pair in pairs:
        _ok(http.put(f"{review}/panels/{panel['id']}/scores/{app_id}",
                     headers=_bearer(stack, "expert", pair["expert_subject"]),
                     json={"items": {k: round(v * 0.9, 2) for k, v in items.items()}}))
    for department in _ok(http.get(f"{review}/applications/{app_id}/opinions",
                                   headers=operator))["missing"]:
        _ok(http.post(f"{review}/applications/{app_id}/opinions", headers=operator, json={
            "department": department, "favourable": True,
            "reference": f"{department}〔{date.today().year}〕2号"}), 201)
    _ok(http.post(f"{review}/cycles/{cycle}/recommendation", headers=operator,
                  json={"starts_on": (date.today() - timedelta(days=30)).isoformat(),
                        "reason": "已在报刊公示"}), 201)
    awards = _ok(http.post(f"{review}/cycles/{cycle}/decision", headers=operator,
                           json={"reference": "忻政发〔2026〕7号"}), 201)
    [award] = [a for a in awards if a["application_id"] == app_id]
    decided = [r.event_id for r in stack.outbox("review", "award.decided")
               if r.payload["payload"]["cycle"] == cycle]
    poll(lambda: decided and stack.processed("intake", decided[0])
         and stack.processed("notify", decided[0]), 60)
    return {"id": app_id, "case_number": app["case_number"], "cycle": cycle, "award": award,
            "files": len(uploaded)}


@pytest.mark.timeout(600)
def test_the_applicant_follows_the_timeline_to_the_award_and_opens_the_certificate(
        stack: AppStack, open_page: Callable[..., Any]) -> None:
    applicant, recommender = f"outcome-{uuid.uuid4().hex[:8]}", f"rec-{uuid.uuid4().hex[:8]}"
    with requests.Session() as http:
        done = _decided_cycle(stack, http, applicant, recommender)
    assert done["case_number"].startswith(f"{done['cycle']}-")

    # -- the applicant's packet page: case number, every stage with its date, the documents --
    page = open_page("applicant", applicant, NAME)
    page.goto("/intake/packets")
    row = page.get_by_role("row", name=NAME)
    assert done["case_number"] in row.inner_text() and "获奖" in row.inner_text()
    row.get_by_role("link", name=NAME).click()
    facts = page.locator("dl.facts").inner_text()
    assert done["case_number"] in facts and "获奖" in facts and "已受理" not in facts
    timeline = page.get_by_role("region", name="办理进度")
    stages = timeline.locator("li")
    assert [stages.nth(i).get_attribute("data-stage") for i in range(stages.count())] == [
        "submitted", "recommended", "accepted", "in_review", "publicity", "award"]
    assert {stages.nth(i).get_attribute("data-state") for i in range(stages.count())} == {"done"}
    text = timeline.inner_text()
    for label in ("已提交", "已推荐", "已受理", "评审中", "公示中", "获奖"):
        assert label in text
    # Each stage carries its date (the publicity its window).
    assert [stages.nth(i).locator(".when").count() for i in range(stages.count())] == [1] * 6
    outcome = page.get_by_role("region", name="评选结果")
    said = outcome.inner_text()
    assert "忻州市市长质量奖" in said and "忻政发〔2026〕7号" in said

    serial = done["award"]["serial"]
    for name, expected in (("荣誉证书（PDF）", serial), ("表彰决定通知书（PDF）", NAME)):
        href = outcome.get_by_role("link", name=name).get_attribute("href")
        got = page.request.get(href)
        assert got.status == 200 and got.headers["content-type"] == "application/pdf"
        pdf_text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(got.body())).pages)
        assert expected in pdf_text and serial in pdf_text
        # Nobody else's: another applicant gets the same 404 as for a missing award.
        stranger = open_page("applicant", f"stranger-{uuid.uuid4().hex[:6]}", "别的公司")
        assert stranger.request.get(href).status == 404
    audited = _ok(requests.get(f"{stack.url('review')}/api/audit",
                               headers=_bearer(stack, "supervisor", "sup-outcome"),
                               params={"actor": applicant, "per_page": 50}))["items"]
    assert {a["action"] for a in audited} >= {"certificate.downloaded", "decision.downloaded"}

    # The page passes axe and reads at 360 px.
    narrow = open_page("applicant", applicant, NAME, width=360)
    narrow.goto(page.url)
    assert inspect(narrow, lang="zh-CN", narrow=True) == []

    # -- inboxes: what each person must act on, once --------------------------------------------
    page.goto("/notify/inbox")
    titles = page.locator("li.message .message-head a").all_inner_texts()
    # One message per step, none twice; one digest for all the uploaded files.
    assert titles.count("上传的材料已检查完毕") == 1 and done["files"] >= 5, titles
    assert not [t for t in titles if t.startswith("材料已检查")], titles
    assert len(titles) == len(set(titles)), titles
    assert page.locator("[data-unread]").get_attribute("data-unread") == str(len(titles))
    [award_title] = [t for t in titles if t.endswith("评选结果")]
    page.get_by_role("link", name=award_title).click()
    message = page.get_by_role("main").inner_text()
    assert f"办件编号 {done['case_number']}" in message
    assert "“忻州市市长质量奖”（奖项）" in message and "荣誉证书" in message
    page.get_by_role("link", name="查看申报").click()  # to the page with the certificate
    assert page.get_by_role("link", name="荣誉证书（PDF）").is_visible()

    recommender_page = open_page("recommender", recommender, "忻府区市场监管局",
                                 scope={"unit": "140902"})
    recommender_page.goto("/notify/inbox")
    theirs = recommender_page.locator("li.message .message-head a").all_inner_texts()
    assert f"待审核推荐：{NAME}" in theirs, theirs
    assert not [t for t in theirs if "补充" in t], theirs
