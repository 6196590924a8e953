"""The order of the Measures, kept by one domain function per step (Art. 15-18, 25):
publicity of 5 working days before the next step, a start in the past only with a recorded
reason, the decision only after every list's window closed and its objections are resolved;
objections with a receipt code the reporter follows, evidence for the office and supervisors
only. In-process: the review app on its own database, the one clock frozen per step."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from inprocess import InProcess, service_app
from sqlalchemy import select

from dossier.localstack import BackingServers
from services.review import objections, outcomes
from services.review.models import Application, Cycle, Objection, Opinion, PublicList
from shared import clock
from shared.web.sessions import COOKIE, SessionStore

CYCLE = "xz-2026"
# 2026-06-01 is a Monday; 5 working days from 06-01 end on 06-05 (no holiday that week).
ACC_START, ACC_END = date(2026, 6, 1), date(2026, 6, 5)
PAST_REASON = "已在报刊公示（忻州日报 2026 年 6 月 8 日第 3 版）"


@pytest.fixture
def review(backing: BackingServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> InProcess:
    app = service_app(backing, tmp_path, "review")
    with app.ctx.db.session() as session:
        session.add(Cycle(id=CYCLE, year=2026, title="第三届忻州市市长质量奖", status="review",
                          caps={"awards": 3, "nominations": 10},
                          updated_at=datetime.now(UTC)))
        session.add(Application(id="app-1", cycle=CYCLE, kind="organisation", owner="owner-1",
                                applicant_name="忻州精工机械有限公司", unit="140902",
                                profile={"credit_code": "91140900JINGGONG1"}, documents=[],
                                accepted_at=datetime.now(UTC)))
        for dept in ("police", "hrss", "ecology", "emergency", "taxation"):
            session.add(Opinion(id=str(uuid.uuid4()), application_id="app-1", department=dept,
                                favourable=True, reference=f"{dept}-1", note=None,
                                recorded_by="op", recorded_at=datetime.now(UTC)))
        session.add(PublicList(id="acc-1", cycle=CYCLE, kind="acceptance", starts_on=ACC_START,
                               ends_on=ACC_END, entries=[{"application_id": "app-1",
                                                          "applicant_name": "忻州精工机械有限公司",
                                                          "kind": "organisation"}],
                               published_by="intake", published_at=datetime.now(UTC)))
    # Scores and ranking are proven elsewhere (test_scoring, the end-to-end test): here one
    # applicant has placed, so that only the order of the process decides.
    monkeypatch.setattr(outcomes, "results", lambda *_a, **_k: [{
        "application_id": "app-1", "applicant_name": "忻州精工机械有限公司", "kind": "organisation",
        "tier": "award", "score": 900.0}])
    return app


def _publish(review: InProcess, **body: Any) -> Any:
    return review.client.post(f"/api/cycles/{CYCLE}/recommendation", json=body,
                              headers=review.auth("operator", "op-1"))


def _audit(review: InProcess, action: str) -> list[dict[str, Any]]:
    table = review.ctx.metadata.tables["audit_log"]
    with review.ctx.db.reader() as session:
        return [dict(r._mapping) for r in session.execute(
            select(table).where(table.c.action == action).order_by(table.c.seq))]


def _objection(review: InProcess, list_id: str, day: date, **extra: Any) -> Objection:
    with clock.frozen(day):
        return objections.file_objection(
            review.ctx.db, review.ctx.outbox, review.ctx.audit, review.ctx.store,
            review.ctx.settings.field_key(), list_id,
            {"anonymous": False, "reporter_name": "李举报", "reporter_contact": "13800000000",
             "text": "该单位近三年发生过质量事故。", "application_id": "app-1", **extra},
            subject="citizen-1", role="applicant",
            files=[objections.EvidenceFile("抽检报告.pdf", b"%PDF-1.4 evidence")])


def _resolve(review: InProcess, objection_id: str, answer: str | None = "经核查，不影响申报。"
             ) -> Any:
    return review.client.post(f"/api/objections/{objection_id}/resolve", json={
        "outcome": "dismissed", "resolution": "核查笔录见附件。", "answer": answer},
        headers=review.auth("operator", "op-1"))


# -- point 7: the recommendation list ----------------------------------------------------------

def test_a_start_in_the_past_is_refused_without_a_reason_and_recorded_with_one(
        review: InProcess) -> None:
    with clock.frozen(date(2026, 6, 22)):
        r = _publish(review, starts_on="2026-06-08")
        assert r.status_code == 409, r.get_data(as_text=True)
        problem = r.get_json()
        assert problem["code"] == "list.start_in_past"
        assert "2026-06-12" in str(problem)  # when the 5 working days end
        assert _audit(review, "list.published") == []
        r = _publish(review, starts_on="2026-06-08", reason="  ")
        assert r.get_json()["code"] == "list.start_in_past"  # blank is no reason

        r = _publish(review, starts_on="2026-06-08", reason=PAST_REASON)
        assert r.status_code == 201, r.get_data(as_text=True)
        listed = r.get_json()
        assert listed["deviations"] == ["start_in_past"]
        assert listed["deviation_reason"] == PAST_REASON
        assert listed["notice"]["issuer"]["zh"] == "忻州市市场监督管理局"
        [row] = _audit(review, "list.published")
        assert row["detail"]["reason"] == PAST_REASON and row["actor"] == "op-1"
        # The public notice shows the reason, the issuing office and that objections are over.
        page = review.client.get("/public/lists?lang=zh-CN").get_data(as_text=True)
        assert PAST_REASON in page and "发布单位：忻州市市场监督管理局" in page
        assert "异议期已于" in page


def test_a_start_today_after_the_acceptance_publicity_needs_no_reason(review: InProcess) -> None:
    with clock.frozen(date(2026, 6, 8)):
        r = _publish(review)
        assert r.status_code == 201, r.get_data(as_text=True)
        assert r.get_json()["deviations"] == [] and r.get_json()["deviation_reason"] is None
        page = review.client.get("/public/lists?lang=zh-CN").get_data(as_text=True)
        # Until when and to whom objections go, and the link to the form.
        assert "忻州市市长质量奖评审监督组" in page and "/public/objections/new?list=" in page


def test_the_recommendation_waits_for_the_acceptance_publicity_and_its_objections(
        review: InProcess) -> None:
    objection = _objection(review, "acc-1", date(2026, 6, 3))
    with clock.frozen(date(2026, 6, 4)):
        r = _publish(review, reason=PAST_REASON)
        assert r.status_code == 409
        assert r.get_json()["code"] == "list.acceptance_objections_open"  # no reason excuses
        assert _resolve(review, objection.id).status_code == 200
        r = _publish(review)
        assert r.status_code == 409 and r.get_json()["code"] == "list.acceptance_running"
        r = _publish(review, reason="市政府要求提前公示，见忻政办函〔2026〕5号")
        assert r.status_code == 201, r.get_data(as_text=True)
        assert r.get_json()["deviations"] == ["acceptance_running"]


# -- point 7: the decision ---------------------------------------------------------------------

def _decide(review: InProcess) -> Any:
    return review.client.post(f"/api/cycles/{CYCLE}/decision",
                              json={"reference": "忻政发〔2026〕9号"},
                              headers=review.auth("operator", "op-1"))


def test_the_decision_waits_for_the_window_and_for_every_objection_of_the_cycle(
        review: InProcess) -> None:
    with clock.frozen(date(2026, 6, 8)):
        assert _publish(review).status_code == 201  # publicity 06-08 .. 06-12
    with clock.frozen(date(2026, 6, 12)):
        r = _decide(review)
        assert r.status_code == 409 and r.get_json()["code"] == "decision.publicity_running"
    # An objection to the acceptance list (a late one let in by hand) blocks the decision too.
    with review.ctx.db.session() as session:
        session.add(Objection(id="late-1", list_id="acc-1", application_id="app-1",
                              anonymous=True, reporter_sealed=None, text="迟到的异议。",
                              evidence=[], evidence_files=[], status="open",
                              received_at=datetime.now(UTC), receipt_code=None))
    with clock.frozen(date(2026, 6, 15)):
        r = _decide(review)
        assert r.status_code == 409 and r.get_json()["code"] == "decision.objections_open"
        assert _resolve(review, "late-1").status_code == 200
        r = _decide(review)
        assert r.status_code == 201, r.get_data(as_text=True)
    [row] = _audit(review, "decision.made")
    assert row["detail"]["reference"] == "忻政发〔2026〕9号"


def test_the_decision_is_refused_while_an_acceptance_list_is_still_open(
        review: InProcess) -> None:
    with clock.frozen(date(2026, 6, 8)):
        assert _publish(review).status_code == 201
    with review.ctx.db.session() as session:  # a second acceptance list, published later
        session.add(PublicList(id="acc-2", cycle=CYCLE, kind="acceptance",
                               starts_on=date(2026, 6, 15), ends_on=date(2026, 6, 19),
                               entries=[], published_by="intake",
                               published_at=datetime.now(UTC)))
    with clock.frozen(date(2026, 6, 16)):
        r = _decide(review)
        assert r.status_code == 409 and r.get_json()["code"] == "decision.acceptance_running"
        assert "受理名单公示期尚未结束" in r.get_json()["title"] + str(r.get_json())
    with clock.frozen(date(2026, 6, 22)):
        assert _decide(review).status_code == 201


# -- point 8: receipt codes and the follow-up page ---------------------------------------------

def test_receipt_codes_catch_every_typo_and_forgive_case_dashes_and_look_alikes() -> None:
    rng = random.Random(15)
    for _ in range(3000):
        code = objections.new_receipt_code()
        assert len(code) == 12 and objections.normalise_code(code) == code
        shown = objections.display_code(code)
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", shown)
        assert objections.normalise_code(f" {shown.lower()} ") == code
        i = rng.randrange(12)
        wrong = rng.choice([c for c in objections.ALPHABET if c != code[i]])
        typo = code[:i] + wrong + code[i + 1:]
        assert objections.normalise_code(typo) is None, (code, typo)
        j = rng.randrange(11)
        if code[j] != code[j + 1]:
            swapped = code[:j] + code[j + 1] + code[j] + code[j + 2:]
            assert objections.normalise_code(swapped) is None, (code, swapped)
    assert objections.normalise_code("O0I1L") is None


def test_the_reporter_follows_the_case_by_receipt_code_and_never_sees_an_identity(
        review: InProcess) -> None:
    with clock.frozen(date(2026, 6, 3)):
        r = review.client.post("/api/lists/acc-1/objections", json={
            "anonymous": False, "reporter_name": "李举报", "reporter_contact": "13800000000",
            "text": "该单位近三年发生过质量事故。"}, headers=review.auth("applicant", "citizen-1"))
    assert r.status_code == 201, r.get_data(as_text=True)
    filed = r.get_json()
    code = objections.display_code(filed["receipt_code"])
    assert objections.normalise_code(code) == filed["receipt_code"]

    page = review.client.get(f"/public/objections/received/{code}?lang=zh-CN")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "异议已收到" in text and "已受理" not in text
    assert code in text and filed["id"] not in text

    def follow(raw: str) -> tuple[int, str]:
        got = review.client.get("/public/objections/follow",
                                query_string={"code": raw, "lang": "zh-CN"})
        return got.status_code, got.get_data(as_text=True)

    status, text = follow(code.lower().replace("-", " "))
    assert status == 200 and 'data-follow-status>已收到<' in text
    assert "李举报" not in text and "13800000000" not in text and "质量事故" not in text
    r = review.client.post(f"/api/objections/{filed['id']}/investigation",
                           headers=review.auth("operator", "op-1"))
    assert r.status_code == 200 and r.get_json()["investigating_since"]
    assert 'data-follow-status>调查核实中<' in follow(code)[1]
    assert _resolve(review, filed["id"], "经核查，事故系他人责任，不影响申报。").status_code == 200
    status, text = follow(code)
    assert 'data-follow-status>已答复<' in text and "经核查，事故系他人责任，不影响申报。" in text
    assert "经核实，异议不成立。" in text and "核查笔录见附件" not in text  # internal stays inside
    assert "李举报" not in text
    # A mistyped code is told apart from an unknown one.
    assert follow(code[:-1] + ("0" if code[-1] != "0" else "1"))[0] == 422
    other = objections.new_receipt_code()
    assert follow(other)[0] == 404
    assert [a["action"] for a in _audit(review, "objection.investigating")] == [
        "objection.investigating"]


# -- point 8: evidence for those entitled --------------------------------------------------------

def _page_client(review: InProcess, role: str, subject: str) -> Any:
    store = SessionStore(redis.Redis.from_url(review.ctx.settings.redis_url,
                                              decode_responses=True), idle=3600, absolute=7200)
    session = store.create(subject=subject, role=role, name=subject)
    client = review.app.test_client()
    client.set_cookie(COOKIE, session.sid)
    return client


def test_evidence_opens_for_operator_and_supervisor_only_and_every_read_is_audited(
        review: InProcess) -> None:
    objection = _objection(review, "acc-1", date(2026, 6, 3))
    url = f"/api/objections/{objection.id}/evidence/1"
    for role in ("operator", "supervisor"):
        r = review.client.get(url, headers=review.auth(role, f"{role}-1"))
        assert r.status_code == 200 and r.data == b"%PDF-1.4 evidence"
        assert r.headers["Content-Disposition"].startswith("attachment")
    for role in ("expert", "applicant", "recommender", "admin"):
        assert review.client.get(url, headers=review.auth(role, f"{role}-1")).status_code == 404
    reads = _audit(review, "objection.evidence_read")
    assert [(a["actor"], a["role"]) for a in reads] == [("operator-1", "operator"),
                                                        ("supervisor-1", "supervisor")]
    # The office page lists the file with its link, and serves it through the same function.
    op = _page_client(review, "operator", "op-page")
    page = op.get(f"/objections/{objection.id}?lang=zh-CN").get_data(as_text=True)
    link = f"/objections/{objection.id}/evidence/1"
    assert "抽检报告.pdf" in page and link in page and "李举报" not in page
    r = op.get(link)
    assert r.status_code == 200 and r.data == b"%PDF-1.4 evidence"
    assert _audit(review, "objection.evidence_read")[-1]["actor"] == "op-page"
    expert = _page_client(review, "expert", "ex-page")
    assert expert.get(link).status_code in (403, 404)  # not a page of the office at all


def test_the_page_and_the_api_resolve_an_objection_through_one_function(
        review: InProcess) -> None:
    objection = _objection(review, "acc-1", date(2026, 6, 3))
    op = _page_client(review, "operator", "op-page")
    page = op.get(f"/objections/{objection.id}?lang=zh-CN").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = op.post(f"/objections/{objection.id}/resolve", data={
        "csrf_token": token, "outcome": "dismissed", "resolution": "内部记录"})
    assert r.status_code == 422 and 'id="e-answer"' in r.get_data(as_text=True)
    r = op.post(f"/objections/{objection.id}/resolve", data={
        "csrf_token": token, "outcome": "dismissed", "resolution": "内部记录",
        "answer": "经核查，不影响申报。"})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    [row] = _audit(review, "objection.resolved")
    assert row["actor"] == "op-page" and row["detail"] == {"outcome": "dismissed"}
    r = _resolve(review, objection.id)
    assert r.status_code == 409 and r.get_json()["code"] == "objection.resolved"


def test_the_clock_answers_in_the_configured_zone(review: InProcess) -> None:
    # 2026-06-07 20:00 UTC is already 06-08 in Beijing: a window opening on 06-08 is open.
    with clock.frozen(datetime(2026, 6, 7, 20, 0, tzinfo=UTC)):
        assert clock.today() == date(2026, 6, 8)
        assert clock.now().utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    assert review.ctx.settings.timezone == "Asia/Shanghai"
