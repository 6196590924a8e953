"""The applicant's packet page names, flags and offers requirements from the list the documents
service announced for the cycle (`requirements.published`), in the page's language; a cycle
judged against another catalogue shows that catalogue; without a list the page still works."""

from __future__ import annotations

import html
import re
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from intake.flows import Intake
from sqlalchemy import create_engine, text

from dossier.localstack import AppStack

pytestmark = pytest.mark.stack
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def intake(stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(stack, http)


def subject() -> str:
    return f"appl-{uuid.uuid4().hex[:8]}"


def pages(browser: Any, path: str) -> dict[str, str]:
    found = {}
    for lang in ("zh-CN", "en"):
        r = browser.get(f"{path}?lang={lang}")
        assert r.status_code == 200, (lang, r.status_code, r.text[:500])
        assert "[[untranslated" not in r.text, re.findall(r"\[\[untranslated: [^\]]*\]\]", r.text)
        found[lang] = r.text
    return found


def options(page: str) -> list[tuple[str, str]]:
    select = re.search(r'<select id="u-requirement"[^>]*>(.*?)</select>', page, re.S)
    assert select, "no requirement choice in the upload form"
    return [(html.unescape(v), html.unescape(label)) for v, label in
            re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))]


def row(page: str, requirement: str) -> str:
    found = re.search(rf'<tr data-requirement="{re.escape(requirement)}".*?</tr>', page, re.S)
    assert found, requirement
    return found.group(0)


def test_the_packet_page_names_requirements_from_the_announced_list_in_both_languages(
        intake: Intake, browser_login: Callable[..., Any]) -> None:
    cycle = intake.open_cycle()["id"]
    listed = intake.requirements(cycle)
    me = subject()
    app = intake.create(intake.as_("applicant", me), cycle).json()
    browser = browser_login("applicant", me)
    page = pages(browser, f"/intake/packets/{app['id']}")
    applicant_items = [r for r in listed["kinds"]["organisation"]
                       if r["provided_by"] == "applicant"]
    for lang in ("zh-CN", "en"):
        assert options(page[lang]) == [(r["id"], r["title"][lang]) for r in applicant_items]
        assert "data-requirements-pending" not in page[lang]
    assert "组织概述" in row(page["zh-CN"], "overview")
    assert "Organisation overview" in row(page["en"], "overview")
    # The required flag is the catalogue's: the score table is optional, the report is not.
    assert "(required)" in row(page["en"], "self-evaluation")
    assert "(required)" not in row(page["en"], "self-evaluation-table")
    # The recommender's item is not the applicant's to upload.
    assert "recommendation" not in dict(options(page["en"]))

    # An individual's packet is offered the individual items.
    person = subject()
    mine = intake.create(intake.as_("applicant", person), cycle, kind="individual").json()
    page = pages(browser_login("applicant", person), f"/intake/packets/{mine['id']}")
    assert ("personal-statement", "个人质量工作事迹材料") in options(page["zh-CN"])
    assert ("employer-opinion", "Employer's opinion (sealed)") in options(page["en"])

    # The documents table names a file's requirement by its title too.
    intake.upload(intake.as_("applicant", me), app["id"], "概述.pdf", PDF, requirement="overview")
    docs = pages(browser, f"/intake/packets/{app['id']}/documents")
    assert "组织概述" in docs["zh-CN"] and "Organisation overview" in docs["en"]


CATALOGUE = textwrap.dedent("""\
    version: ip-award-2026
    title: {zh-CN: 知识产权示范奖申报材料, en: IP model award materials}
    kinds:
      organisation:
        - id: patent-list
          title: {zh-CN: 有效专利清单, en: List of valid patents}
          required: true
          formats: [pdf]
        - id: licence-income
          title: {zh-CN: 专利许可收入证明, en: Proof of licence income}
          required: false
          formats: [pdf, image]
          multiple: true
        - id: bureau-opinion
          title: {zh-CN: 知识产权局意见, en: IP bureau opinion}
          required: true
          formats: [pdf]
          provided_by: recommender
      individual:
        - id: inventor-statement
          title: {zh-CN: 发明人陈述, en: Inventor's statement}
          required: true
    """)


def test_a_cycle_with_another_catalogue_shows_that_catalogues_requirements(
        stack: AppStack, intake: Intake, browser_login: Callable[..., Any],
        tmp_path: Path) -> None:
    folder = tmp_path / "catalogues"
    folder.mkdir()
    (folder / "ip-award-2026.yaml").write_text(CATALOGUE, encoding="utf-8")
    # The documents worker with the operator's catalogue folder (its setting), then back.
    stack.procs["documents-worker"].stop()
    stack.start_worker("documents", env={"DOSSIER_DOCUMENTS_CATALOGUE_DIR": str(folder)})
    try:
        stack.wait_worker("documents")
        cycle = intake.open_cycle(catalogue="ip-award-2026")["id"]
        listed = intake.requirements(cycle)
    finally:
        stack.procs["documents-worker"].stop()
        stack.start_worker("documents")
        stack.wait_worker("documents")
    assert listed["catalogue"] == "ip-award-2026"
    me = subject()
    app = intake.create(intake.as_("applicant", me), cycle).json()
    page = pages(browser_login("applicant", me), f"/intake/packets/{app['id']}")
    assert options(page["zh-CN"]) == [("patent-list", "有效专利清单"),
                                      ("licence-income", "专利许可收入证明")]
    assert options(page["en"]) == [("patent-list", "List of valid patents"),
                                   ("licence-income", "Proof of licence income")]
    rows = re.findall(r'<tr data-requirement="([^"]+)"', page["en"])
    assert rows == ["patent-list", "licence-income"]  # nothing of the quality award's list
    assert "application-form" not in page["en"] and "Self-evaluation report" not in page["en"]


def test_without_a_list_yet_the_page_shows_ids_and_a_note_and_still_takes_uploads(
        stack: AppStack, intake: Intake, browser_login: Callable[..., Any]) -> None:
    cycle = intake.open_cycle()["id"]
    intake.requirements(cycle)
    # As if documents had not answered yet: intake holds no list for this cycle.
    engine = create_engine(stack.env()["DOSSIER_INTAKE_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM requirement_lists WHERE cycle = :c"), {"c": cycle})
    finally:
        engine.dispose()
    me = subject()
    who = intake.as_("applicant", me)
    app = intake.create(who, cycle).json()
    intake.upload(who, app["id"], "专利.pdf", PDF, requirement="patent-list")
    browser = browser_login("applicant", me)
    page = pages(browser, f"/intake/packets/{app['id']}")
    assert "材料项暂以代码显示" in page["zh-CN"]
    assert "shown by their codes" in page["en"]
    assert 'data-requirements-pending' in page["en"]
    # The upload form asks for the requirement's code instead of offering a list.
    assert re.search(r'<input type="text" id="u-requirement" name="requirement"', page["en"])
    assert "patent-list" in row(page["en"], "patent-list")
    fragment = pages(browser, f"/intake/packets/{app['id']}/checklist")
    assert 'data-requirement="patent-list"' in fragment["zh-CN"]
