"""Documents' HTTP API on the running stack: who may read what, the DOCX sheet, lists."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import builders as b
import pytest
import requests
from docx import Document
from events import Intake, documents_rows, new_application
from waiting import poll

from dossier.localstack import AppStack
from shared.auth import issue_token

Auth = Callable[[str, str], dict[str, str]]
UNIT = "140921"


@pytest.fixture(scope="module")
def submitted(stack: AppStack) -> dict[str, Any]:
    """One organisation packet, submitted to UNIT, its report settled."""
    intake = Intake(stack)
    app = new_application("organisation")
    manifest = [intake.upload(app, "self-evaluation", "自评报告.pdf", b.report_pdf()),
                intake.upload(app, "commitment", "承诺书.pdf", b.text_pdf([["承诺"]]))]
    intake.submit(app, manifest, unit=UNIT)
    token = issue_token(stack.secret_key, subject="op-api", role="operator", ttl_seconds=600)
    headers = {"Authorization": f"Bearer {token}"}

    def report() -> dict[str, Any] | None:
        r = requests.get(f"{stack.url('documents')}/api/reports", headers=headers,
                         params={"application_id": app["id"], "submitted": "true"}, timeout=10)
        items = r.json()["items"]
        return items[0] if items and items[0]["pending"] == 0 else None

    return {"app": app, "manifest": manifest, "report": poll(report)}


def scoped(stack: AppStack, role: str, subject: str, **scope: str) -> dict[str, str]:
    token = issue_token(stack.secret_key, subject=subject, role=role, ttl_seconds=600,
                        scope=scope)
    return {"Authorization": f"Bearer {token}"}


def get(http: requests.Session, stack: AppStack, path: str, headers: dict[str, str],
        **params: Any) -> requests.Response:
    return http.get(f"{stack.url('documents')}/api{path}", headers=headers, params=params)


def test_the_summary_list_carries_what_a_page_needs(
        stack: AppStack, http: requests.Session, auth: Auth, submitted: dict[str, Any]) -> None:
    summary = submitted["report"]
    assert summary["status"] == "incomplete" and summary["submission"] == 1
    assert summary["unit"] == UNIT and "items" not in summary
    assert "application-form" in summary["missing"]
    assert set(summary["counts"]) == {"met", "missing", "invalid", "attention"}
    r = get(http, stack, "/reports", auth("operator", "op"), status="incomplete", per_page=1)
    assert r.status_code == 200
    assert r.json()["per_page"] == 1 and r.json()["total"] >= 1


def test_the_owner_reads_their_report_and_another_applicant_gets_404(
        stack: AppStack, http: requests.Session, auth: Auth, submitted: dict[str, Any]) -> None:
    app, report = submitted["app"], submitted["report"]
    owner, other = auth("applicant", app["owner"]), auth("applicant", "someone-else")
    for path in (f"/reports/{report['id']}", f"/reports/{report['id']}/docx",
                 f"/applications/{app['id']}/completeness",
                 f"/applications/{app['id']}/completeness/docx",
                 f"/inspections/{submitted['manifest'][0]['version_id']}"):
        assert get(http, stack, path, owner).status_code == 200, path
        denied = get(http, stack, path, other)
        assert denied.status_code == 404, path
        assert denied.json()["code"] == "http.not_found"
    # Each refusal is audited with what was asked for; the answer said nothing of it.
    denials = {row.target for row in stack.query(
        "documents", "SELECT target FROM audit_log WHERE action = 'access.denied' "
        "AND actor = 'someone-else' AND role = 'applicant'")}
    assert denials >= {f"report:{report['id']}", f"application:{app['id']}",
                       f"inspection:{submitted['manifest'][0]['version_id']}"}
    listed = get(http, stack, "/reports", other).json()
    assert all(item["application_id"] != app["id"] for item in listed["items"])
    inspections = get(http, stack, "/inspections", other, application_id=app["id"]).json()
    assert inspections["total"] == 0


def test_a_recommender_sees_only_packets_submitted_to_their_unit(
        stack: AppStack, http: requests.Session, submitted: dict[str, Any]) -> None:
    app, report = submitted["app"], submitted["report"]
    mine = scoped(stack, "recommender", "rec-1", unit=UNIT)
    theirs = scoped(stack, "recommender", "rec-2", unit="149999")
    bare = scoped(stack, "recommender", "rec-3")
    assert get(http, stack, f"/reports/{report['id']}", mine).status_code == 200
    assert get(http, stack, f"/applications/{app['id']}/completeness", mine).json()[
        "submission"] == 1
    for headers in (theirs, bare):
        assert get(http, stack, f"/reports/{report['id']}", headers).status_code == 404
        assert get(http, stack, "/inspections", headers,
                   application_id=app["id"]).json()["total"] == 0
    assert get(http, stack, "/inspections", mine, application_id=app["id"]).json()["total"] == 2


def test_experts_do_not_use_this_service(
        stack: AppStack, http: requests.Session, auth: Auth, submitted: dict[str, Any]) -> None:
    r = get(http, stack, f"/reports/{submitted['report']['id']}", auth("expert", "ex"))
    assert r.status_code == 403 and r.json()["code"] == "auth.forbidden"


def test_the_docx_sheet_lists_every_requirement_in_chinese_or_english(
        stack: AppStack, http: requests.Session, auth: Auth, submitted: dict[str, Any]) -> None:
    report = submitted["report"]
    r = get(http, stack, f"/reports/{report['id']}/docx", auth("operator", "op-docx"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert r.headers["Content-Disposition"].startswith("attachment;")
    doc = Document(io.BytesIO(r.content))
    assert doc.paragraphs[0].text == "形式审查意见表"
    head, table = doc.tables
    assert "忻州市示例机械有限公司" in [c.text for row in head.rows for c in row.cells]
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0][:4] == ["序号", "材料", "要求", "结论"]
    assert len(rows) == 1 + 13  # every organisation requirement
    by_title = {row[1]: row for row in rows[1:]}
    assert by_title["自评报告"][3] == "符合"
    assert by_title["申报表"][3] == "缺少"
    assert by_title["真实性承诺书（含不涉及国家秘密声明）"][3] == "需人工核对"
    assert "承诺书.pdf" in by_title["真实性承诺书（含不涉及国家秘密声明）"][5]

    english = get(http, stack, f"/reports/{report['id']}/docx", auth("operator", "op-docx"),
                  lang="en")
    doc = Document(io.BytesIO(english.content))
    assert doc.paragraphs[0].text == "Formal review sheet"
    assert any(row.cells[3].text == "Missing" for row in doc.tables[1].rows)


def test_reading_someone_elses_report_is_audited_and_the_owners_own_is_not(
        stack: AppStack, http: requests.Session, auth: Auth, submitted: dict[str, Any]) -> None:
    report, app = submitted["report"], submitted["app"]
    get(http, stack, f"/reports/{report['id']}/docx", auth("supervisor", "sup-audit"))
    get(http, stack, f"/reports/{report['id']}", auth("applicant", app["owner"]))
    rows = documents_rows(stack, "SELECT actor, role, action FROM audit_log "
                          "WHERE target = :t", t=f"report:{report['id']}")
    actors = {(r.actor, r.role, r.action) for r in rows}
    assert ("sup-audit", "supervisor", "report.downloaded") in actors
    assert all(actor != app["owner"] for actor, _, _ in actors)


def test_the_catalogue_is_served_per_cycle_and_kind(
        stack: AppStack, http: requests.Session, auth: Auth) -> None:
    r = get(http, stack, "/catalogue", auth("applicant", "a"), kind="individual")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] == "quality-award-2025" and list(body["kinds"]) == ["individual"]
    assert body["kinds"]["individual"][0]["title"]["zh-CN"] == "申报表（本人签字）"
    missing = get(http, stack, "/catalogue", auth("applicant", "a"), version="no-such")
    assert missing.status_code == 404 and missing.json()["code"] == "catalogue.unknown"
    assert "no-such" in missing.json()["messages"]["en"]


def test_list_filters_are_validated(stack: AppStack, http: requests.Session, auth: Auth) -> None:
    r = get(http, stack, "/reports", auth("operator", "op"), status="finished")
    assert r.status_code == 422 and r.json()["code"] == "validation.failed"


def test_documents_takes_a_recommenders_unit_from_the_account_not_from_the_token(
        stack: AppStack, http: requests.Session, submitted: dict[str, Any]) -> None:
    report = submitted["report"]
    subject = f"rec-moved-{uuid.uuid4().hex[:8]}"

    def move_to(unit: str) -> None:
        r = http.put(f"{stack.url('intake')}/api/accounts/{subject}",
                     headers=scoped(stack, "operator", "op-api"),
                     json={"role": "recommender", "name": "推荐单位", "unit": unit})
        assert r.status_code == 200, r.text

    move_to("140902")  # an account of another unit than the packet's
    minted_for_packet_unit = scoped(stack, "recommender", subject, unit=UNIT)
    names_no_unit = scoped(stack, "recommender", subject)

    stale = get(http, stack, f"/reports/{report['id']}", minted_for_packet_unit)
    assert stale.status_code == 401 and stale.json()["code"] == "auth.account_changed"
    assert get(http, stack, f"/reports/{report['id']}", names_no_unit).status_code == 404

    move_to(UNIT)
    poll(lambda: get(http, stack, f"/reports/{report['id']}",
                     names_no_unit).status_code == 200, 10)
