"""Documents' completeness report page: every requirement's verdict with its evidence, the
inspection facts of each file, the 形式审查意见表 download, and the API's scoping."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from intake.flows import Intake, unique
from office_packets import UNIT_A, UNIT_B, submitted, wait_for_report

from dossier.localstack import AppStack

pytestmark = pytest.mark.stack

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
def packet(stack: AppStack) -> Iterator[dict[str, Any]]:
    """A submitted packet whose trade-secret evidence carries a classification mark on page 2,
    with documents' report on the submission ready."""
    with requests.Session() as http:
        intake = Intake(stack, http)
        cycle = str(intake.open_cycle()["id"])
        found = submitted(intake, cycle, UNIT_A,
                          secret_text=["核心工艺说明", "本页内容 机密★5年 不得外传"])
        found["report"] = wait_for_report(stack, found["id"])
        yield found


def test_report_page_shows_verdicts_evidence_and_inspection(
        packet: dict[str, Any], browser_login: Callable[..., Any]) -> None:
    me = browser_login("applicant", packet["owner"], "申报人")
    path = f"/documents/packets/{packet['id']}"
    r = me.get(path + "?lang=zh-CN")
    assert r.status_code == 200, r.text
    assert packet["name"] in r.text and "[[untranslated" not in r.text
    assert "形式审查报告" in r.text and "第 1 次提交" in r.text
    # Every requirement of the catalogue is a row with its verdict.
    verdicts = dict(re.findall(r'data-requirement="([^"]+)" data-verdict="([^"]+)"', r.text))
    assert verdicts["publicity-proof"] in ("met", "attention")  # a sealed scan is expected
    assert verdicts["self-evaluation"] == "missing"
    assert verdicts["evidence"] == "invalid"  # classified material must not be submitted
    # The mark is evidence with its page, and an inspection fact of the file.
    assert "机密★" in r.text and "核心工艺说明.pdf · 第 2 页" in r.text
    assert 'data-pages="2"' in r.text and "A4" in r.text
    assert 'data-report-status="incomplete"' in r.text
    r = me.get(path + "?lang=en")
    assert r.status_code == 200 and "[[untranslated" not in r.text
    assert "Completeness report" in r.text and "Paper size" in r.text
    assert "classification mark" in r.text  # the reason, in English

    link = re.search(r'href="([^"]+)" download data-docx', r.text)
    assert link, "no download link"
    href = link.group(1).replace("&amp;", "&")
    assert href.startswith(f"/documents/api/applications/{packet['id']}/completeness/docx")
    got = me.get(href)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith(DOCX)
    assert got.content[:2] == b"PK"


def test_report_page_is_scoped_like_the_documents_api(
        packet: dict[str, Any], browser_login: Callable[..., Any]) -> None:
    path = f"/documents/packets/{packet['id']}"
    readers = [browser_login("recommender", unique("rec-report"), scope={"unit": UNIT_A}),
               browser_login("operator", unique("op-report")),
               browser_login("supervisor", unique("sup-report"))]
    for who in readers:
        r = who.get(path)
        assert r.status_code == 200, who.subject
        assert 'data-requirement="evidence"' in r.text
    outsiders = [browser_login("applicant", unique("other-applicant")),
                 browser_login("recommender", unique("rec-other"), scope={"unit": UNIT_B}),
                 browser_login("recommender", unique("rec-none"))]
    for who in outsiders:
        r = who.get(path)
        assert r.status_code == 404, who.subject
        assert packet["name"] not in r.text
    assert browser_login("expert", unique("exp-report")).get(path).status_code == 403
    other = browser_login("applicant", unique("other-applicant"))
    assert other.get(f"/documents/api/applications/{packet['id']}/completeness/docx"
                     ).status_code == 404
    assert browser_login("operator", unique("op-none")).get(
        "/documents/packets/no-such-packet").status_code == 404


def test_report_page_reading_is_audited_for_others_than_the_owner(
        stack: AppStack, packet: dict[str, Any], browser_login: Callable[..., Any]) -> None:
    subject = unique("sup-audit-report")
    assert browser_login("supervisor", subject).get(
        f"/documents/packets/{packet['id']}").status_code == 200
    rows = stack.query("documents", "SELECT actor, action, target FROM audit_log "
                       "WHERE actor = :actor", actor=subject)
    assert [(r.action, r.target) for r in rows] == [
        ("report.read", f"report:{packet['report']['id']}")]
