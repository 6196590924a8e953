"""Case numbers (办件编号) and the applicant's timeline (issue 15, point 4): every application
gets a short number people can quote, and its page shows each stage to the outcome, learnt from
review's events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from inprocess import InProcess, service_app
from sqlalchemy import select

from dossier.localstack import BackingServers
from intake.flows import new_id_number
from services.intake import outcomes, timeline
from services.intake.models import Application, Outcome


@dataclass
class _Step:
    action: str
    at: datetime


def _history(*actions: tuple[str, date]) -> list[_Step]:
    return [_Step(a, datetime(d.year, d.month, d.day, 2, tzinfo=UTC)) for a, d in actions]


def _outcome(**fields: object) -> Outcome:
    base: dict[str, object] = {"listed": None, "publicity_starts_on": None,
                               "publicity_ends_on": None, "decided_on": None, "tier": None,
                               "revoked_on": None}
    return Outcome(application_id="a", cycle="c", **{**base, **fields})


def _keys(stages: list[timeline.Stage]) -> list[tuple[str, str]]:
    return [(s.key, s.state) for s in stages]


ROUTED = _history(("submitted", date(2026, 3, 2)), ("recommended", date(2026, 3, 9)),
                  ("accepted", date(2026, 3, 16)))


def test_an_accepted_application_is_under_review_until_review_says_more() -> None:
    stages = timeline.derive("accepted", ROUTED, (date(2026, 3, 17), date(2026, 3, 23)), None,
                             date(2026, 4, 1))
    assert _keys(stages) == [("submitted", "done"), ("recommended", "done"),
                             ("accepted", "done"), ("in_review", "current"),
                             ("publicity", "upcoming"), ("result", "upcoming")]
    assert stages[0].on == date(2026, 3, 2) and stages[3].on == date(2026, 3, 23)
    assert timeline.headline(stages) == "in_review"


def test_the_timeline_runs_through_publicity_to_the_award_with_dates() -> None:
    listed = _outcome(listed=True, publicity_starts_on=date(2026, 6, 1),
                      publicity_ends_on=date(2026, 6, 5))
    during = timeline.derive("accepted", ROUTED, None, listed, date(2026, 6, 3))
    assert ("publicity", "current") in _keys(during)
    assert timeline.headline(during) == "publicity"
    won = _outcome(listed=True, publicity_starts_on=date(2026, 6, 1),
                   publicity_ends_on=date(2026, 6, 5), decided_on=date(2026, 6, 20),
                   tier="award")
    after = timeline.derive("accepted", ROUTED, None, won, date(2026, 6, 21))
    assert _keys(after)[-2:] == [("publicity", "done"), ("award", "done")]
    assert (after[-2].on, after[-2].until, after[-1].on) == (
        date(2026, 6, 1), date(2026, 6, 5), date(2026, 6, 20))
    assert timeline.headline(after) == "award"


def test_an_application_left_off_the_list_ends_not_awarded_and_a_rejected_one_stops() -> None:
    lost = _outcome(listed=False, decided_on=date(2026, 6, 20))
    stages = timeline.derive("accepted", ROUTED, None, lost, date(2026, 6, 21))
    assert _keys(stages)[-2:] == [("publicity", "skipped"), ("not_awarded", "done")]
    rejected = timeline.derive("rejected", _history(("submitted", date(2026, 3, 2)),
                                                    ("recommended", date(2026, 3, 9)),
                                                    ("rejected", date(2026, 3, 12))),
                               None, None, date(2026, 4, 1))
    assert _keys(rejected) == [("submitted", "done"), ("recommended", "done"),
                               ("rejected", "done")]


def test_case_numbers_count_per_cycle_and_the_page_shows_the_outcome_from_events(
        backing: BackingServers, tmp_path: Path) -> None:
    intake: InProcess = service_app(backing, tmp_path, "intake")
    operator = intake.auth("operator", "operator-city")
    today = date.today()
    for cycle in ("2031", "2032"):
        r = intake.client.put(f"/api/cycles/{cycle}", headers=operator, json={
            "year": int(cycle), "title": f"第{cycle[-1]}届忻州市市长质量奖",
            "programme": "mayor-quality", "status": "open",
            "opens_on": (today - timedelta(days=10)).isoformat(),
            "closes_on": (today + timedelta(days=60)).isoformat()})
        assert r.status_code == 200, r.get_data(as_text=True)

    def create(subject: str, cycle: str, name: str) -> dict[str, object]:
        r = intake.client.post("/api/applications", headers=intake.auth("applicant", subject),
                               json={"cycle": cycle, "kind": "individual", "name": name,
                                     "id_number": new_id_number(), "county": "140902",
                                     "employer": "忻州市示例机械有限公司", "quality_years": 8,
                                     "attest_no_violation": True})
        assert r.status_code == 201, r.get_data(as_text=True)
        return dict(r.get_json())

    first = create("applicant-a", "2031", "张一")
    second = create("applicant-b", "2031", "李二")
    other = create("applicant-c", "2032", "王三")
    assert [first["case_number"], second["case_number"], other["case_number"]] == [
        "2031-0001", "2031-0002", "2032-0001"]

    # What review's events tell intake's worker (the handlers' domain steps, called here):
    # the application is accepted, on the recommendation list, then awarded.
    ctx = intake.ctx
    with ctx.db.session() as session:
        app = session.get(Application, first["id"])
        assert app is not None
        app.status = "accepted"
    with ctx.db.session() as session:
        outcomes.record_list(session, {"kind": "recommendation", "cycle": "2031",
                                       "starts_on": "2031-05-06", "ends_on": "2031-05-12",
                                       "entries": [{"application_id": first["id"]}]})
        outcomes.record_decision(session, {
            "cycle": "2031", "year": 2031, "cycle_title": "第1届忻州市市长质量奖",
            "decided_on": "2031-06-01", "reference": "忻政发〔2031〕1号",
            "results": [{"application_id": first["id"], "owner": "applicant-a",
                         "tier": "award", "case_number": "2031-0001",
                         "tier_title": {"zh": "忻州市市长质量奖",
                                        "en": "Xinzhou Mayor's Quality Award"}}]})
    page = intake.client.get(f"/packets/{first['id']}",
                             headers=intake.auth("applicant", "applicant-a"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "2031-0001" in html and "办件编号" in html
    assert 'data-stage="award"' in html and "获奖" in html and "公示中" in html
    assert f"/review/my/applications/{first['id']}/certificate.pdf" in html
    assert f"/review/my/applications/{first['id']}/decision.pdf" in html
    assert "第1届忻州市市长质量奖 · 忻州市市长质量奖" in html and "忻政发〔2031〕1号" in html
    listing = intake.client.get("/packets", headers=intake.auth("applicant", "applicant-a"))
    assert "2031-0001" in listing.get_data(as_text=True)
    # The API tells the same from the same function; another applicant's is a 404.
    api = intake.client.get(f"/api/applications/{first['id']}/timeline",
                            headers=intake.auth("applicant", "applicant-a")).get_json()
    assert api["headline"] == "award" and api["case_number"] == "2031-0001"
    assert [(s["key"], s["state"]) for s in api["stages"]][-2:] == [
        ("publicity", "done"), ("award", "done")]
    assert api["stages"][-2]["on"] == "2031-05-06" and api["decided_on"] == "2031-06-01"
    assert intake.client.get(f"/api/applications/{first['id']}/timeline",
                             headers=intake.auth("applicant", "applicant-b")).status_code == 404


def test_a_packet_returned_by_the_office_is_news_for_the_applicant_only(
        backing: BackingServers, tmp_path: Path) -> None:
    intake = service_app(backing, tmp_path, "intake")
    operator = intake.auth("operator", "operator-city")
    today = date.today()
    assert intake.client.put("/api/cycles/2033", headers=operator, json={
        "year": 2033, "title": "第三届忻州市市长质量奖", "programme": "mayor-quality",
        "status": "open", "opens_on": (today - timedelta(days=10)).isoformat(),
        "closes_on": (today + timedelta(days=60)).isoformat()}).status_code == 200
    r = intake.client.post("/api/applications", headers=intake.auth("applicant", "owner-r"),
                           json={"cycle": "2033", "kind": "individual", "name": "赵四",
                                 "id_number": new_id_number(), "county": "140902",
                                 "employer": "忻州市示例机械有限公司", "quality_years": 8,
                                 "attest_no_violation": True})
    app_id = r.get_json()["id"]
    with intake.ctx.db.session() as session:
        app = session.get(Application, app_id)
        assert app is not None
        app.status, app.unit, app.route = "recommended", "140902", "county"
    r = intake.client.post(f"/api/applications/{app_id}/return", headers=operator,
                           json={"reasons": ["请补充近三年财务报表"]})
    assert r.status_code == 200, r.get_data(as_text=True)
    table = intake.ctx.outbox.table
    with intake.ctx.db.reader() as session:
        [row] = session.execute(select(table.c.payload).where(
            table.c.type == "packet.returned")).scalars().all()
    assert row["payload"]["audience"] == [{"subject": "owner-r"}]
    assert row["payload"]["case_number"] == "2033-0001"


def test_dates_follow_the_one_clock_in_its_zone() -> None:
    """A step taken at 01:00 Beijing time is dated that Beijing day, and a revocation that
    arrives without a date is dated the clock's today, not the server's UTC day."""
    from shared import clock

    late_utc = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # 2026-03-02 01:00 in Beijing
    stages = timeline.derive("submitted", [_Step("submitted", late_utc)], None, None,
                             date(2026, 3, 2))
    assert stages[0].on == date(2026, 3, 2)
    zone = str(clock.current().zone)
    clock.configure("UTC")  # an office elsewhere: the same instant is still 1 March there
    try:
        stages = timeline.derive("submitted", [_Step("submitted", late_utc)], None, None,
                                 date(2026, 3, 2))
        assert stages[0].on == date(2026, 3, 1)
    finally:
        clock.configure(zone)

    class _Session:
        def __init__(self) -> None:
            self.rows: dict[str, Outcome] = {}

        def get(self, _model: object, key: str) -> Outcome | None:
            return self.rows.get(key)

        def add(self, row: Outcome) -> None:
            self.rows[row.application_id] = row

    session = _Session()
    with clock.frozen(datetime(2026, 3, 1, 16, 30, tzinfo=UTC)):  # 00:30 Beijing, 2 March
        outcomes.record_revocation(session, {"application_id": "a", "cycle": "c"})  # type: ignore[arg-type]
    assert session.rows["a"].revoked_on == date(2026, 3, 2)
