"""The acceptance list keeps the order of the Measures (issue 15, point 7): a publicity that
would start before today is refused until a reason is given, and the reason is kept with the
list, in its event and in the audit log; a start from today needs none. Page and API alike."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcess, service_app
from sqlalchemy import text

from dossier.localstack import BackingServers
from intake.flows import new_id_number
from intake.test_setup_pages import Office
from services.intake.models import Application
from shared import clock


@pytest.fixture
def intake(backing: BackingServers, tmp_path: Path) -> InProcess:
    intake = service_app(backing, tmp_path, "intake")
    operator = intake.auth("operator", "operator-city")
    today = clock.today()
    r = intake.client.put("/api/cycles/2041", headers=operator, json={
        "year": 2041, "title": "第十五届忻州市市长质量奖", "programme": "mayor-quality",
        "status": "open", "opens_on": (today - timedelta(days=10)).isoformat(),
        "closes_on": (today + timedelta(days=60)).isoformat()})
    assert r.status_code == 200, r.get_data(as_text=True)
    r = intake.client.post("/api/applications", headers=intake.auth("applicant", "ap-guard"),
                           json={"cycle": "2041", "kind": "individual", "name": "赵四",
                                 "id_number": new_id_number(), "county": "140902",
                                 "employer": "忻州市示例机械有限公司", "quality_years": 8,
                                 "attest_no_violation": True})
    assert r.status_code == 201, r.get_data(as_text=True)
    with intake.ctx.db.session() as session:
        app = session.get(Application, r.get_json()["id"])
        assert app is not None
        app.status = "accepted"  # formal review is not what this test is about
    return intake


def _published(intake: InProcess) -> list[dict[str, Any]]:
    with intake.ctx.db.reader() as session:
        rows = session.execute(text(
            "SELECT payload FROM outbox WHERE type = 'acceptance.published' ORDER BY seq"))
        return [(r if isinstance(r, dict) else json.loads(r))["payload"]
                for r in rows.scalars()]


def _audited(intake: InProcess) -> list[dict[str, Any]]:
    with intake.ctx.db.reader() as session:
        rows = session.execute(text(
            "SELECT detail FROM audit_log WHERE action = 'acceptance.published'")).scalars()
        return [r if isinstance(r, dict) else json.loads(r) for r in rows]


def test_the_api_refuses_a_past_start_without_a_reason_and_keeps_the_reason_given(
        intake: InProcess) -> None:
    operator = intake.auth("operator", "operator-city")
    past = (clock.today() - timedelta(days=30)).isoformat()
    r = intake.client.post("/api/cycles/2041/acceptance-lists", headers=operator,
                           json={"starts_on": past})
    assert r.status_code == 409
    body = r.get_json()
    assert body["code"] == "list.start_in_past" and "reason" in body["errors"]
    assert "早于今天" in body["title"] and "已结束" in body["title"]
    r = intake.client.post("/api/cycles/2041/acceptance-lists", headers=operator,
                           json={"starts_on": past, "reason": "是"})  # not a reason
    assert r.status_code == 409 and _published(intake) == []

    r = intake.client.post("/api/cycles/2041/acceptance-lists", headers=operator,
                           json={"starts_on": past, "reason": "已在忻州日报公示"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["deviation_reason"] == "已在忻州日报公示"
    [event] = _published(intake)
    assert event["reason"] == "已在忻州日报公示"
    assert _audited(intake)[0]["reason"] == "已在忻州日报公示"


def test_a_start_from_today_needs_no_reason_and_records_none(intake: InProcess) -> None:
    operator = intake.auth("operator", "operator-city")
    r = intake.client.post("/api/cycles/2041/acceptance-lists", headers=operator,
                           json={"starts_on": clock.today().isoformat(),
                                 "reason": "无关的说明"})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["deviation_reason"] is None
    assert _published(intake)[0]["reason"] is None and "reason" not in _audited(intake)[0]


def test_the_page_warns_keeps_the_date_and_publishes_once_the_reason_is_given(
        intake: InProcess) -> None:
    office = Office(intake)
    past = (clock.today() - timedelta(days=30)).isoformat()
    r = office.post("/office/acceptance", {"cycle": "2041", "starts_on": past, "ends_on": ""})
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and "data-order-warning" in page
    assert f'value="{past}"' in page and "确认并发布" in page
    assert re.search(r'id="e-reason">[^<]*须填写理由', page)
    assert _published(intake) == []

    r = office.post("/office/acceptance", {"cycle": "2041", "starts_on": past, "ends_on": "",
                                           "reason": "已在报刊公示"})
    assert r.status_code == 303, r.get_data(as_text=True)
    page = office.get("/office/acceptance?cycle=2041").get_data(as_text=True)
    assert "提前开始公示的理由" in page and "已在报刊公示" in page
    assert date.fromisoformat(_published(intake)[0]["starts_on"]) < clock.today()
