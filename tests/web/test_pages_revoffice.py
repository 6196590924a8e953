"""The operator's and supervisor's review pages on the real stack: experts and conflicts, panels
and the assignment (explanations, infeasibility and its fix), scoring progress, ranking and
opinions, the recommendation list, objections with the sealed reporter, the decision,
certificates and revocation. State is built through the API and events; pages are walked as a
browser session would (HTTP level), one run of the assignment in Chromium."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from review.reviewstack import ReviewDriver
from waiting import poll

from dossier.localstack import AppStack
from services.review.programme import Programme

pytestmark = pytest.mark.stack

NO_ACTION_FORM = re.compile(r'<form[^>]*method="post"(?![^>]*sign-out)', re.I)


@dataclass
class Office:
    driver: ReviewDriver
    apps: list[str]
    codes: list[str]
    experts: list[dict[str, Any]]
    insider: dict[str, Any]
    acceptance_list: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cycle(self) -> str:
        return self.driver.cycle


def _ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def office(stack: AppStack, auth: Callable[[str, str], dict[str, str]]) -> Iterator[Office]:
    """A cycle with two accepted organisations, three experts and one from inside the first
    applicant (a conflict detected on the same credit code), and an acceptance list under
    publicity (objections can be raised against it)."""
    http = requests.Session()
    driver = ReviewDriver(stack, auth, http)
    driver.cycle_saved(awards=1, nominations=1)
    codes = [f"91140900{secrets.token_hex(5).upper()}"[:18] for _ in range(2)]
    apps = [driver.accept("忻州办公页甲机械有限公司", credit_code=codes[0]),
            driver.accept("忻州办公页乙机械有限公司", credit_code=codes[1])]
    driver.wait_applications(2)
    tag = str(secrets.randbelow(10**6))
    experts = [driver.expert(f"revoffice-{tag}-{i}", f"山西省质量研究院{i}",
                             name=f"评审专家{tag}{i}", county=f"1409{i:02d}") for i in range(3)]
    insider = driver.expert(f"revoffice-{tag}-in", "忻州办公页甲机械",
                            name=f"内部专家{tag}", organisation_credit_code=codes[0])
    list_id = str(uuid.uuid4())
    driver.deliver("acceptance.published", {
        "list_id": list_id, "cycle": driver.cycle, "starts_on": date.today().isoformat(),
        "ends_on": (date.today() + timedelta(days=9)).isoformat(),
        "entries": [{"application_id": a, "applicant_name": n, "kind": "organisation",
                     "unit": "140902"} for a, n in zip(apps, ["忻州办公页甲机械有限公司",
                                                              "忻州办公页乙机械有限公司"],
                                                       strict=True)], "audience": []})
    poll(lambda: _ok(http.get(f"{driver.url}/lists", headers=driver.operator,
                              params={"cycle": driver.cycle, "kind": "acceptance"}))["items"])
    yield Office(driver, apps, codes, experts, insider, list_id)
    driver.sender.close()
    http.close()


def _clean(r: requests.Response, status: int = 200) -> str:
    assert r.status_code == status, r.text[:2000]
    assert "[[untranslated" not in r.text, re.findall(r"\[\[untranslated: [^\]]*\]\]", r.text)
    return r.text


def _both(who: Any, path: str) -> str:
    """The page in Chinese and in English, neither with an untranslated string."""
    sep = "&" if "?" in path else "?"
    _clean(who.get(f"{path}{sep}lang=en"))
    return _clean(who.get(f"{path}{sep}lang=zh-CN"))


def test_expert_registry_forms_csv_import_and_conflicts(
        office: Office, browser_login: Callable[..., Any]) -> None:
    op = browser_login("operator", "op-revoffice", "业务员")
    page = _both(op, f"/review/experts?q={office.insider['name']}")
    assert office.insider["name"] in page and 'action="/review/experts/import"' in page

    # The insider's page: the conflict detected on the shared credit code, ground in words.
    page = _both(op, f"/review/experts/{office.insider['id']}")
    assert "同一单位" in page and "检测发现" in page and "忻州办公页甲机械有限公司" in page

    # A new expert through the form; a bad e-mail is shown next to its field.
    tag = str(secrets.randbelow(10**6))
    r = op.post("/review/experts/new", {"subject": f"revoffice-new-{tag}", "name": "新专家",
                                        "organisation": "太原理工大学", "email": "not-an-email"})
    page = _clean(r, 422)
    assert 'id="e-email"' in page and "电子邮件地址无效" in page
    r = op.post("/review/experts/new", {
        "subject": f"revoffice-new-{tag}", "name": "新专家", "organisation": "太原理工大学",
        "fields": "机械制造；化工", "county": "140902",
        "relations": "忻州办公页乙机械有限公司 | 顾问 | | "})
    assert r.status_code == 303, r.text[:1000]
    page = _clean(op.get(r.headers["Location"]))
    # The declared adviser relation to the second applicant is detected on that ground.
    assert "咨询、检测、代写等有偿服务关系" in page and "忻州办公页乙机械有限公司" in page

    # CSV import: a bad row names its line and imports nothing; a GBK file (Excel) imports.
    bad = (f"subject,name,organisation\nrevoffice-csv-{tag}-1,甲,单位甲\n"
           f"revoffice-csv-{tag}-2,,单位乙\n")
    r = op.http.post(f"{op.origin}/review/experts/import", allow_redirects=False,
                     data={"csrf_token": op.csrf},
                     files={"file": ("experts.csv", bad.encode("utf-8"), "text/csv")})
    page = _clean(r, 422)
    assert "第 3 行" in page and "name" in page and "未导入任何数据" in page
    good = (f"subject,name,organisation,fields\nrevoffice-csv-{tag}-1,甲专家,单位甲,机械制造\n"
            f"revoffice-csv-{tag}-2,乙专家,单位乙,机械制造\n")
    r = op.http.post(f"{op.origin}/review/experts/import", allow_redirects=False,
                     data={"csrf_token": op.csrf},
                     files={"file": ("experts.csv", good.encode("gbk"), "text/csv")})
    assert r.status_code == 303, r.text[:1000]
    page = _clean(op.get(f"/review/experts?q=revoffice-csv-{tag}"))
    assert "甲专家" in page and "乙专家" in page

    # Declare a conflict with a reason; withdraw it with a reason: the record stays.
    expert = office.experts[2]
    r = op.post(f"/review/experts/{expert['id']}/conflicts", {
        "application_id": office.apps[1], "ground": "dispute", "reason": "x"})
    assert 'id="e-reason"' in _clean(r, 422)
    r = op.post(f"/review/experts/{expert['id']}/conflicts", {
        "application_id": office.apps[1], "ground": "dispute",
        "reason": "与申报单位存在合同纠纷（2024）"})
    assert r.status_code == 303
    records = _ok(requests.get(f"{office.driver.url}/conflicts", timeout=10,
                               headers=office.driver.operator,
                               params={"expert_id": expert["id"], "active": True}))["items"]
    [record] = [c for c in records if c["ground"] == "dispute"]
    r = op.post(f"/review/conflicts/{record['id']}/withdraw", {"reason": "核实无纠纷，误报"})
    assert r.status_code == 303
    page = _clean(op.get(f"/review/experts/{expert['id']}"))
    assert "合同纠纷" in page and "已撤回" in page and "核实无纠纷，误报" in page


def test_panel_assignment_explanations_infeasibility_and_progress(
        office: Office, browser_login: Callable[..., Any]) -> None:
    op = browser_login("operator", "op-revoffice", "业务员")
    pool = [e["id"] for e in [*office.experts, office.insider]]
    r = op.post("/review/panels", {"cycle": office.cycle, "stage": "material",
                                   "per_application": "2", "max_load": "2",
                                   "deadline": (date.today() + timedelta(days=7)).isoformat(),
                                   "pool": pool})
    assert r.status_code == 303, r.text[:1000]
    material = r.headers["Location"]
    page = _both(op, material)
    assert "data-run-solver" in page
    r = op.post(f"{material}/assign")
    assert r.status_code == 303, r.text[:1000]
    page = _both(op, material)
    assert "专业领域覆盖申报者的领域（+100）" in page
    assert "在覆盖、负荷上限和利益冲突约束下" in page and "data-run-solver" not in page
    assert page.count("未提交") == 4  # four assignments, no score yet

    # An expert scores through the API: the progress shows the score and who is missing.
    panel_id = material.rsplit("/", 1)[1]
    pairs = _ok(requests.get(f"{office.driver.url}/assignments", timeout=10,
                             headers=office.driver.operator,
                             params={"panel_id": panel_id}))["items"]
    first = pairs[0]
    items = Programme().rubric("organisation").items
    _ok(requests.put(f"{office.driver.url}/panels/{panel_id}/scores/{first['application_id']}",
                     timeout=10, headers=office.driver.auth("expert", first["expert_subject"]),
                     json={"items": {k: round(v * 0.8, 2) for k, v in items.items()}}))
    page = _both(op, material)
    assert "data-progress>1 / 4<" in page and page.count("未提交") == 3

    # Four experts per application: the insider's conflict leaves the first applicant three.
    r = op.post("/review/panels", {"cycle": office.cycle, "stage": "on-site",
                                   "per_application": "4", "max_load": "2", "pool": pool})
    onsite = r.headers["Location"]
    r = op.post(f"{onsite}/assign")
    page = _clean(r, 409)
    assert "data-infeasible" in page and "忻州办公页甲机械有限公司" in page
    assert "1 名存在利益冲突" in page and "无法完成分配：1 项申报无法配齐专家。" in page
    assert f"/candidates/{office.apps[0]}" in page and f"{onsite}/edit" in page
    page = _both(op, f"{onsite}/candidates/{office.apps[0]}")
    assert "利益冲突：同一单位" in page
    # The fix: three per application (and the load cap raised), then the run succeeds.
    r = op.post(f"{onsite}/edit", {"per_application": "3", "max_load": "0", "pool": pool})
    assert 'id="e-max_load"' in _clean(r, 422)
    r = op.post(f"{onsite}/edit", {"per_application": "3", "max_load": "3", "pool": pool})
    assert r.status_code == 303
    assert op.post(f"{onsite}/assign").status_code == 303
    page = _both(op, onsite)
    assert page.count("data-why") == 6
    # The same change through the API is refused once the assignment exists.
    api = f"{office.driver.url}/panels/{onsite.rsplit('/', 1)[1]}"
    r = requests.put(api, timeout=10, headers=office.driver.operator, json={"max_load": 5})
    assert r.status_code == 409 and r.json()["code"] == "panel.assigned"
    r = requests.put(api, timeout=10, headers=office.driver.supervisor, json={"max_load": 5})
    assert r.status_code == 403

    # A recusal after the run proposes a replacement; the operator confirms it on the page.
    serving = _ok(requests.get(f"{office.driver.url}/assignments", timeout=10,
                               headers=office.driver.operator,
                               params={"panel_id": onsite.rsplit("/", 1)[1],
                                       "application_id": office.apps[1],
                                       "status": "active"}))["items"]
    leaving = next(p for p in serving if p["expert_id"] != office.insider["id"])
    r = op.post(f"/review/experts/{leaving['expert_id']}/conflicts", {
        "application_id": office.apps[1], "ground": "relative",
        "reason": "专家配偶在申报单位任职"})
    assert r.status_code == 303
    page = _clean(op.get(onsite))
    if "data-proposals" in page:  # a replacement exists only if someone has room
        proposal = re.search(r'/review/assignments/([0-9a-f-]+)/confirm', page)
        assert proposal
        assert op.post(proposal.group(0)).status_code == 303
        assert "data-proposals" not in _clean(op.get(onsite))
    office.extra.update(material=panel_id, onsite=onsite.rsplit("/", 1)[1])


def _score_all(office: Office) -> None:
    items = Programme().rubric("organisation").items
    api, operator = office.driver.url, office.driver.operator
    for panel_id in (office.extra["material"], office.extra["onsite"]):
        for pair in _ok(requests.get(f"{api}/assignments", timeout=10, headers=operator,
                                     params={"panel_id": panel_id, "status": "active",
                                             "per_page": 100}))["items"]:
            share = 0.95 if pair["application_id"] == office.apps[0] else 0.85
            _ok(requests.put(f"{api}/panels/{panel_id}/scores/{pair['application_id']}",
                             timeout=10, headers=office.driver.auth("expert",
                                                                    pair["expert_subject"]),
                             json={"items": {k: round(v * share, 2) for k, v in items.items()}}))


def test_ranking_opinions_objections_decision_and_revocation(
        office: Office, browser_login: Callable[..., Any], stack: AppStack) -> None:
    if "onsite" not in office.extra:
        pytest.fail("needs the panels of the assignment test (run the module in order)")
    op = browser_login("operator", "op-revoffice", "业务员")
    sup = browser_login("supervisor", "sup-revoffice", "监督员")
    _score_all(office)
    page = _both(op, f"/review/ranking?cycle={office.cycle}")
    assert "1 个名额已确定 1 个" in page
    assert "忻州办公页甲机械有限公司" in page

    # Publishing is blocked until each chosen applicant's opinions are in: named per applicant.
    start = (date.today() - timedelta(days=30)).isoformat()
    r = op.post(f"/review/ranking/{office.cycle}/recommendation",
                {"starts_on": start, "reason": "已在报刊公示"})
    page = _clean(r, 409)
    assert "data-blocked" in page and "公安机关" in page
    api, operator = office.driver.url, office.driver.operator
    for app in office.apps:
        missing = _ok(requests.get(f"{api}/applications/{app}/opinions", timeout=10,
                                   headers=operator))["missing"]
        first, rest = missing[0], missing[1:]
        r = op.post(f"/review/ranking/applications/{app}/opinions",
                    {"department": first, "favourable": "yes", "reference": "忻公函〔2026〕1号"})
        assert r.status_code == 303, r.text[:1000]
        for department in rest:
            _ok(requests.post(f"{api}/applications/{app}/opinions", timeout=10,
                              headers=operator, json={"department": department,
                                                      "favourable": True,
                                                      "reference": f"{department}-1"}), 201)
    page = _both(op, f"/review/ranking/applications/{office.apps[0]}/opinions")
    assert "data-opinion-state=\"complete\"" in page
    r = op.post(f"/review/ranking/{office.cycle}/recommendation",
                {"starts_on": start, "reason": "已在报刊公示"})
    assert r.status_code == 303, r.text[:1500]
    page = _both(op, f"/review/ranking?cycle={office.cycle}")
    assert "拟表彰名单" in page and "公示期已结束" in page

    # Objections on the acceptance list: one real-name, one anonymous.
    reporter = office.driver.auth("applicant", f"reporter-{secrets.token_hex(3)}")
    sealed = _ok(requests.post(f"{api}/lists/{office.acceptance_list}/objections", timeout=10,
                               headers=reporter, json={
                                   "application_id": office.apps[1], "anonymous": False,
                                   "reporter_name": "举报人王某",
                                   "reporter_contact": "13800000000",
                                   "text": "该单位申报材料中的产值数据与统计年鉴不符。"}), 201)
    anonymous = _ok(requests.post(f"{api}/lists/{office.acceptance_list}/objections",
                                  timeout=10, headers=reporter,
                                  json={"anonymous": True, "text": "名单公示时间过短，请核实。"}),
                    201)
    page = _both(op, "/review/objections?status=open")
    assert "实名（已密封）" in page and "匿名" in page and "举报人王某" not in page
    page = _both(op, f"/review/objections/{sealed['id']}")
    assert "举报人王某" not in page and "/reporter" not in page
    assert op.get(f"/review/objections/{sealed['id']}/reporter").status_code == 403
    page = _both(sup, f"/review/objections/{sealed['id']}")
    assert f"/review/objections/{sealed['id']}/reporter" in page and "举报人王某" not in page
    page = _clean(sup.get(f"/review/objections/{sealed['id']}/reporter"))
    assert "举报人王某" in page and "13800000000" in page
    reads = [a for a in office.driver.audit_actions()
             if a[1] == "objection.reporter_read" and a[2] == f"objection:{sealed['id']}"]
    assert reads and all(actor == "sup-revoffice" for actor, _a, _t in reads)
    assert sup.post(f"/review/objections/{sealed['id']}/resolve", {
        "outcome": "dismissed", "resolution": "监督员不能处理"}).status_code == 403
    r = op.post(f"/review/objections/{sealed['id']}/resolve", {"outcome": "dismissed",
                                                               "resolution": "经核实，数据一致。",
                                                               "answer": "经核实，数据一致。"})
    assert r.status_code == 303
    assert "经核实，数据一致。" in _clean(op.get(f"/review/objections/{sealed['id']}"))

    # The decision waits for every objection of the cycle, the anonymous one too.
    r = op.post(f"/review/outcomes/{office.cycle}/decision", {"reference": "忻政发〔2026〕9号"})
    assert r.status_code == 409 and "异议未处理" in r.text
    r = op.post(f"/review/objections/{anonymous['id']}/resolve", {
        "outcome": "dismissed", "resolution": "公示期符合规定。", "answer": "公示期符合规定。"})
    assert r.status_code == 303

    # The decision: serials listed, the certificate downloads, revocation with evidence.
    page = _both(op, f"/review/outcomes?cycle={office.cycle}")
    r = op.post(f"/review/outcomes/{office.cycle}/decision", {"reference": "忻政发〔2026〕9号"})
    assert r.status_code == 303, r.text[:1500]
    page = _both(op, f"/review/outcomes?cycle={office.cycle}")
    serials = re.findall(r"<code>(\d{4}-[AN]\d{3}-[0-9A-Za-z]+)</code>", page)
    assert len(serials) == 2, page
    award_id = re.search(r"/review/outcomes/awards/([0-9a-f-]+)", page).group(1)  # type: ignore[union-attr]
    link = re.search(r'href="(/review/api/awards/[0-9a-f-]+/certificate)"', page)
    assert link
    r = op.get(link.group(1))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = op.post(f"/review/outcomes/awards/{award_id}/revoke", {"ground": "fraud",
                                                               "evidence": ""})
    assert 'id="e-evidence"' in _clean(r, 422)
    r = op.post(f"/review/outcomes/awards/{award_id}/revoke", {
        "ground": "fraud", "evidence": "忻市监稽〔2026〕3号\n现场核查笔录", "note": "虚报产值",
        "amount_to_recover": "1000"})
    assert r.status_code == 303, r.text[:1500]
    page = _both(op, f"/review/outcomes/awards/{award_id}")
    assert "data-revocation" in page and "弄虚作假" in page and "现场核查笔录" in page
    r = op.post(f"/review/outcomes/awards/{award_id}/recovery", {"amount": "400",
                                                                 "reference": "缴款书 001"})
    assert r.status_code == 303, r.text[:1500]
    r = op.post(f"/review/outcomes/awards/{award_id}/recovery", {"amount": "700",
                                                                 "reference": "缴款书 002"})
    assert "尚余 600 元" in _clean(r, 422)
    awards = _ok(requests.get(f"{api}/awards", timeout=10, headers=operator,
                              params={"cycle": office.cycle}))["items"]
    [revoked] = [a for a in awards if a["id"] == award_id]
    assert revoked["revocation"]["amount_recovered"] == 400
    recovery = f"{api}/awards/{award_id}/recovery"
    assert requests.post(recovery, timeout=10, headers=office.driver.supervisor,
                         json={"amount": 1, "reference": "x"}).status_code == 403
    r = requests.post(recovery, timeout=10, headers=operator,
                      json={"amount": 600, "reference": "缴款书 003"})
    assert _ok(r)["revocation"]["amount_recovered"] == 1000
    assert ("op-revoffice", "award.recovery_recorded", f"award:{award_id}") in \
        office.driver.audit_actions()

    # The supervisor reads every page and is shown no action form; their POSTs are refused.
    for path in (f"/review/experts?q={office.insider['name']}",
                 f"/review/experts/{office.insider['id']}",
                 f"/review/panels?cycle={office.cycle}",
                 f"/review/panels/{office.extra['onsite']}",
                 f"/review/panels/{office.extra['onsite']}/candidates/{office.apps[0]}",
                 f"/review/ranking?cycle={office.cycle}",
                 f"/review/ranking/applications/{office.apps[1]}/opinions",
                 f"/review/outcomes?cycle={office.cycle}",
                 f"/review/outcomes/awards/{award_id}", "/review/objections",
                 f"/review/objections/{sealed['id']}"):
        page = _both(sup, path)
        assert not NO_ACTION_FORM.search(page), (path, NO_ACTION_FORM.findall(page))
        assert "data-readonly" in page or "objections" in path or "candidates" in path
    for path, form in ((f"/review/panels/{office.extra['material']}/assign", {}),
                       (f"/review/experts/{office.insider['id']}/reactivate", {}),
                       (f"/review/outcomes/{office.cycle}/decision", {}),
                       (f"/review/outcomes/awards/{award_id}/recovery", {"amount": "1",
                                                                         "reference": "x"}),
                       ("/review/experts/new", {"subject": "x", "name": "x",
                                                "organisation": "x"})):
        assert sup.post(path, form).status_code == 403
    assert sup.get("/review/experts/new").status_code == 403


def test_running_the_assignment_in_chromium(
        stack: AppStack, auth: Callable[[str, str], dict[str, str]],
        open_page: Callable[..., Any]) -> None:
    http = requests.Session()
    driver = ReviewDriver(stack, auth, http)
    try:
        driver.cycle_saved()
        driver.accept("忻州浏览器测试机械有限公司", credit_code="91140900BROWSER001")
        driver.wait_applications(1)
        tag = str(secrets.randbelow(10**6))
        pool = [driver.expert(f"revoffice-ui-{tag}-{i}", f"研究院{i}")["id"] for i in range(2)]
        panel = driver.panel("material", 2, 1, pool)
    finally:
        driver.sender.close()
    page = open_page("operator", "op-revoffice-ui", "业务员")
    page.goto(f"/review/panels/{panel['id']}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("材料评审")
    page.get_by_role("button", name="运行分配").click()
    page.wait_for_url(f"**/review/panels/{panel['id']}")
    assert "已分配 2 项评审任务" in page.locator("main").inner_text()
    why = page.locator("[data-why]")
    assert why.count() == 2
    assert "专业领域覆盖申报者的领域（+100）" in why.first.inner_text()
    assert page.get_by_role("button", name="运行分配").count() == 0
    http.close()
