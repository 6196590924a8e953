"""The applicant's pages over HTTP: scoping (someone else's packet is a 404 page), the
eligibility questions with their refusals per rule, the packet page's forms with errors next to
their fields, and no untranslated text in either language."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from intake.flows import CALENDAR, Intake, new_id_number, new_uscc

from dossier.localstack import AppStack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.stack
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def intake(stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(stack, http)


@pytest.fixture(scope="module")
def page_cycle(stack: AppStack) -> str:
    with requests.Session() as http:
        intake = Intake(stack, http)
        cycle = intake.open_cycle()["id"]
        intake.requirements(cycle)  # the checklist names what documents announced
        return cycle


def subject() -> str:
    return f"appl-{uuid.uuid4().hex[:8]}"


def clean(html: str) -> None:
    assert "[[untranslated" not in html, re.findall(r"\[\[untranslated: [^\]]*\]\]", html)[:5]


def both_languages(browser: Any, path: str) -> dict[str, str]:
    pages = {}
    for lang in ("zh-CN", "en"):
        r = browser.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert r.status_code == 200, (lang, r.status_code, r.text[:500])
        clean(r.text)
        pages[lang] = r.text
    return pages


def test_my_applications_lists_only_mine_in_both_languages(
        intake: Intake, page_cycle: str, browser_login: Callable[..., Any]) -> None:
    me, other = subject(), subject()
    mine = intake.create(intake.as_("applicant", me), page_cycle, name="我的公司").json()
    intake.create(intake.as_("applicant", other), page_cycle, name="别人的公司")
    browser = browser_login("applicant", me)
    pages = both_languages(browser, "/intake/packets")
    assert "我的公司" in pages["zh-CN"] and "别人的公司" not in pages["zh-CN"]
    assert f"/intake/packets/{mine['id']}" in pages["en"]
    assert "Start an application" in pages["en"] and "草稿" in pages["zh-CN"]
    # Other roles have no business here.
    assert browser_login("expert", "exp-x").get("/intake/packets").status_code == 403


def test_another_applicants_packet_is_a_404_page_everywhere(
        intake: Intake, page_cycle: str, browser_login: Callable[..., Any]) -> None:
    owner = subject()
    app = intake.create(intake.as_("applicant", owner), page_cycle).json()
    doc = intake.upload(intake.as_("applicant", owner), app["id"], "a.pdf", PDF).json()
    intruder = browser_login("applicant", subject())
    for path in (f"/intake/packets/{app['id']}", f"/intake/packets/{app['id']}/checklist",
                 f"/intake/packets/{app['id']}/documents", f"/intake/packets/{uuid.uuid4()}"):
        r = intruder.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert "text/html" in r.headers["Content-Type"]
        assert app["name"] not in r.text
    for path, data in ((f"/intake/packets/{app['id']}/submit", {"route": "county"}),
                       (f"/intake/packets/{app['id']}/publicity", {"starts_on": "2026-01-05"}),
                       (f"/intake/packets/{app['id']}/documents/{doc['document_id']}/delete", {}),
                       (f"/intake/packets/{app['id']}/documents/{doc['document_id']}"
                        "/confidentiality", {"confidentiality": "public"})):
        r = intruder.post(path, data)
        assert r.status_code == 404, (path, r.status_code)
    # The owner's file is untouched.
    assert len(intake.detail(intake.as_("applicant", owner), app["id"])["documents"]) == 1


def test_eligibility_questions_refuse_per_rule_with_the_reason_in_each_language(
        page_cycle: str, browser_login: Callable[..., Any]) -> None:
    browser = browser_login("applicant", subject())
    both_languages(browser, "/intake/packets/new")
    young = (date.today() - timedelta(days=400)).isoformat()
    form = {"cycle": page_cycle, "kind": "organisation", "name": "新成立公司",
            "credit_code": new_uscc(), "founded_on": young, "county": "140902",
            "attest_no_violation": "no", "attest_no_accident": "yes"}
    for lang, words in (("zh-CN", ("未满 3 年", "须承诺无违法")),
                        ("en", ("at least 3 years", "must attest to no violations"))):
        browser.http.cookies.set("lang", lang, domain="127.0.0.1", path="/")
        r = browser.post("/intake/packets/new", form)
        assert r.status_code == 422, r.text[:300]
        clean(r.text)
        rules = re.findall(r'data-rule="([^"]+)"', r.text)
        assert rules == ["eligibility.operating_years", "eligibility.violation_attestation"]
        for word in words:
            assert word in r.text, (lang, word)
        assert 'value="新成立公司"' in r.text  # the answers stay in the form
    browser.http.cookies.set("lang", "zh-CN", domain="127.0.0.1", path="/")


def test_field_errors_sit_next_to_their_fields(page_cycle: str,
                                               browser_login: Callable[..., Any]) -> None:
    browser = browser_login("applicant", subject())
    bad_code = browser.post("/intake/packets/new", {
        "cycle": page_cycle, "kind": "organisation", "name": "某公司",
        "credit_code": "91140902ABCDEFGHIJ", "founded_on": "2010-01-01"})
    assert bad_code.status_code == 422
    assert 'id="e-credit_code"' in bad_code.text and 'aria-invalid="true"' in bad_code.text
    bad_date = browser.post("/intake/packets/new", {
        "cycle": page_cycle, "kind": "organisation", "name": "某公司", "founded_on": "昨天"})
    assert bad_date.status_code == 422
    assert re.search(r'id="e-founded_on">[^<]+<', bad_date.text)
    clean(bad_date.text)
    no_name = browser.post("/intake/packets/new", {"cycle": page_cycle, "kind": "individual",
                                                   "id_number": "123"})
    assert no_name.status_code == 422 and 'id="e-name"' in no_name.text
    bad_id = browser.post("/intake/packets/new", {
        "cycle": page_cycle, "kind": "individual", "name": "张三",
        "id_number": "110101199001011234"})
    assert bad_id.status_code == 422 and 'id="e-id_number"' in bad_id.text


def test_opening_an_application_then_the_packet_page_in_both_languages(
        page_cycle: str, browser_login: Callable[..., Any]) -> None:
    browser = browser_login("applicant", subject())
    r = browser.post("/intake/packets/new", {
        "cycle": page_cycle, "kind": "individual", "name": "李四", "county": "140902",
        "id_number": new_id_number(), "employer": "某公司", "quality_years": "6",
        "attest_no_violation": "yes"})
    assert r.status_code == 303, r.text[:500]
    path = r.headers["Location"]
    assert re.fullmatch(r"/intake/packets/[0-9a-f-]{36}", path)
    pages = both_languages(browser, path)
    assert "李四" in pages["zh-CN"] and "个人质量工作事迹材料" in pages["zh-CN"]
    assert 'id="u-files"' in pages["en"] and "multiple" in pages["en"]
    assert "upload.js" in pages["en"]
    # The identity number shows masked only.
    assert re.search(r"\d{4}\*+\d{2,4}", pages["en"]) or "****" in pages["en"]


def test_confidentiality_publicity_submit_and_a_return_through_the_packet_page(
        intake: Intake, page_cycle: str, browser_login: Callable[..., Any]) -> None:
    me = subject()
    who = intake.as_("applicant", me)
    app = intake.create(who, page_cycle).json()
    base = f"/intake/packets/{app['id']}"
    proof = intake.upload(who, app["id"], "公示证明.pdf", PDF, requirement="publicity-proof").json()
    report = intake.upload(who, app["id"], "自评报告.pdf", PDF,
                           requirement="self-evaluation").json()
    browser = browser_login("applicant", me)
    page = both_languages(browser, base)
    assert "公示证明.pdf" in page["zh-CN"] and "自评报告.pdf" in page["en"]

    # Confidentiality: a bad page range is shown next to that document's field.
    doc = report["document_id"]
    r = browser.post(f"{base}/documents/{doc}/confidentiality",
                     {"confidentiality": "trade-secret", "secret_pages": "3-1"})
    assert r.status_code == 422
    assert f'id="e-p-{doc}"' in r.text
    r = browser.post(f"{base}/documents/{doc}/confidentiality",
                     {"confidentiality": "public", "secret_pages": "1-2"})
    assert r.status_code == 422 and f'id="e-p-{doc}"' in r.text
    r = browser.post(f"{base}/documents/{doc}/confidentiality",
                     {"confidentiality": "trade-secret", "secret_pages": "1-2"})
    assert r.status_code == 303, r.text[:300]
    version = intake.detail(who, app["id"])["documents"][1]["versions"][-1]
    assert version["confidentiality"] == "trade-secret" and version["secret_pages"] == [[1, 2]]

    # Publicity: too short, then right.
    start = CALENDAR.add_workdays(date.today(), -8)
    r = browser.post(f"{base}/publicity", {"starts_on": start.isoformat(),
                                           "ends_on": start.isoformat(),
                                           "document_id": proof["document_id"]})
    assert r.status_code == 422 and 'id="e-ends_on"' in r.text
    r = browser.post(f"{base}/publicity", {"starts_on": "", "ends_on": "x", "document_id": ""})
    assert r.status_code == 422
    for name in ("starts_on", "ends_on", "document_id"):
        assert f'id="e-{name}"' in r.text, name
    r = browser.post(f"{base}/publicity", {
        "starts_on": start.isoformat(), "ends_on": CALENDAR.publicity_end(start).isoformat(),
        "document_id": proof["document_id"]})
    assert r.status_code == 303, r.text[:300]

    # Submit: the state-secret attestation is required.
    r = browser.post(f"{base}/submit", {"route": "county", "attest_authentic": "1"})
    assert r.status_code == 422 and 'id="e-attest_no_state_secrets"' in r.text
    r = browser.post(f"{base}/submit", {"route": "industry", "unit": "",
                                        "attest_authentic": "1",
                                        "attest_no_state_secrets": "1"})
    assert r.status_code == 422 and 'id="e-unit"' in r.text
    r = browser.post(f"{base}/submit", {"route": "industry", "unit": "IND-GX",
                                        "attest_authentic": "1", "attest_no_state_secrets": "1"})
    assert r.status_code == 303, r.text[:500]
    detail = intake.detail(who, app["id"])
    assert detail["status"] == "submitted" and detail["unit"] == "IND-GX"
    page = both_languages(browser, base)
    assert 'data-status="submitted"' in page["en"]
    assert 'id="uploader"' not in page["en"]  # frozen: no more uploads
    assert "忻州市工业和信息化局" in page["zh-CN"]

    # The recommender returns it with reasons: shown, and the packet can be resubmitted.
    rec = intake.recommender("IND-GX")
    r = intake.call("POST", f"/applications/{app['id']}/return", rec,
                    json={"reasons": ["自评报告缺少第七章", "请补充财务报表"]})
    assert r.status_code == 200, r.text
    page = both_languages(browser, base)
    assert "data-returned" in page["zh-CN"]
    assert "自评报告缺少第七章" in page["zh-CN"] and "请补充财务报表" in page["en"]
    assert "重新提交" in page["zh-CN"] and "Resubmit" in page["en"]
    assert page["en"].count('data-step="returned"') == 1
    r = browser.post(f"{base}/submit", {"route": "industry", "unit": "IND-GX",
                                        "attest_authentic": "1", "attest_no_state_secrets": "1"})
    assert r.status_code == 303, r.text[:500]
    assert intake.detail(who, app["id"])["submission"] == 2


def test_deleting_a_draft_file_and_the_checklist_fragment(
        intake: Intake, page_cycle: str, browser_login: Callable[..., Any]) -> None:
    me = subject()
    who = intake.as_("applicant", me)
    app = intake.create(who, page_cycle).json()
    doc = intake.upload(who, app["id"], "多余.pdf", PDF, requirement="evidence").json()
    browser = browser_login("applicant", me)
    fragment = both_languages(browser, f"/intake/packets/{app['id']}/checklist")
    assert 'data-requirement="evidence"' in fragment["en"]
    assert 'data-requirement="application-form" data-state="missing"' in fragment["en"]
    documents = both_languages(browser, f"/intake/packets/{app['id']}/documents")
    assert "多余.pdf" in documents["zh-CN"]
    r = browser.post(f"/intake/packets/{app['id']}/documents/{doc['document_id']}/delete")
    assert r.status_code == 303
    assert intake.detail(who, app["id"])["documents"] == []
    # A form posted without its CSRF token is refused.
    r = browser.http.post(f"{browser.origin}/intake/packets/{app['id']}/publicity",
                          data={"starts_on": "2026-01-05"}, allow_redirects=False)
    assert r.status_code == 403


def test_applicant_pages_have_no_serious_accessibility_violation_at_360_px(
        intake: Intake, page_cycle: str, open_page: Callable[..., Any]) -> None:
    from axe_playwright_python.sync_playwright import Axe

    me = subject()
    who = intake.as_("applicant", me)
    app = intake.create(who, page_cycle).json()
    intake.upload(who, app["id"], "报告.pdf", PDF, requirement="self-evaluation")
    axe = Axe()
    for lang in ("zh-CN", "en"):
        page = open_page("applicant", me, "申报单位", lang=lang, width=360)
        for path in ("/intake/packets", "/intake/packets/new", f"/intake/packets/{app['id']}"):
            page.goto(path)
            clean(page.content())
            name = path.strip("/").replace("/", "-").replace(app["id"], "id")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"applicant-{name}-{lang}-360.png"),
                            full_page=True)
            found = axe.run(page).response["violations"]
            bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                   for v in found if v["impact"] in ("serious", "critical")]
            assert not bad, (lang, path, bad)
        # Only the questions of the kind chosen are shown.
        page.goto("/intake/packets/new")
        assert page.is_visible("#f-credit_code") and not page.is_visible("#f-id_number")
        page.check("#f-kind-individual")
        assert page.is_visible("#f-id_number") and not page.is_visible("#f-credit_code")
        # Keyboard users reach the file input.
        page.goto(f"/intake/packets/{app['id']}")
        page.focus("#u-files")
        assert page.evaluate("document.activeElement.id") == "u-files"


def test_details_the_submission_needs_are_changed_on_the_packet_page(
        intake: Intake, page_cycle: str, browser_login: Callable[..., Any]) -> None:
    me = subject()
    who = intake.as_("applicant", me)
    app = intake.create(who, page_cycle, industry=None).json()
    base = f"/intake/packets/{app['id']}"
    browser = browser_login("applicant", me)
    r = browser.post(f"{base}/details", {"name": "改名后的公司", "credit_code": "bad",
                                         "legal_representative": "王五"})
    assert r.status_code == 422 and 'id="e-credit_code"' in r.text
    assert "<details class=\"card\" open>" in r.text
    r = browser.post(f"{base}/details", {"name": "改名后的公司", "industry": "食品",
                                         "credit_code": app["credit_code"],
                                         "legal_representative": "王五", "county": "140902",
                                         "founded_on": "2012-03-04"})
    assert r.status_code == 303, r.text[:400]
    detail = intake.detail(who, app["id"])
    assert (detail["name"], detail["industry"], detail["legal_representative"]) == (
        "改名后的公司", "食品", "王五")
    clean(browser.get(base).text)
