"""Bulk forms where experts and the office work in bulk (issue 23, point 5): an expert's scores
of a whole stage in one request, an applicant's department opinions in one request, each all or
nothing with a problem per failing item; and one confidentiality pledge per review session
unless the stage asks for one per dossier, trade secrets still opened only under a pledge that
covers them, audited. In-process: the review app on its own database."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from inprocess import InProcess, service_app
from sqlalchemy import func, select

from dossier.localstack import BackingServers
from services.review.models import (
    Application,
    Assignment,
    ConflictRecord,
    Cycle,
    Expert,
    Opinion,
    Panel,
    Score,
)
from services.review.programme import Programme
from shared.web.sessions import COOKIE, SessionStore

CYCLE = "bulk-2026"
NAMES = ["忻州精工机械有限公司", "忻州华泰建材有限公司", "忻州清源食品有限公司"]
STRANGER = "原平远景纺织有限公司"  # an applicant the expert does not review
ITEMS = Programme().rubric("organisation").items


def _good(factor: float = 0.8) -> dict[str, float]:
    return {k: round(v * factor, 1) for k, v in ITEMS.items()}


def _document(name: str, secret: bool) -> dict[str, Any]:
    return {"document_id": str(uuid.uuid4()), "requirement": "evidence", "filename": name,
            "object_key": f"{CYCLE}/x/{uuid.uuid4()}/v1", "size": 10,
            "content_type": "application/pdf",
            "confidentiality": "trade-secret" if secret else "internal", "secret_pages": []}


class World:
    def __init__(self, review: InProcess) -> None:
        self.review = review
        self.apps = [f"app-{i}" for i in range(len(NAMES))]
        self.stranger = "app-stranger"
        self.expert_id = str(uuid.uuid4())
        self.other_expert_id = str(uuid.uuid4())
        self.panel = str(uuid.uuid4())
        self.onsite = str(uuid.uuid4())
        now = datetime.now(UTC)
        with review.ctx.db.session() as session:
            session.add(Cycle(id=CYCLE, year=2026, title="第三届忻州市市长质量奖",
                              status="review", caps={"awards": 3, "nominations": 10},
                              updated_at=now))
            for app_id, name in [*zip(self.apps, NAMES, strict=True),
                                 (self.stranger, STRANGER)]:
                session.add(Application(
                    id=app_id, cycle=CYCLE, kind="organisation", owner=f"owner-{app_id}",
                    applicant_name=name, unit="140902",
                    profile={"credit_code": "91140900MA0K000000"},
                    documents=[_document("公开材料.pdf", False), _document("核心工艺.pdf", True)],
                    accepted_at=now))
            for expert_id, subject, name in ((self.expert_id, "e-zhang", "张评审"),
                                             (self.other_expert_id, "e-li", "李评审")):
                session.add(Expert(id=expert_id, subject=subject, name=name,
                                   organisation="山西省质量研究院", fields=[], county=None,
                                   email=None, created_at=now, language="zh-CN", active=True))
            for panel_id, stage in ((self.panel, "material"), (self.onsite, "on-site")):
                session.add(Panel(id=panel_id, cycle=CYCLE, stage=stage, per_application=1,
                                  max_load=10, require_field_match=False, weight=1.0, pool=[],
                                  applications=[], deadline=None, created_at=now,
                                  pledge_scope="session"))
            session.flush()
            for app_id in self.apps:
                self._assign(session, self.panel, app_id, self.expert_id)
            self._assign(session, self.panel, self.stranger, self.other_expert_id)

    @staticmethod
    def _assign(session: Any, panel: str, app_id: str, expert_id: str) -> None:
        session.add(Assignment(id=str(uuid.uuid4()), panel_id=panel, application_id=app_id,
                               expert_id=expert_id, status="active", affinity=0,
                               explanation={}, created_at=datetime.now(UTC)))

    @property
    def expert(self) -> dict[str, str]:
        return self.review.auth("expert", "e-zhang")

    @property
    def operator(self) -> dict[str, str]:
        return self.review.auth("operator", "op-bulk")

    def count(self, model: Any, *where: Any) -> int:
        with self.review.ctx.db.reader() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where))
                       or 0)

    def audit(self, action: str) -> list[dict[str, Any]]:
        table = self.review.ctx.metadata.tables["audit_log"]
        with self.review.ctx.db.reader() as session:
            return [dict(r._mapping) for r in session.execute(
                select(table).where(table.c.action == action).order_by(table.c.seq))]


@pytest.fixture
def world(backing: BackingServers, tmp_path: Path) -> World:
    return World(service_app(backing, tmp_path, "review"))


def _scores(world: World, entries: list[dict[str, Any]]) -> Any:
    return world.review.client.put(f"/api/panels/{world.panel}/scores", headers=world.expert,
                                   json={"scores": entries})


# -- scores of a stage ------------------------------------------------------------------------

def test_one_bad_score_in_a_batch_stores_nothing_and_names_every_failing_entry(
        world: World) -> None:
    bad_items = {**_good(), "results.finance": 999}
    r = _scores(world, [
        {"application_id": world.apps[0], "items": _good()},
        {"application_id": world.apps[1], "items": bad_items},  # above the item's maximum
        {"application_id": world.stranger, "items": _good()},  # not the expert's to score
        {"application_id": world.apps[0], "items": _good(0.5)},  # twice in one batch
        {"application_id": world.apps[2], "items": _good(), "comment": "材料翔实"},
    ])
    assert r.status_code == 422, r.get_json()
    problem = r.get_json()
    assert problem["code"] == "bulk.rejected"
    assert "5 项中有 3 项" in problem["messages"]["zh-CN"]
    failing = {p["index"]: p for p in problem["errors"]["scores"]}
    assert sorted(failing) == [1, 2, 3]
    assert failing[1]["code"] == "review.score_invalid"
    assert failing[1]["application_id"] == world.apps[1]
    assert failing[1]["applicant_name"] == NAMES[1]
    assert failing[1]["errors"] == {"results.finance": ["Outside 0 to the item's maximum."]}
    assert failing[1]["messages"]["zh-CN"] and failing[1]["messages"]["en"]
    # The stranger's entry is refused like the single route refuses it: not found, unnamed.
    assert failing[2]["code"] == "http.not_found"
    assert failing[2]["applicant_name"] is None and STRANGER not in r.get_data(as_text=True)
    assert failing[3]["code"] == "bulk.duplicate" and "第 1 项" in failing[3]["messages"]["zh-CN"]
    # Nothing stored, nothing audited as submitted; the stranger's entry is a denied access.
    assert world.count(Score) == 0
    assert world.audit("score.submitted") == []
    assert [a["target"] for a in world.audit("access.denied")] == [
        f"application:{world.stranger}"]


def test_a_clean_batch_stores_every_score_and_audits_each(world: World) -> None:
    # An earlier single score is revised by the batch, its earlier total kept in the audit.
    single = world.review.client.put(f"/api/panels/{world.panel}/scores/{world.apps[0]}",
                                     headers=world.expert, json={"items": _good(0.5)})
    assert single.status_code == 200, single.get_json()
    r = _scores(world, [{"application_id": a, "items": _good(0.9), "comment": "评审意见"}
                        for a in world.apps])
    assert r.status_code == 200, r.get_json()
    stored = r.get_json()
    assert [s["application_id"] for s in stored] == world.apps
    assert {s["total"] for s in stored} == {round(sum(_good(0.9).values()), 4)}
    assert world.count(Score) == 3
    audited = world.audit("score.submitted")
    assert len(audited) == 4  # the single one, then one per score of the batch
    assert {a["target"] for a in audited[1:]} == {f"score:{s['id']}" for s in stored}
    assert audited[1]["detail"]["previous"] == round(sum(_good(0.5).values()), 4)


def test_a_batch_above_the_cap_or_empty_is_refused_before_any_check(world: World) -> None:
    entry = {"application_id": world.apps[0], "items": _good()}
    for entries in ([], [entry] * 201):
        r = _scores(world, entries)
        assert r.status_code == 422 and r.get_json()["code"] == "validation.failed"
    assert world.count(Score) == 0


# -- opinions of an applicant -----------------------------------------------------------------

def test_opinions_of_an_applicant_are_recorded_all_or_none(world: World) -> None:
    url = f"/api/applications/{world.apps[0]}/opinions"
    departments = ["police", "hrss", "ecology", "emergency", "taxation"]

    def opinion(dept: str) -> dict[str, Any]:
        return {"department": dept, "favourable": True, "reference": f"忻州函〔2026〕{len(dept)}号"}

    r = world.review.client.put(url, headers=world.operator, json={"opinions": [
        *[opinion(d) for d in departments[:4]], opinion("discipline"), opinion("police")]})
    assert r.status_code == 422, r.get_json()
    problem = r.get_json()
    assert problem["code"] == "bulk.rejected"
    failing = {p["index"]: p for p in problem["errors"]["opinions"]}
    assert sorted(failing) == [4, 5]
    assert failing[4]["code"] == "opinion.department_unknown"  # not consulted for enterprises
    assert failing[4]["department"] == "discipline"
    assert failing[4]["applicant_name"] == NAMES[0]
    assert failing[5]["code"] == "bulk.duplicate"
    assert world.count(Opinion) == 0 and world.audit("opinion.recorded") == []

    r = world.review.client.put(url, headers=world.operator,
                                json={"opinions": [opinion(d) for d in departments]})
    assert r.status_code == 200, r.get_json()
    assert sorted(o["department"] for o in r.get_json()) == sorted(departments)
    assert len(world.audit("opinion.recorded")) == 5
    status = world.review.client.get(url, headers=world.operator).get_json()
    assert status["missing"] == []
    # The office is told once that the opinions are complete, as with single opinions.
    outbox = world.review.ctx.outbox.table
    assert world.count(outbox, outbox.c.type == "opinions.completed") == 1
    # A second batch naming a department already recorded is refused whole.
    r = world.review.client.put(url, headers=world.operator, json={"opinions": [
        opinion("police")]})
    assert r.status_code == 422
    assert r.get_json()["errors"]["opinions"][0]["code"] == "opinion.exists"
    assert world.count(Opinion) == 5


# -- the pledge per review session ------------------------------------------------------------

def _secret_of(world: World, app_id: str) -> str:
    with world.review.ctx.db.reader() as session:
        app = session.get(Application, app_id)
        assert app is not None
        return next(d["document_id"] for d in app.documents
                    if d["confidentiality"] == "trade-secret")


def _trade_secret(world: World, app_id: str) -> Any:
    return world.review.client.get(f"/api/dossiers/{app_id}/documents/{_secret_of(world, app_id)}",
                                   headers=world.expert)


def test_one_pledge_per_session_opens_every_dossier_of_the_stage_and_no_other(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[str] = []
    _serve_files(world, monkeypatch, served)
    for app_id in world.apps:
        r = _trade_secret(world, app_id)
        assert r.status_code == 403
        assert r.get_json()["code"] == "dossier.confidentiality_not_acknowledged"
    r = world.review.client.post(f"/api/panels/{world.panel}/pledge", headers=world.expert,
                                 json={"accept": True})
    assert r.status_code == 200, r.get_json()
    made = r.get_json()
    assert made["new"] is True and made["dossiers"] == 3 and made["stage"] == "material"
    assert "本次评审" in made["statement"]
    again = world.review.client.post(f"/api/panels/{world.panel}/pledge", headers=world.expert,
                                     json={"accept": True}).get_json()
    assert again["new"] is False
    [pledged] = world.audit("panel.pledged")  # audited once, not per repeat
    assert pledged["actor"] == "e-zhang" and pledged["target"] == f"panel:{world.panel}"

    for app_id in world.apps:
        assert _trade_secret(world, app_id).status_code == 200
    assert len(served) == 3
    downloads = world.audit("document.downloaded")
    assert len(downloads) == 3 and all(d["detail"]["watermarked"] for d in downloads)
    listed = world.review.client.get("/api/my/dossiers", headers=world.expert).get_json()
    assert {d["application_id"]: d["acknowledged"] for d in listed["items"]} == {
        a: True for a in world.apps}
    # A dossier of the stage served by someone else stays closed: no pledge opens it.
    assert _trade_secret(world, world.stranger).status_code == 404
    # A conflict recorded after the pledge ends access at once, pledge or not.
    with world.review.ctx.db.session() as session:
        session.add(ConflictRecord(id=str(uuid.uuid4()), expert_id=world.expert_id,
                                   application_id=world.apps[2], ground="dispute",
                                   source="operator", reason="合同纠纷", recorded_by="op",
                                   recorded_at=datetime.now(UTC)))
    assert _trade_secret(world, world.apps[2]).status_code == 404
    # The pledge covers its own session: a dossier assigned in another stage asks for its own.
    with world.review.ctx.db.session() as session:
        World._assign(session, world.onsite, world.stranger, world.expert_id)
    r = _trade_secret(world, world.stranger)
    assert r.status_code == 403, r.get_json()


def test_a_stage_that_asks_for_one_pledge_per_dossier_refuses_the_session_pledge(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve_files(world, monkeypatch, [])
    r = world.review.client.put(f"/api/panels/{world.onsite}", headers=world.operator,
                                json={"pledge_scope": "dossier"})
    assert r.status_code == 200 and r.get_json()["pledge_scope"] == "dossier", r.get_json()
    with world.review.ctx.db.session() as session:
        World._assign(session, world.onsite, world.apps[0], world.expert_id)
    r = world.review.client.post(f"/api/panels/{world.onsite}/pledge", headers=world.expert,
                                 json={"accept": True})
    assert r.status_code == 409 and r.get_json()["code"] == "pledge.per_dossier"
    # The material stage's session pledge does not open a dossier the expert also reviews in
    # the stage that asks for one pledge per dossier; the other dossiers it does open.
    assert world.review.client.post(f"/api/panels/{world.panel}/pledge", headers=world.expert,
                                    json={"accept": True}).status_code == 200
    assert _trade_secret(world, world.apps[0]).status_code == 403
    assert _trade_secret(world, world.apps[1]).status_code == 200
    r = world.review.client.post(f"/api/dossiers/{world.apps[0]}/acknowledge",
                                 headers=world.expert, json={"accept": True})
    assert r.status_code == 200 and r.get_json()["acknowledged"] is True
    assert _trade_secret(world, world.apps[0]).status_code == 200


def test_a_session_pledge_for_a_panel_the_expert_does_not_serve_on_is_not_found(
        world: World) -> None:
    r = world.review.client.post(f"/api/panels/{world.onsite}/pledge", headers=world.expert,
                                 json={"accept": True})
    assert r.status_code == 404
    r = world.review.client.post(f"/api/panels/{world.panel}/pledge", headers=world.expert,
                                 json={"accept": False})
    assert r.status_code == 422
    assert world.audit("panel.pledged") == []


def test_the_expert_page_offers_the_session_pledge_once_per_stage(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.review import pages_expert

    # No object store here: an opened dossier lists its documents without counting pages.
    monkeypatch.setattr(pages_expert, "_documents", lambda app: [])
    me = _page_client(world)
    page = _page(me, "/dossiers")
    assert page.count("data-session-pledge=") == 1 and "本次评审" in page
    dossier = _page(me, f"/dossiers/{world.apps[0]}")
    assert "作出本阶段声明并打开申报材料" in dossier
    token = re.search(r'name="csrf_token" value="([^"]+)"', dossier).group(1)  # type: ignore[union-attr]
    r = me.post(f"/panels/{world.panel}/pledge",
                data={"csrf_token": token, "accept": "1", "application_id": world.apps[0]})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/dossiers/{world.apps[0]}")
    assert len(world.audit("panel.pledged")) == 1
    page = _page(me, "/dossiers")
    assert "data-session-pledge=" not in page and "已作出本阶段的公正与保密声明" in page
    assert "作出本阶段声明" not in _page(me, f"/dossiers/{world.apps[1]}")


def test_the_office_sets_a_panel_to_one_pledge_per_dossier_on_its_page(world: World) -> None:
    office = _page_client(world, "operator", "op-page")
    form = _page(office, f"/panels/{world.onsite}/edit")
    assert "每个评审阶段签署一次" in form and "每份申报材料分别签署" in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    r = office.post(f"/panels/{world.onsite}/edit", data={
        "csrf_token": token, "per_application": "1", "max_load": "10", "weight": "1",
        "pledge_scope": "dossier"})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    with world.review.ctx.db.reader() as session:
        panel = session.get(Panel, world.onsite)
        assert panel is not None and panel.pledge_scope == "dossier"
    assert "每份申报材料分别签署" in _page(office, f"/panels/{world.onsite}")


# -- helpers ----------------------------------------------------------------------------------

def _serve_files(world: World, monkeypatch: pytest.MonkeyPatch, served: list[str]) -> None:
    """No object store here: the files' bytes come from a stand-in, watermarking untouched is
    not what these tests prove (the stack tests do)."""
    from services.review import api_dossiers, dossiers

    def fake_open(_store: Any, document: dict[str, Any], stamp: str | None, *_a: Any,
                  **_k: Any) -> Any:
        served.append(document["document_id"])
        yield b"%PDF-1.4 stand-in"

    monkeypatch.setattr(api_dossiers.dossiers, "open_document", fake_open)
    monkeypatch.setattr(dossiers, "check_readable", lambda *_a, **_k: None)


def _page_client(world: World, role: str = "expert", subject: str = "e-zhang") -> Any:
    store = SessionStore(redis.Redis.from_url(world.review.ctx.settings.redis_url,
                                              decode_responses=True), idle=3600, absolute=7200)
    session = store.create(subject=subject, role=role, name="张评审")
    client = world.review.app.test_client()
    client.set_cookie(COOKIE, session.sid)
    return client


def _page(client: Any, path: str) -> str:
    r = client.get(f"{path}?lang=zh-CN")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return str(r.get_data(as_text=True))
