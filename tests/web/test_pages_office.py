"""The recommender's queue and the operator's formal review and acceptance pages, through the
one origin with real browser sessions; packets are brought to each state through intake's API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import requests
from intake.flows import CALENDAR, Intake, unique
from office_packets import UNIT_A, UNIT_B, ok, recommended, status_of, submitted
from waiting import poll

from dossier.localstack import AppStack

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def intake(stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(stack, http)


@pytest.fixture(scope="module")
def cycle(intake: Intake) -> str:
    return str(intake.open_cycle()["id"])


@pytest.fixture(scope="module")
def recommenders(intake: Intake) -> dict[str, str]:
    """Subjects of one recommender account per unit (intake keeps the unit on the account)."""
    found = {}
    for unit in (UNIT_A, UNIT_B):
        subject = unique(f"rec-{unit}")
        intake.recommender(unit, subject)
        found[unit] = subject
    return found


def _rec(browser_login: Callable[..., Any], recommenders: dict[str, str], unit: str) -> Any:
    return browser_login("recommender", recommenders[unit], "推荐人", scope={"unit": unit})


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="e-{re.escape(name)}">([^<]*)</p>', html)
    assert found, f"no error next to {name}"
    return found.group(1)


def _translated(who: Any, path: str) -> None:
    for lang in ("zh-CN", "en"):
        r = who.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert r.status_code == 200, (path, lang, r.status_code)
        assert "[[untranslated" not in r.text, (path, lang, re.findall(
            r"\[\[untranslated: [^\]]*\]\]", r.text))
        assert f'lang="{lang}"' in r.text


def test_recommender_sees_only_its_units_packets(
        intake: Intake, cycle: str, recommenders: dict[str, str],
        browser_login: Callable[..., Any]) -> None:
    mine = submitted(intake, cycle, UNIT_A)
    theirs = submitted(intake, cycle, UNIT_B)
    who = _rec(browser_login, recommenders, UNIT_A)

    r = who.get("/intake/queue")
    assert r.status_code == 200
    assert mine["id"] in r.text and mine["name"] in r.text
    assert theirs["id"] not in r.text and theirs["name"] not in r.text
    # Waiting packets come first.
    rows = re.findall(r'data-application="([^"]+)"', r.text)
    assert mine["id"] in rows

    assert who.get(f"/intake/queue/{theirs['id']}").status_code == 404
    assert who.post(f"/intake/queue/{theirs['id']}/recommend",
                    {"opinion": "x", "government_reference": "y"}).status_code == 404
    assert status_of(intake, theirs["id"]) == "submitted"
    assert who.get("/intake/queue/no-such-packet").status_code == 404

    r = who.get(f"/intake/queue/{mine['id']}")
    assert r.status_code == 200
    assert "核心工艺说明.pdf" in r.text and "data-trade-secret" in r.text
    assert f'href="/documents/packets/{mine["id"]}"' in r.text
    assert 'action="/intake/queue/' in r.text  # the recommend and return forms
    # The other desk's pages are not the recommender's.
    assert who.get("/intake/office/applications").status_code == 403
    _translated(who, "/intake/queue")
    _translated(who, f"/intake/queue/{mine['id']}")


def test_recommender_approves_with_an_opinion_through_the_form(
        intake: Intake, cycle: str, recommenders: dict[str, str],
        browser_login: Callable[..., Any]) -> None:
    packet = submitted(intake, cycle, UNIT_A)
    who = _rec(browser_login, recommenders, UNIT_A)
    path = f"/intake/queue/{packet['id']}/recommend"

    r = who.post(path + "?lang=zh-CN", {"opinion": "", "government_reference": ""})
    assert r.status_code == 422
    assert _field_error(r.text, "opinion") == "此项为必填项。"
    assert "[[untranslated" not in r.text
    r = who.post(path + "?lang=en", {"opinion": "", "government_reference": ""})
    assert _field_error(r.text, "opinion") == "Missing data for required field."
    # The county route needs the county government's document (Art. 14): named at its field.
    r = who.post(path + "?lang=zh-CN", {"opinion": "材料齐全，同意推荐。",
                                        "government_reference": ""})
    assert r.status_code == 422
    assert "人民政府" in _field_error(r.text, "government_reference")
    assert "材料齐全，同意推荐。" in r.text  # what was typed is kept
    assert status_of(intake, packet["id"]) == "submitted"

    r = who.post(path, {"opinion": "材料齐全，情况属实，同意推荐。",
                        "government_reference": "河政函〔2026〕3号"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/intake/queue")
    detail = intake.detail(intake.operator, packet["id"])
    assert detail["status"] == "recommended"
    assert detail["opinion"] == "材料齐全，情况属实，同意推荐。"
    r = who.get(f"/intake/queue/{packet['id']}")
    assert "材料齐全，情况属实，同意推荐。" in r.text and 'data-action="recommended"' in r.text
    assert f"/intake/queue/{packet['id']}/recommend" not in r.text  # decided: no more forms
    # A second attempt is refused by the packet's status, shown on the page.
    r = who.post(path, {"opinion": "再次推荐", "government_reference": "x"})
    assert r.status_code == 409


def test_recommender_returns_with_reasons_that_show_in_history(
        intake: Intake, cycle: str, recommenders: dict[str, str],
        browser_login: Callable[..., Any]) -> None:
    packet = submitted(intake, cycle, UNIT_A)
    who = _rec(browser_login, recommenders, UNIT_A)
    path = f"/intake/queue/{packet['id']}/return"

    for lang, text in (("zh-CN", "此项为必填项。"), ("en", "Missing data for required field.")):
        r = who.post(f"{path}?lang={lang}", {"return_reasons": "  \n "})
        assert r.status_code == 422
        assert _field_error(r.text, "return_reasons") == text
        assert 'class="notice error"' in r.text and "[[untranslated" not in r.text
    assert status_of(intake, packet["id"]) == "submitted"

    r = who.post(path, {"return_reasons": "缺少营业执照副本\n内部公示证明不清晰"})
    assert r.status_code == 303
    detail = intake.detail(intake.operator, packet["id"])
    assert detail["status"] == "returned"
    assert detail["history"][-1]["note"] == "缺少营业执照副本\n内部公示证明不清晰"
    r = who.get(f"/intake/queue/{packet['id']}")
    assert "<li>缺少营业执照副本</li>" in r.text and "<li>内部公示证明不清晰</li>" in r.text
    _translated(who, f"/intake/queue/{packet['id']}")


def _requirement_cells(page: str) -> dict[str, str]:
    """The documents table's requirement cells and the missing list's items, by requirement id
    (the text each shows, tags stripped)."""
    found = re.findall(r'<(?:td|li)[^>]*data-requirement="([^"]+)"[^>]*>(.*?)</(?:td|li)>',
                       page, re.S)
    return {rid: re.sub(r"<[^>]+>", "", body).strip() for rid, body in found}


def test_office_packet_pages_name_requirements_by_title_in_the_page_language(
        intake: Intake, cycle: str, recommenders: dict[str, str],
        browser_login: Callable[..., Any]) -> None:
    """The recommender's and operator's packet pages show the cycle's requirement titles (the
    list documents announced, as on the applicant's page), the id only as a secondary code."""
    listed = intake.requirements(cycle)
    titles = {r["id"]: r["title"] for r in listed["kinds"]["organisation"]}
    packet = submitted(intake, cycle, UNIT_A)
    poll(lambda: intake.detail(intake.operator, packet["id"]).get("completeness"), 90)
    missing = intake.detail(intake.operator, packet["id"])["completeness_report"]["missing"]
    assert "self-evaluation" in missing
    rec = _rec(browser_login, recommenders, UNIT_A)
    op = browser_login("operator", unique("op-titles"), "受理员")
    for who, path in ((rec, f"/intake/queue/{packet['id']}"),
                      (op, f"/intake/office/applications/{packet['id']}")):
        for lang in ("zh-CN", "en"):
            r = who.get(f"{path}?lang={lang}")
            assert r.status_code == 200 and "[[untranslated" not in r.text
            cells = _requirement_cells(r.text)
            # Documents: the title alone.
            assert cells["evidence"] == titles["evidence"][lang], (path, lang, cells)
            assert cells["publicity-proof"] == titles["publicity-proof"][lang]
            # Missing requirements: the title, then the id as a code.
            assert cells["self-evaluation"] == (
                f"{titles['self-evaluation'][lang]} self-evaluation"), cells
            assert "<code>self-evaluation</code>" not in r.text
            assert "<code>evidence</code>" not in r.text


def test_operator_accepts_and_rejects_in_formal_review(
        intake: Intake, cycle: str, recommenders: dict[str, str],
        browser_login: Callable[..., Any]) -> None:
    rec = intake.as_("recommender", recommenders[UNIT_A])
    to_accept = recommended(intake, cycle, UNIT_A, rec)
    to_reject = recommended(intake, cycle, UNIT_A, rec)
    waiting = submitted(intake, cycle, UNIT_B)
    op = browser_login("operator", unique("op-office"), "受理员")

    r = op.get(f"/intake/office/applications?cycle={cycle}&status=recommended")
    assert r.status_code == 200
    assert to_accept["id"] in r.text and to_reject["id"] in r.text
    assert waiting["id"] not in r.text  # filtered by status
    r = op.get(f"/intake/office/applications?cycle={cycle}&unit={UNIT_B}")
    assert waiting["id"] in r.text and to_accept["id"] not in r.text
    _translated(op, f"/intake/office/applications?cycle={cycle}")

    r = op.get(f"/intake/office/applications/{to_accept['id']}")
    assert r.status_code == 200 and "同意推荐。" in r.text
    assert f"/intake/office/applications/{to_accept['id']}/accept" in r.text
    _translated(op, f"/intake/office/applications/{to_accept['id']}")
    r = op.post(f"/intake/office/applications/{to_accept['id']}/accept")
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/intake/office/applications/{to_accept['id']}")
    assert status_of(intake, to_accept["id"]) == "accepted"
    r = op.get(f"/intake/office/applications/{to_accept['id']}")
    assert 'data-status="accepted"' in r.text and 'data-action="accepted"' in r.text

    path = f"/intake/office/applications/{to_reject['id']}/reject"
    r = op.post(path + "?lang=en", {"reject_reasons": ""})
    assert r.status_code == 422
    assert _field_error(r.text, "reject_reasons") == "Missing data for required field."
    r = op.post(path + "?lang=zh-CN", {"reject_reasons": ""})
    assert _field_error(r.text, "reject_reasons") == "此项为必填项。"
    r = op.post(path, {"reject_reasons": "申报主体近三年发生较大质量事故"})
    assert r.status_code == 303
    assert status_of(intake, to_reject["id"]) == "rejected"
    r = op.get(f"/intake/office/applications/{to_reject['id']}")
    assert "<li>申报主体近三年发生较大质量事故</li>" in r.text

    # A packet still at the recommender cannot be accepted by the operator.
    r = op.post(f"/intake/office/applications/{waiting['id']}/accept")
    assert r.status_code == 409 and status_of(intake, waiting["id"]) == "submitted"


def test_supervisor_reads_formal_review_without_forms_and_cannot_post(
        intake: Intake, cycle: str, recommenders: dict[str, str],
        browser_login: Callable[..., Any]) -> None:
    packet = recommended(intake, cycle, UNIT_A, intake.as_("recommender",
                                                           recommenders[UNIT_A]))
    sup = browser_login("supervisor", unique("sup-office"), "监督员")
    r = sup.get(f"/intake/office/applications?cycle={cycle}")
    assert r.status_code == 200 and packet["id"] in r.text
    r = sup.get(f"/intake/office/applications/{packet['id']}")
    assert r.status_code == 200 and packet["name"] in r.text
    assert '<form method="post" action="/intake/office' not in r.text
    assert sup.get(f"/intake/office/acceptance?cycle={cycle}").status_code == 200
    for action, data in (("accept", {}), ("reject", {"reject_reasons": "x"}),
                         ("return", {"return_reasons": "x"})):
        r = sup.post(f"/intake/office/applications/{packet['id']}/{action}", data)
        assert r.status_code == 403, action
    r = sup.post("/intake/office/acceptance", {"cycle": cycle,
                                               "starts_on": date.today().isoformat()})
    assert r.status_code == 403
    assert status_of(intake, packet["id"]) == "recommended"
    # Supervisors read; they never see the recommender's desk.
    assert sup.get(f"/intake/queue/{packet['id']}").status_code == 403
    # Neither does a form posted without its CSRF token get through for anyone.
    op = browser_login("operator", unique("op-csrf"))
    r = op.http.post(f"{op.origin}/intake/office/applications/{packet['id']}/accept",
                     data={}, allow_redirects=False)
    assert r.status_code == 403 and status_of(intake, packet["id"]) == "recommended"


def test_acceptance_list_is_published_with_its_window(
        intake: Intake, recommenders: dict[str, str],
        browser_login: Callable[..., Any]) -> None:
    cycle = str(intake.open_cycle()["id"])
    rec = intake.as_("recommender", recommenders[UNIT_A])
    packet = recommended(intake, cycle, UNIT_A, rec)
    ok(intake.call("POST", f"/applications/{packet['id']}/accept", intake.operator, json={}))
    op = browser_login("operator", unique("op-acceptance"), "受理员")

    r = op.get(f"/intake/office/acceptance?cycle={cycle}")
    assert r.status_code == 200 and packet["name"] in r.text
    assert 'action="/intake/office/acceptance"' in r.text
    _translated(op, f"/intake/office/acceptance?cycle={cycle}")

    start = CALENDAR.add_workdays(date.today(), 1)
    r = op.post("/intake/office/acceptance?lang=zh-CN", {
        "cycle": cycle, "starts_on": start.isoformat(), "ends_on": start.isoformat()})
    assert r.status_code == 422
    assert "至少 5 个工作日" in _field_error(r.text, "ends_on")
    r = op.post("/intake/office/acceptance?lang=en", {"cycle": cycle, "starts_on": "soon"})
    assert r.status_code == 422
    assert _field_error(r.text, "starts_on") == "Not a valid date."

    r = op.post("/intake/office/acceptance", {"cycle": cycle, "starts_on": start.isoformat(),
                                              "ends_on": ""})
    assert r.status_code == 303, r.text
    end = CALENDAR.publicity_end(start)
    lists = ok(intake.call("GET", f"/cycles/{cycle}/acceptance-lists", intake.operator))
    assert [(x["starts_on"], x["ends_on"]) for x in lists["items"]] == [
        (start.isoformat(), end.isoformat())]
    r = op.get(f"/intake/office/acceptance?cycle={cycle}&lang=en")
    assert f'data-window="{start.isoformat()}/{end.isoformat()}"' in r.text
    assert "5 working days" in r.text and "Not started" in r.text
    r = op.get(f"/intake/office/acceptance?cycle={cycle}&lang=zh-CN")
    assert "5 个工作日" in r.text and "[[untranslated" not in r.text
    assert op.get("/intake/office/acceptance?cycle=no-such-cycle").status_code == 404


def test_recommender_approves_in_chromium(
        intake: Intake, cycle: str, recommenders: dict[str, str],
        open_page: Callable[..., Any]) -> None:
    packet = submitted(intake, cycle, UNIT_A)
    page = open_page("recommender", recommenders[UNIT_A], "推荐人", scope={"unit": UNIT_A})
    page.goto("/intake/queue")
    assert page.get_by_role("heading", level=1).inner_text() == "推荐审核"
    page.get_by_role("link", name=packet["name"]).click()
    _no_serious_axe_violations(page)
    page.get_by_label("推荐意见").fill("经核查，材料真实完整，同意推荐。")
    page.get_by_label("县级人民政府推荐文件文号").fill("河政函〔2026〕9号")
    page.get_by_role("button", name="推荐", exact=True).click()
    page.wait_for_url("**/intake/queue")
    assert "已推荐" in page.locator(".notice.success").inner_text()
    poll(lambda: status_of(intake, packet["id"]) == "recommended", 10)


def _no_serious_axe_violations(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, serious
