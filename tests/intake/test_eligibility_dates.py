"""Operating years are counted to the cycle's application deadline, whatever day the check runs
on: the same cycle, checked with the one clock frozen before the deadline, on a review day, a
year later and at 00:30 Beijing time (16:30 UTC the day before), gives the same verdicts, and
the refusal names the date it was counted to. In-process: the intake app on its own database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcess, service_app

from dossier.localstack import BackingServers
from shared import clock

CYCLE = "c27"
DEADLINE = date(2027, 5, 31)
CYCLE_BODY = {"year": 2027, "title": "第三届忻州市市长质量奖", "opens_on": "2027-03-01",
              "closes_on": DEADLINE.isoformat(), "status": "open",
              "caps": {"awards": 3, "nominations": 10}, "programme": "xz-mayor",
              "stages": [{"stage": "material", "starts_on": "2027-07-10",
                          "ends_on": "2027-07-20"}]}
# Moments the same cycle is checked at; the last is 00:30 on 31 May in Beijing, still 30 May in
# UTC (a server clock in UTC would take the day before).
MOMENTS = [date(2027, 4, 1), date(2027, 7, 10), date(2028, 6, 1),
           datetime(2027, 5, 30, 16, 30, tzinfo=UTC)]


@pytest.fixture
def intake(backing: BackingServers, tmp_path: Path) -> InProcess:
    app = service_app(backing, tmp_path, "intake")
    r = app.client.put(f"/api/cycles/{CYCLE}", json=CYCLE_BODY,
                       headers=app.auth("operator", "op-1"))
    assert r.status_code == 200, r.get_data(as_text=True)
    return app


def _apply(intake: InProcess, founded_on: str) -> Any:
    from intake.flows import new_uscc, unique
    return intake.client.post("/api/applications", headers=intake.auth(
        "applicant", unique("a")), json={
        "cycle": CYCLE, "kind": "organisation", "name": f"忻州{unique('x')}有限公司",
        "credit_code": new_uscc(), "county": "140902", "industry": "装备制造",
        "founded_on": founded_on, "legal_representative": "张三",
        "attest_no_violation": True, "attest_no_accident": True})


def _verdicts(intake: InProcess) -> list[tuple[int, str]]:
    out = []
    for founded in ("2024-05-31", "2024-06-01"):  # exactly 3 years at the deadline; a day short
        r = _apply(intake, founded)
        body = r.get_json()
        out.append((r.status_code, body.get("messages", {}).get("zh-CN", "")))
    return out


def test_operating_years_count_to_the_deadline_at_any_wall_clock_moment(
        intake: InProcess) -> None:
    seen = set()
    for moment in MOMENTS:
        with clock.frozen(moment):
            seen.add(tuple(_verdicts(intake)))
    assert len(seen) == 1, seen
    (exact, _), (short, why) = seen.pop()
    assert exact == 201
    assert short == 422
    assert "按申报截止日 2027-05-31 计算未满 3 年" in why


def test_moving_the_deadline_moves_the_verdict(intake: InProcess) -> None:
    with clock.frozen(date(2027, 4, 1)):
        assert _apply(intake, "2024-06-15").status_code == 422
        r = intake.client.put(f"/api/cycles/{CYCLE}", json={
            **CYCLE_BODY, "closes_on": "2027-06-30"}, headers=intake.auth("operator", "op-1"))
        assert r.status_code == 200, r.get_data(as_text=True)
        assert _apply(intake, "2024-06-15").status_code == 201


def test_the_application_shows_its_verdict_with_the_date_and_follows_a_moved_deadline(
        intake: InProcess) -> None:
    with clock.frozen(date(2027, 4, 1)):
        r = _apply(intake, "2024-05-31")
        assert r.status_code == 201, r.get_data(as_text=True)
        app_id = r.get_json()["id"]
        read = intake.client.get(f"/api/applications/{app_id}",
                                 headers=intake.auth("operator", "op-1")).get_json()
        assert read["eligibility"]["eligible"] is True
        assert read["eligibility"]["counted_to"] == "2027-05-31"
        assert read["eligibility"]["basis"]["zh-CN"] == "按申报截止日 2027-05-31 计算"
        r = intake.client.put(f"/api/cycles/{CYCLE}", json={
            **CYCLE_BODY, "closes_on": "2027-05-30"}, headers=intake.auth("operator", "op-1"))
        assert r.status_code == 200, r.get_data(as_text=True)
        read = intake.client.get(f"/api/applications/{app_id}",
                                 headers=intake.auth("operator", "op-1")).get_json()
    verdict = read["eligibility"]
    assert verdict["eligible"] is False and verdict["counted_to"] == "2027-05-30"
    assert [f["code"] for f in verdict["failures"]] == ["eligibility.operating_years"]
    assert "按申报截止日 2027-05-30 计算" in verdict["failures"][0]["zh-CN"]
