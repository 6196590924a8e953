"""Conflict windows count back from the cycle's review day, as intake announced it in
`cycle.saved`, never from the wall clock: the same cycle, detected with the one clock frozen
before the deadline, on the review day, a year later and at 00:30 Beijing time, finds the same
conflicts, each naming the date it was counted to; 3 years to the day is in, a day more is out;
when the review day moves the conflicts are counted again. In-process: the review app."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcess, service_app
from sqlalchemy import delete, select

from dossier.localstack import BackingServers
from services.review import copies, objections, registry
from services.review.models import Application, ConflictRecord, Cycle, Expert, PublicList
from shared import clock
from shared.events import Event

CYCLE = "xz-2027"
CODE = "91140900JINGGONG1"
REVIEW_DAY = date(2027, 7, 10)
MOMENTS = [date(2027, 4, 1), REVIEW_DAY, date(2028, 7, 20),
           datetime(2027, 7, 9, 16, 30, tzinfo=UTC)]  # 00:30 on 10 July in Beijing


def _cycle_saved(review: InProcess, stages: list[dict[str, Any]],
                 at: datetime | None = None) -> None:
    event = Event(id=str(uuid.uuid4()), type="cycle.saved", source="intake",
                  occurred_at=(at or datetime.now(UTC)).isoformat(), payload={
                      "cycle": CYCLE, "year": 2027, "title": "第三届忻州市市长质量奖",
                      "opens_on": "2027-03-01", "closes_on": "2027-05-31", "status": "open",
                      "caps": {"awards": 3, "nominations": 10}, "stages": stages})
    with review.ctx.db.session() as session:
        copies.record_cycle(session, event, outbox=review.ctx.outbox)


def _stages(starts_on: str | None) -> list[dict[str, Any]]:
    return [{"stage": "material", "starts_on": starts_on, "ends_on": None}]


@pytest.fixture
def review(backing: BackingServers, tmp_path: Path) -> InProcess:
    app = service_app(backing, tmp_path, "review")
    _cycle_saved(app, _stages(REVIEW_DAY.isoformat()))
    with app.ctx.db.session() as session:
        session.add(Application(id="app-1", cycle=CYCLE, kind="organisation", owner="owner-1",
                                applicant_name="忻州精工机械有限公司", unit="140902",
                                profile={"name": "忻州精工机械有限公司", "credit_code": CODE},
                                documents=[], accepted_at=datetime.now(UTC)))
        # Left the applicant exactly 3 years before the review day, and one day earlier.
        for subject, ended in (("e-in", "2024-07-10"), ("e-out", "2024-07-09")):
            session.add(Expert(id=subject, subject=subject, name=f"专家{subject}",
                               organisation="山西大学", fields=[], created_at=datetime.now(UTC),
                               past_affiliations=[{"organisation": "忻州精工机械有限公司",
                                                   "credit_code": CODE, "ended_on": ended}],
                               relations=[], language="zh-CN", active=True))
    return app


def _detect(review: InProcess) -> set[tuple[str, str]]:
    """Detect afresh and return the live conflicts as (expert, reason)."""
    with review.ctx.db.session() as session:
        session.execute(delete(ConflictRecord))
        registry.refresh_for_application(session, session.get(Application, "app-1"))
    return _live(review)


def _live(review: InProcess) -> set[tuple[str, str]]:
    with review.ctx.db.reader() as session:
        return {(c.expert_id, c.reason) for c in session.scalars(select(ConflictRecord).where(
            ConflictRecord.withdrawn_at.is_(None)))}


def test_conflicts_count_to_the_review_day_at_any_wall_clock_moment(review: InProcess) -> None:
    seen = []
    for moment in MOMENTS:
        with clock.frozen(moment):
            seen.append(_detect(review))
    assert all(s == seen[0] for s in seen), seen
    [(expert, reason)] = seen[0]
    assert expert == "e-in"  # 3 years to the day is within the window; a day more is not
    assert "按材料评审日 2027-07-10 计算" in reason


def test_a_moved_review_day_counts_the_conflicts_again(review: InProcess) -> None:
    _detect(review)
    _cycle_saved(review, _stages("2027-07-11"))  # now e-in left 3 years and a day before
    assert _live(review) == set()
    with review.ctx.db.reader() as session:
        gone = session.scalars(select(ConflictRecord)).one()
        assert gone.withdrawn_by == "system" and "不再构成回避" in (gone.withdrawal_reason or "")
    _cycle_saved(review, _stages("2027-07-09"))  # both left within 3 years of the new day
    assert {(e, "按材料评审日 2027-07-09 计算" in r) for e, r in _live(review)} == {
        ("e-in", True), ("e-out", True)}


def test_without_stage_dates_the_application_deadline_counts(review: InProcess) -> None:
    _cycle_saved(review, _stages(None))
    with clock.frozen(date(2030, 1, 1)):
        found = _detect(review)
    assert {e for e, _ in found} == {"e-in", "e-out"}  # both within 3 years of 2027-05-31
    assert all("按申报截止日 2027-05-31 计算" in r for _, r in found)


def test_an_objection_window_follows_beijing_days(review: InProcess) -> None:
    with review.ctx.db.session() as session:
        session.add(PublicList(id="acc-1", cycle=CYCLE, kind="acceptance",
                               starts_on=date(2027, 6, 1), ends_on=date(2027, 6, 7),
                               entries=[], published_by="intake",
                               published_at=datetime.now(UTC)))
    with review.ctx.db.reader() as session:
        plist = session.get(PublicList, "acc-1")
        # 00:30 on 1 June in Beijing is 31 May in UTC: the window has opened.
        with clock.frozen(datetime(2027, 5, 31, 16, 30, tzinfo=UTC)):
            assert objections.in_window(plist, clock.today())
        # 00:30 on 8 June in Beijing is still 7 June in UTC: the window has closed.
        with clock.frozen(datetime(2027, 6, 7, 16, 30, tzinfo=UTC)):
            assert not objections.in_window(plist, clock.today())


def test_a_packet_accepted_before_its_cycle_is_counted_again_when_the_cycle_arrives(
        backing: BackingServers, tmp_path: Path) -> None:
    review = service_app(backing, tmp_path, "review")
    with review.ctx.db.session() as session:
        session.add(Application(id="app-1", cycle=CYCLE, kind="organisation", owner="owner-1",
                                applicant_name="忻州精工机械有限公司", unit="140902",
                                profile={"name": "忻州精工机械有限公司", "credit_code": CODE},
                                documents=[], accepted_at=datetime.now(UTC)))
        session.add(Expert(id="e-in", subject="e-in", name="专家", organisation="山西大学",
                           fields=[], created_at=datetime.now(UTC), relations=[],
                           past_affiliations=[{"organisation": "忻州精工机械有限公司",
                                               "credit_code": CODE, "ended_on": "2024-07-10"}],
                           language="zh-CN", active=True))
    with clock.frozen(date(2028, 1, 1)):  # today: more than 3 years after e-in left
        assert _detect(review) == set()
        _cycle_saved(review, _stages(REVIEW_DAY.isoformat()))
    assert {e for e, _ in _live(review)} == {"e-in"}


def test_an_older_announcement_arriving_late_does_not_move_the_review_day(
        review: InProcess) -> None:
    _detect(review)
    _cycle_saved(review, _stages("2027-07-11"), at=datetime(2020, 1, 1, tzinfo=UTC))
    assert {e for e, _ in _live(review)} == {"e-in"}
    with review.ctx.db.reader() as session:
        assert registry.review_date(session.get(Cycle, CYCLE)).on == REVIEW_DAY
