"""Over the running stack: the cycle's stage dates travel in `cycle.saved` through the broker,
and a past cycle replayed today still finds the expert who left the applicant within 3 years
of its review day (the wall clock would have missed him), so the solver leaves him out; when
the review day moves past his window, the conflict is withdrawn by the system."""

from __future__ import annotations

from typing import Any

from reviewstack import ReviewDriver
from waiting import poll

CODE = "91140900REPLAY001"


def _stage_cycle(review: ReviewDriver, starts_on: str) -> None:
    review.deliver("cycle.saved", {
        "cycle": review.cycle, "year": 2024, "title": "第2024届", "opens_on": "2024-03-01",
        "closes_on": "2024-05-31", "status": "closed", "caps": {"awards": 3, "nominations": 10},
        "catalogue": None, "audience": [],
        "stages": [{"stage": "material", "starts_on": starts_on, "ends_on": None}]})


def _live(review: ReviewDriver, expert_id: str) -> list[dict[str, Any]]:
    r = review.http.get(f"{review.url}/conflicts", headers=review.operator,
                        params={"expert_id": expert_id})
    assert r.status_code == 200, r.text
    return [c for c in r.json()["items"] if not c.get("withdrawn_at")]


def test_a_replayed_cycle_finds_the_conflict_at_its_review_day(review: ReviewDriver) -> None:
    _stage_cycle(review, "2024-07-10")
    app_id = review.accept("忻州重演机械有限公司", credit_code=CODE, app_id=f"re-{review.cycle}")
    review.wait_applications(1)
    left = review.expert(f"left-{review.cycle}", "山西大学", past_affiliations=[
        {"organisation": "忻州重演机械有限公司", "credit_code": CODE, "ended_on": "2021-07-10"}])
    other = review.expert(f"other-{review.cycle}", "太原理工大学")

    [found] = _live(review, left["id"])
    assert found["ground"] == "former-employment" and found["application_id"] == app_id
    assert "按材料评审日 2024-07-10 计算" in found["reason"]
    panel = review.panel("material", 1, 1, [left["id"], other["id"]])
    r = review.http.post(f"{review.url}/panels/{panel['id']}/assign", headers=review.operator)
    assert r.status_code in (200, 201), r.text
    assert [p["expert_id"] for p in r.json()["items"]] == [other["id"]]

    # The office moves the review a day later: he left 3 years and a day before it.
    _stage_cycle(review, "2024-07-11")
    poll(lambda: not _live(review, left["id"]))
