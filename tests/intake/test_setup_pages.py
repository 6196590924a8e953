"""The office's set-up pages in process: award cycles, recommending units, waivers and the
first-run checklist, each page calling the same domain function as the API."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from inprocess import InProcess, service_app
from sqlalchemy import text

from dossier.localstack import BackingServers
from shared.web.sessions import COOKIE, SessionStore


def _valid_uscc() -> str:
    from services.intake.identifiers import is_valid_uscc
    # The first code of a small family that passes GB 32100's check character.
    for last in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        code = f"91140900MA0K1ABC1{last}"
        if is_valid_uscc(code):
            return code
    raise AssertionError("no valid code")


class Office:
    """A signed-in browser session on the in-process intake app (cookie in Redis)."""

    def __init__(self, intake: InProcess, role: str = "operator", subject: str = "op-setup",
                 scope: dict[str, Any] | None = None) -> None:
        self.intake = intake
        store = SessionStore(redis.Redis.from_url(intake.ctx.settings.redis_url,
                                                  decode_responses=True),
                             idle=3600, absolute=7200)
        session = store.create(subject=subject, role=role, name="办公室", scope=scope)
        self.csrf = session.csrf
        self.client = intake.app.test_client()
        self.client.set_cookie(COOKIE, session.sid)
        self.client.set_cookie("lang", "zh-CN")

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, Any]) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **data})


@pytest.fixture
def intake(backing: BackingServers, tmp_path: Path) -> InProcess:
    return service_app(backing, tmp_path, "intake")


def _events(intake: InProcess, event_type: str) -> list[dict[str, Any]]:
    with intake.ctx.db.reader() as session:
        rows = session.execute(text("SELECT payload FROM outbox WHERE type = :t ORDER BY seq"),
                               {"t": event_type}).scalars()
        return [(r if isinstance(r, dict) else json.loads(r))["payload"]
                for r in rows]


def _audit(intake: InProcess, action: str) -> list[str]:
    with intake.ctx.db.reader() as session:
        return list(session.execute(text("SELECT target FROM audit_log WHERE action = :a"),
                                    {"a": action}).scalars())


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="e-{re.escape(name)}">([^<]*)</p>', html)
    assert found, f"no error next to {name}"
    return found.group(1)


CYCLE_FORM = {"title": "第三届忻州市市长质量奖", "year": "2027", "status": "open",
              "opens_on": "2027-03-01", "closes_on": "2027-05-31", "caps_awards": "3",
              "caps_nominations": "10", "catalogue": "quality-award-2025",
              "stage_material": "1", "stage_material_starts_on": "2027-06-10",
              "stage_material_ends_on": "2027-06-30", "stage_defence": "1",
              "stage_defence_starts_on": "2027-07-15"}


def test_the_cycle_form_creates_a_cycle_with_a_readable_id_announced_with_its_stages(
        intake: InProcess) -> None:
    office = Office(intake)
    r = office.post("/office/cycles/new", CYCLE_FORM)
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    assert r.headers["Location"].endswith("/office/setup?cycle=2027")

    sent = _events(intake, "cycle.saved")
    assert [p["cycle"] for p in sent] == ["2027"]
    assert sent[0]["title"] == "第三届忻州市市长质量奖"
    assert sent[0]["catalogue"] == "quality-award-2025"
    assert sent[0]["stages"] == [
        {"stage": "material", "starts_on": "2027-06-10", "ends_on": "2027-06-30"},
        {"stage": "defence", "starts_on": "2027-07-15", "ends_on": None}]
    assert _audit(intake, "cycle.created") == ["cycle:2027"]

    # The edit page is titled by the cycle's name, never its id; the API reads the same cycle.
    page = office.get("/office/cycles/2027").get_data(as_text=True)
    assert "<title>第三届忻州市市长质量奖" in page and "<h1>第三届忻州市市长质量奖</h1>" in page
    api = intake.client.get("/api/cycles/2027", headers=intake.auth("operator", "op-setup"))
    assert api.get_json()["stages"][1]["stage"] == "defence"

    # A second cycle of the same year gets the next readable id.
    r = office.post("/office/cycles/new", {**CYCLE_FORM, "title": "第三届（补充）"})
    assert r.status_code == 303 and r.headers["Location"].endswith("cycle=2027-2")

    # Editing through the page changes the same record; an unchanged save announces nothing.
    r = office.post("/office/cycles/2027", {**CYCLE_FORM, "caps_awards": "2"})
    assert r.status_code == 303
    r = office.post("/office/cycles/2027", {**CYCLE_FORM, "caps_awards": "2"})
    assert r.status_code == 303
    caps = [p["caps"]["awards"] for p in _events(intake, "cycle.saved") if p["cycle"] == "2027"]
    assert caps == [3, 2]


def test_the_cycle_form_shows_each_problem_in_chinese_next_to_its_field(
        intake: InProcess) -> None:
    office = Office(intake)
    r = office.post("/office/cycles/new", {**CYCLE_FORM, "title": "", "caps_awards": "5",
                                           "caps_nominations": "12"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "名称" in _field_error(html, "title")
    assert "3" in _field_error(html, "caps_awards") and "办法" in _field_error(html,
                                                                             "caps_awards")
    assert "10" in _field_error(html, "caps_nominations")
    assert 'value="5"' in html  # what was typed stays in the form

    r = office.post("/office/cycles/new", {**CYCLE_FORM, "closes_on": "2027-02-01"})
    assert r.status_code == 422
    assert "早于" in _field_error(r.get_data(as_text=True), "closes_on")

    r = office.post("/office/cycles/new", {**CYCLE_FORM, "stage_material_starts_on":
                                           "2027-05-01"})
    assert r.status_code == 422
    assert "申报期" in _field_error(r.get_data(as_text=True), "stage_material_starts_on")
    assert _events(intake, "cycle.saved") == []


def test_the_api_and_the_page_refuse_the_same_cycle_for_the_same_reason(
        intake: InProcess) -> None:
    body = {"year": 2027, "title": "第三届", "opens_on": "2027-03-01",
            "closes_on": "2027-05-31", "caps": {"awards": 4, "nominations": 10}}
    r = intake.client.put("/api/cycles/c27", json=body,
                          headers=intake.auth("operator", "op-1"))
    assert r.status_code == 422
    assert "caps_awards" in r.get_json()["errors"]
    r = intake.client.put("/api/cycles/c27", json={**body, "caps": {"awards": 3,
                                                                    "nominations": 10},
                                                  "stages": [{"stage": "defence"}]},
                          headers=intake.auth("operator", "op-1"))
    assert r.status_code == 422 and "stages" in r.get_json()["errors"]


def test_units_come_from_the_table_seeded_from_the_file_and_every_reader_sees_edits(
        intake: InProcess) -> None:
    staff = intake.auth("operator", "op-1")

    def listed() -> dict[str, str]:
        r = intake.client.get("/api/units", query_string={"per_page": 200}, headers=staff)
        return {u["code"]: u["name"] for u in r.get_json()["items"]}

    seeded = listed()
    assert len(seeded) == 28 and seeded["140902"] == "忻府区"

    office = Office(intake)
    r = office.post("/office/units/140902", {"name": "忻府区市场监督管理局", "name_en":
                                             "Xinfu District AMR", "kind": "county",
                                             "active": "1"})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    assert listed()["140902"] == "忻府区市场监督管理局"
    # Deactivated: no longer offered, no new recommender account may belong to it.
    r = office.post("/office/units/IND-GX", {"name": "忻州市工业和信息化局", "kind": "industry"})
    assert r.status_code == 303
    assert "IND-GX" not in listed()
    r = intake.client.put("/api/accounts/rec-gx", headers=staff, json={
        "role": "recommender", "name": "工信局推荐人", "unit": "IND-GX"})
    assert r.status_code == 422 and r.get_json()["code"] == "account.unit_unknown"
    # …but its name still shows on the units page, marked deactivated.
    page = office.get("/office/units").get_data(as_text=True)
    assert "已停用" in page and "忻州市工业和信息化局" in page

    r = office.post("/office/units/new", {"code": "XZ-NEW", "name": "忻州综合保税区管委会",
                                          "kind": "zone", "active": "1"})
    assert r.status_code == 303
    assert listed()["XZ-NEW"] == "忻州综合保税区管委会"
    r = office.post("/office/units/new", {"code": "XZ-NEW", "name": "另一个", "kind": "zone"})
    assert r.status_code == 422
    assert "已有" in _field_error(r.get_data(as_text=True), "code")

    assert sorted(_audit(intake, "unit.updated")) == ["unit:140902", "unit:IND-GX"]
    assert _audit(intake, "unit.created") == ["unit:XZ-NEW"]


def test_a_waiver_is_recorded_on_the_page_and_listed_for_its_cycle(intake: InProcess) -> None:
    office = Office(intake)
    assert office.post("/office/cycles/new", CYCLE_FORM).status_code == 303
    code = _valid_uscc()
    r = office.post("/office/cycles/2027/waivers", {"credit_code": "9114 0900 MA0K 1ABC 1X",
                                                    "reference": "忻政函〔2027〕15号"})
    assert r.status_code == 422
    assert _field_error(r.get_data(as_text=True), "credit_code")
    r = office.post("/office/cycles/2027/waivers", {"credit_code": code, "reference": ""})
    assert r.status_code == 422
    assert "文号" in _field_error(r.get_data(as_text=True), "reference")

    r = office.post("/office/cycles/2027/waivers", {"credit_code": code.lower(),
                                                    "reference": "忻政函〔2027〕15号"})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    page = office.get("/office/cycles/2027/waivers").get_data(as_text=True)
    assert code in page and "忻政函〔2027〕15号" in page
    api = intake.client.get("/api/cycles/2027/waivers", headers=intake.auth("operator", "o"))
    assert [w["credit_code"] for w in api.get_json()["items"]] == [code]
    assert _audit(intake, "waiver.recorded") == [f"waiver:2027:{code}"]
    # A supervisor reads the list but gets no form, and cannot post one.
    watcher = Office(intake, role="supervisor", subject="sup-1")
    assert "credit_code" not in watcher.get("/office/cycles/2027/waivers").get_data(
        as_text=True)
    assert watcher.post("/office/cycles/2027/waivers", {"credit_code": code,
                                                        "reference": "x"}).status_code == 403


def _steps(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="([a-z]+)" data-done="(yes|no)"', html))


def test_the_checklist_says_what_is_still_to_do_and_updates_as_it_is_done(
        intake: InProcess) -> None:
    office = Office(intake)
    first = office.get("/office/setup").get_data(as_text=True)
    assert _steps(first) == {"cycle": "no", "catalogue": "no", "units": "yes",
                             "recommenders": "no", "supervisor": "no", "experts": "no",
                             "waivers": "no"}
    assert "尚未设立评选届次" in first and "/office/cycles/new" in first
    assert "/review/experts" in first

    assert office.post("/office/cycles/new", {**CYCLE_FORM, "status": "planned",
                                              "catalogue": ""}).status_code == 303
    steps = _steps(office.get("/office/setup").get_data(as_text=True))
    assert (steps["cycle"], steps["catalogue"]) == ("no", "no")
    assert office.post("/office/cycles/2027", CYCLE_FORM).status_code == 303
    staff = intake.auth("operator", "op-1")
    for subject, role in (("sup-1", "supervisor"), ("exp-1", "expert")):
        assert intake.client.put(f"/api/accounts/{subject}", headers=staff, json={
            "role": role, "name": "某某"}).status_code == 200
    # Every unit but one gets a recommender; the checklist names the one left.
    with intake.ctx.db.session() as session:
        from services.intake.models import RecommendingUnit
        session.query(RecommendingUnit).filter(RecommendingUnit.code.notin_(
            ("140902", "140981"))).update({"active": False})
    assert intake.client.put("/api/accounts/rec-1", headers=staff, json={
        "role": "recommender", "name": "忻府区推荐人", "unit": "140902"}).status_code == 200
    html = office.get("/office/setup").get_data(as_text=True)
    steps = _steps(html)
    assert {k: steps[k] for k in ("cycle", "catalogue", "supervisor", "experts",
                                  "recommenders")} == {
        "cycle": "yes", "catalogue": "yes", "supervisor": "yes", "experts": "yes",
        "recommenders": "no"}
    assert "原平市" in html and "第三届忻州市市长质量奖" in html


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_set_up_page_is_translated(intake: InProcess, lang: str) -> None:
    office = Office(intake)
    assert office.post("/office/cycles/new", CYCLE_FORM).status_code == 303
    for path in ("/office/setup", "/office/cycles", "/office/cycles/new", "/office/cycles/2027",
                 "/office/cycles/2027/waivers", "/office/units", "/office/units/new",
                 "/office/units/140902", "/office/acceptance"):
        r = office.get(f"{path}?lang={lang}")
        assert r.status_code == 200, (path, r.status_code)
        html = r.get_data(as_text=True)
        assert "[[untranslated" not in html, (path, re.findall(r"\[\[untranslated: [^\]]*\]\]",
                                                               html))


def test_the_applicant_keeps_its_related_parties_on_the_details_form(
        intake: InProcess) -> None:
    from intake.flows import new_uscc
    office = Office(intake)
    today = date.today()
    assert office.post("/office/cycles/new", {
        **CYCLE_FORM, "year": str(today.year), "opens_on": today.isoformat(),
        "closes_on": (today + timedelta(days=30)).isoformat(),
        "stage_material_starts_on": "", "stage_material_ends_on": "",
        "stage_defence_starts_on": ""}).status_code == 303
    me = intake.auth("applicant", "app-rel")
    r = intake.client.post("/api/applications", headers=me, json={
        "cycle": str(today.year), "kind": "organisation", "name": "忻州市示例机械有限公司",
        "credit_code": new_uscc(), "county": "140902", "industry": "装备制造",
        "founded_on": "2015-06-01", "legal_representative": "张三"})
    assert r.status_code == 201, r.get_data(as_text=True)
    app_id = r.get_json()["id"]
    applicant = Office(intake, role="applicant", subject="app-rel")
    parent = new_uscc()
    details = {"name": "忻州市示例机械有限公司", "county": "140902", "industry": "装备制造",
               "legal_representative": "张三", "credit_code": r.get_json()["credit_code"]}

    r = applicant.post(f"/packets/{app_id}/details", {**details, "related": "只有名称"})
    assert r.status_code == 422
    assert "关系" in _field_error(r.get_data(as_text=True), "related")

    r = applicant.post(f"/packets/{app_id}/details", {
        **details,
        "related": f"忻州某集团有限公司，{parent}，控股股东\n忻州某研究院, 技术合作方\n"})
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    got = intake.client.get(f"/api/applications/{app_id}", headers=me).get_json()["related"]
    assert got == [{"name": "忻州某集团有限公司", "credit_code": parent, "relation": "控股股东"},
                   {"name": "忻州某研究院", "credit_code": None, "relation": "技术合作方"}]
    page = applicant.get(f"/packets/{app_id}").get_data(as_text=True)
    assert f"忻州某集团有限公司，{parent}，控股股东" in page


def test_the_units_api_and_page_share_one_rule_and_one_record(intake: InProcess) -> None:
    staff = intake.auth("operator", "op-1")
    r = intake.client.put("/api/units/XZ-BSQ", headers=staff, json={
        "kind": "zone", "name": "忻州综合保税区管委会"})
    assert r.status_code == 200 and r.get_json()["route"] == "county"
    r = intake.client.put("/api/units/XZ-DUP", headers=staff, json={
        "kind": "zone", "name": "忻州综合保税区管委会"})
    assert r.status_code == 422 and "name" in r.get_json()["errors"]
    assert intake.client.put("/api/units/XZ-BSQ", headers=intake.auth("recommender", "r"),
                             json={"kind": "zone", "name": "x"}).status_code == 403
    page = Office(intake).get("/office/units/XZ-BSQ").get_data(as_text=True)
    assert "<h1>忻州综合保税区管委会</h1>" in page
    assert _audit(intake, "unit.created") == ["unit:XZ-BSQ"]
