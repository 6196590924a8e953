"""Waiting without polling (issue 23, point 4), in process: ETags and 304 on the application, its
checklist and the cycle's requirement list; `pending` says what the system is still doing; a
request with `If-None-Match` and `?wait=` is woken by the commit of the change (real Redis
pub/sub), answers 304 when the wait runs out, 503 when Redis is gone, 503 `wait.busy` beyond the
process's waiting slots."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from inprocess import InProcess, service_app
from samples import text_pdf
from waiting import poll
from werkzeug.test import TestResponse

from dossier.localstack import BackingServers
from intake.flows import new_uscc
from services.intake import awards, checklist
from shared import clock, longpoll
from shared.longpoll import ChangeFeed

CYCLE = "2043"
KINDS = {"organisation": [
    {"id": "self-evaluation", "title": {"zh-CN": "自评报告", "en": "Self-evaluation report"},
     "required": True},
    {"id": "licence", "title": {"zh-CN": "营业执照", "en": "Business licence"},
     "required": True}]}


@pytest.fixture
def intake(backing: BackingServers, tmp_path: Path) -> InProcess:
    intake = service_app(backing, tmp_path, "intake")
    today = clock.today()
    r = intake.client.put(f"/api/cycles/{CYCLE}", headers=intake.auth("operator", "op-city"),
                          json={"year": 2043, "title": "第十七届忻州市市长质量奖",
                                "programme": "mayor-quality", "status": "open",
                                "opens_on": (today - timedelta(days=10)).isoformat(),
                                "closes_on": (today + timedelta(days=60)).isoformat()})
    assert r.status_code == 200, r.get_data(as_text=True)
    return intake


def _owner(intake: InProcess) -> dict[str, str]:
    return intake.auth("applicant", "owner-wait")


def _open(intake: InProcess) -> str:
    r = intake.client.post("/api/applications", headers=_owner(intake), json={
        "cycle": CYCLE, "kind": "organisation", "name": "忻州市等待机械有限公司",
        "credit_code": new_uscc(), "county": "140902", "industry": "装备制造",
        "founded_on": "2015-06-01", "legal_representative": "张三",
        "attest_no_violation": True, "attest_no_accident": True})
    assert r.status_code == 201, r.get_data(as_text=True)
    return str(r.get_json()["id"])


def _upload(intake: InProcess, app_id: str) -> dict[str, Any]:
    r = intake.client.post(
        f"/api/applications/{app_id}/documents", headers=_owner(intake),
        content_type="multipart/form-data",
        data={"requirement": "self-evaluation", "confidentiality": "internal",
              "file": (io.BytesIO(text_pdf(["self evaluation"])), "自评报告.pdf",
                       "application/pdf")})
    assert r.status_code == 201, r.get_data(as_text=True)
    return dict(r.get_json())


def _publish_list(intake: InProcess) -> None:
    """What intake's worker does with documents' `requirements.published`."""
    with intake.ctx.db.session() as session:
        checklist.record_requirements(session, {
            "cycle": CYCLE, "catalogue": {"version": "quality-award-2025", "title": None},
            "kinds": KINDS}, datetime.now(UTC))


def _judge(intake: InProcess, app_id: str, version: dict[str, Any]) -> None:
    """What intake's worker does with documents' `document.inspected` and `packet.checked`."""
    with intake.ctx.db.session() as session:
        awards.record_inspection(session, {"version_id": version["id"], "ok": True,
                                           "format": "pdf", "pages": 1})
        awards.record_completeness(session, {
            "application_id": app_id, "submission": 0, "status": "incomplete",
            "counts": {"met": 1, "missing": 1}, "missing": ["licence"],
            "items": [{"requirement": "self-evaluation", "status": "met", "reasons": [],
                       "versions": [version["id"]]},
                      {"requirement": "licence", "status": "missing", "reasons": [],
                       "versions": []}]})


class Waiting:
    """One request run in a thread (with a test client of its own), timed to its answer."""

    def __init__(self, call: Callable[[], TestResponse]) -> None:
        self.answer: TestResponse | None = None
        self.started = time.monotonic()
        self.answered = 0.0
        self._call = call
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.answer = self._call()
        self.answered = time.monotonic()

    def result(self, timeout: float = 40) -> tuple[TestResponse, float]:
        self._thread.join(timeout)
        assert self.answer is not None, "no answer"
        return self.answer, self.answered - self.started


def _waiting(intake: InProcess, path: str, headers: dict[str, str]) -> Waiting:
    def call() -> TestResponse:
        return intake.app.test_client().get(path, headers=headers)

    return Waiting(call)


def _slots_taken(intake: InProcess, n: int) -> None:
    poll(lambda: intake.ctx.change_feed.waiting == n, 10, 0.05)


def test_each_answer_carries_an_etag_and_what_is_still_pending(intake: InProcess) -> None:
    app_id = _open(intake)
    owner = _owner(intake)
    first = intake.client.get(f"/api/applications/{app_id}", headers=owner)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    # The list has not arrived: that is under way, said in words and a code.
    assert [p["code"] for p in first.get_json()["pending"]] == ["requirements.pending"]
    assert "材料目录" in first.get_json()["pending"][0]["zh-CN"]
    again = intake.client.get(f"/api/applications/{app_id}", headers={
        **owner, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    assert again.get_data() == b""

    _publish_list(intake)
    version = _upload(intake, app_id)
    detail = intake.client.get(f"/api/applications/{app_id}", headers={
        **owner, "If-None-Match": etag})
    assert detail.status_code == 200 and detail.headers["ETag"] != etag
    [running] = detail.get_json()["pending"]
    assert running["code"] == "inspection.running"
    assert running["requirement"] == "self-evaluation"
    assert running["versions"] == [version["id"]]
    assert running["zh-CN"] == "正在检查“自评报告”的文件《自评报告.pdf》。"
    assert running["en"] == ("Checking the files of \u201cSelf-evaluation report\u201d: "
                             "自评报告.pdf.")

    view = intake.client.get(f"/api/applications/{app_id}/checklist", headers=owner)
    assert view.status_code == 200 and view.headers["ETag"]
    body = view.get_json()
    assert body["status"] == "pending" and body["known"] is True
    rows = {r["requirement"]: r for r in body["rows"]}
    assert rows["self-evaluation"]["state"] == "pending"
    assert rows["self-evaluation"]["title"] == {"zh-CN": "自评报告",
                                                "en": "Self-evaluation report"}
    assert rows["self-evaluation"]["files"][0]["filename"] == "自评报告.pdf"
    assert [p["code"] for p in body["pending"]] == ["inspection.running"]

    _judge(intake, app_id, version)
    judged = intake.client.get(f"/api/applications/{app_id}/checklist", headers={
        **owner, "If-None-Match": view.headers["ETag"]})
    assert judged.status_code == 200 and judged.get_json()["pending"] == []
    assert {r["requirement"]: r["state"] for r in judged.get_json()["rows"]} == {
        "self-evaluation": "met", "licence": "missing"}
    # Another applicant learns nothing, waiting or not.
    stranger = intake.auth("applicant", "someone-else")
    assert intake.client.get(f"/api/applications/{app_id}/checklist?wait=1",
                             headers=stranger).status_code == 404


def test_the_requirement_list_answers_404_pending_then_a_versioned_list(
        intake: InProcess) -> None:
    anyone = intake.auth("applicant", "someone")
    missing = intake.client.get(f"/api/cycles/{CYCLE}/requirements", headers=anyone)
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "cycle.requirements_pending"
    _publish_list(intake)
    found = intake.client.get(f"/api/cycles/{CYCLE}/requirements", headers=anyone)
    assert found.status_code == 200 and found.get_json()["pending"] == []
    assert intake.client.get(f"/api/cycles/{CYCLE}/requirements", headers={
        **anyone, "If-None-Match": found.headers["ETag"]}).status_code == 304


def test_a_waiting_request_is_woken_by_the_commit_not_by_the_cap(intake: InProcess) -> None:
    app_id = _open(intake)
    owner = _owner(intake)
    _publish_list(intake)
    version = _upload(intake, app_id)
    before = intake.client.get(f"/api/applications/{app_id}/checklist", headers=owner)
    waiting = _waiting(intake, f"/api/applications/{app_id}/checklist?wait=30",
                       {**owner, "If-None-Match": before.headers["ETag"]})
    _slots_taken(intake, 1)
    _judge(intake, app_id, version)
    answer, took = waiting.result()
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["status"] == "incomplete" and answer.get_json()["pending"] == []
    assert answer.headers["ETag"] != before.headers["ETag"]
    assert took < 10, f"answered after {took:.1f}s: woken by the wait running out, not the change"

    # The list, waited for while it is still being prepared, comes as soon as it is published.
    other = "2044"
    today = clock.today()
    assert intake.client.put(f"/api/cycles/{other}", headers=intake.auth("operator", "op"), json={
        "year": 2044, "title": "第十八届忻州市市长质量奖", "programme": "mayor-quality",
        "status": "planned", "opens_on": (today + timedelta(days=10)).isoformat(),
        "closes_on": (today + timedelta(days=60)).isoformat()}).status_code == 200
    waiting = _waiting(intake, f"/api/cycles/{other}/requirements?wait=30", owner)
    _slots_taken(intake, 1)
    with intake.ctx.db.session() as session:
        checklist.record_requirements(session, {"cycle": other, "catalogue": {
            "version": "quality-award-2025"}, "kinds": KINDS}, datetime.now(UTC))
    answer, took = waiting.result()
    assert answer.status_code == 200 and answer.get_json()["cycle"] == other
    assert took < 10, f"answered after {took:.1f}s"


def test_a_wait_that_runs_out_is_a_304_and_a_change_elsewhere_does_not_end_it(
        intake: InProcess) -> None:
    app_id = _open(intake)
    other_id = _open(intake)
    owner = _owner(intake)
    before = intake.client.get(f"/api/applications/{app_id}", headers=owner)
    waiting = _waiting(intake, f"/api/applications/{app_id}?wait=2",
                       {**owner, "If-None-Match": before.headers["ETag"]})
    _slots_taken(intake, 1)
    # Another application's change wakes nobody waiting on this one into a wrong answer.
    assert intake.client.patch(f"/api/applications/{other_id}", headers=owner,
                               json={"legal_representative": "李四"}).status_code == 200
    answer, took = waiting.result()
    assert answer.status_code == 304 and answer.headers["ETag"] == before.headers["ETag"]
    assert took >= 2
    # A wait beyond the cap is the cap (documented), never longer.
    assert longpoll.WAIT_CAP_SECONDS == 30


def test_waiters_beyond_the_process_cap_are_told_to_come_back(intake: InProcess) -> None:
    app_id = _open(intake)
    owner = _owner(intake)
    etag = intake.client.get(f"/api/applications/{app_id}", headers=owner).headers["ETag"]
    headers = {**owner, "If-None-Match": etag}
    crowd = [_waiting(intake, f"/api/applications/{app_id}?wait=4", headers)
             for _ in range(longpoll.MAX_WAITERS)]
    _slots_taken(intake, longpoll.MAX_WAITERS)
    refused = intake.client.get(f"/api/applications/{app_id}?wait=4", headers=headers)
    assert refused.status_code == 503
    assert refused.get_json()["code"] == "wait.busy"
    assert refused.headers["Retry-After"] == str(longpoll.BUSY_RETRY_AFTER)
    # A request that does not wait is served as ever, and so is one whose answer is ready.
    assert intake.client.get(f"/api/applications/{app_id}", headers=headers).status_code == 304
    assert intake.client.get(f"/api/applications/{app_id}?wait=4",
                             headers=owner).status_code == 200
    for waiting in crowd:
        assert waiting.result()[0].status_code == 304


def test_redis_gone_before_or_during_a_wait_is_a_503_not_a_hang(
        intake: InProcess, tmp_path: Path) -> None:
    app_id = _open(intake)
    owner = _owner(intake)
    etag = intake.client.get(f"/api/applications/{app_id}", headers=owner).headers["ETag"]
    headers = {**owner, "If-None-Match": etag}
    # The feed on a Redis of its own, stopped while a request waits on it.
    own = BackingServers(root=tmp_path / "own-redis")
    own.start_redis()
    feed = ChangeFeed(redis.Redis.from_url(own.redis_url, socket_timeout=5), "intake")
    intake.ctx.__dict__["change_feed"] = feed
    try:
        waiting = _waiting(intake, f"/api/applications/{app_id}?wait=30", headers)
        _slots_taken(intake, 1)
    finally:
        own.stop_redis()
    answer, took = waiting.result()
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert answer.get_json()["code"] == "dependency.broker_unavailable"
    assert answer.headers["Retry-After"]
    assert took < 15
    # While it stays down, a new wait is refused the same way at once.
    started = time.monotonic()
    again = intake.client.get(f"/api/applications/{app_id}?wait=30", headers=headers)
    assert again.status_code == 503
    assert again.get_json()["code"] == "dependency.broker_unavailable"
    assert time.monotonic() - started < 10
    feed.stop()


def test_the_openapi_document_describes_waiting(intake: InProcess) -> None:
    spec = intake.client.get("/openapi.json", headers=intake.auth("operator", "op")).get_json()
    for path in ("/api/applications/{application_id}", "/api/applications/{application_id}/"
                 "checklist", "/api/cycles/{cycle_id}/requirements"):
        get = spec["paths"][path]["get"]
        names = {p["name"] for p in get["parameters"]}
        assert {"wait", "If-None-Match"} <= names, path
        assert "304" in get["responses"], path
    detail = spec["components"]["schemas"]["ApplicationDetail"]["properties"]
    assert "pending" in detail


def test_a_wait_that_is_no_number_is_refused(intake: InProcess) -> None:
    app_id = _open(intake)
    for bad in ("soon", "-1", "nan"):
        r = intake.client.get(f"/api/applications/{app_id}?wait={bad}", headers=_owner(intake))
        assert r.status_code == 422 and r.get_json()["code"] == "validation.failed", bad
