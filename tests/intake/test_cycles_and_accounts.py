"""Cycles, the unit list and accounts: who may change them, what is announced, how lists page."""

from __future__ import annotations

from dossier.localstack import AppStack

from .flows import Intake, outbox, unique
from .test_applications import problem


def test_a_cycle_has_default_caps_and_is_announced_once_per_change(
        intake: Intake, stack: AppStack) -> None:
    cycle = intake.open_cycle(year=2025)
    assert cycle["caps"] == {"awards": 3, "nominations": 10}
    again = intake.call("PUT", f"/cycles/{cycle['id']}", intake.operator,
                        json={"status": "open"})
    assert again.status_code == 200
    changed = intake.call("PUT", f"/cycles/{cycle['id']}", intake.operator,
                          json={"caps": {"awards": 2, "nominations": 6}})
    assert changed.json()["caps"] == {"awards": 2, "nominations": 6}
    sent = [p for p in outbox(stack, "cycle.saved") if p["cycle"] == cycle["id"]]
    assert [p["caps"] for p in sent] == [{"awards": 3, "nominations": 10},
                                         {"awards": 2, "nominations": 6}]
    assert sent[0]["year"] == 2025 and sent[0]["status"] == "open"


def test_only_the_office_configures_cycles_and_bad_windows_are_refused(intake: Intake) -> None:
    problem(intake.call("PUT", "/cycles/x1", intake.as_("applicant", "a"),
                        json={"status": "open"}), 403, "auth.forbidden")
    problem(intake.call("PUT", "/cycles/x1", intake.as_("recommender", "r"),
                        json={"status": "open"}), 403, "auth.forbidden")
    problem(intake.call("PUT", f"/cycles/{unique('w')[:20]}", intake.operator,
                        json={"year": 2026, "title": "t", "opens_on": "2026-05-01",
                              "closes_on": "2026-04-01"}), 422, "cycle.window_invalid")
    problem(intake.call("PUT", f"/cycles/{unique('w')[:20]}", intake.operator,
                        json={"status": "open"}), 422, "validation.failed")


def test_cycles_are_listed_in_pages_and_filtered(intake: Intake) -> None:
    programme = unique("prog")
    for year in (2019, 2022, 2025):
        intake.open_cycle(unique(str(year))[:20], year=year, programme=programme)
    me = intake.as_("applicant", unique("a"))
    page = intake.call("GET", "/cycles", me, params={"programme": programme, "per_page": 2})
    body = page.json()
    assert (body["total"], len(body["items"])) == (3, 2)
    assert [c["year"] for c in body["items"]] == [2025, 2022]
    only = intake.call("GET", "/cycles", me, params={"programme": programme, "year": 2019})
    assert [c["year"] for c in only.json()["items"]] == [2019]


def test_the_unit_list_comes_from_data_and_filters_by_route(intake: Intake) -> None:
    me = intake.as_("applicant", unique("a"))
    counties = intake.call("GET", "/units", me, params={"route": "county", "per_page": 200})
    names = {u["name"] for u in counties.json()["items"]}
    assert {"忻府区", "偏关县", "忻州经济开发区管委会", "五台山风景名胜区管委会"} <= names
    assert counties.json()["total"] == 16
    industry = intake.call("GET", "/units", me, params={"route": "industry"}).json()
    assert all(u["kind"] == "industry" for u in industry["items"]) and industry["total"] >= 8


def test_accounts_are_saved_by_operators_and_announced_for_notify(
        intake: Intake, stack: AppStack) -> None:
    subject = unique("rec")
    r = intake.call("PUT", f"/accounts/{subject}", intake.operator,
                    json={"role": "recommender", "name": "原平市市场监督管理局",
                          "email": "yp@example.org", "unit": "140981"})
    assert r.status_code == 200, r.text
    [sent] = [p for p in outbox(stack, "account.saved") if p["subject"] == subject]
    assert (sent["role"], sent["unit"], sent["language"], sent["active"]) == (
        "recommender", "140981", "zh-CN", True)
    problem(intake.call("PUT", f"/accounts/{unique('rec')}", intake.operator,
                        json={"role": "recommender", "name": "x", "unit": "000000"}), 422,
            "account.unit_unknown")
    problem(intake.call("PUT", f"/accounts/{unique('op')}", intake.operator,
                        json={"role": "operator", "name": "x", "unit": "140981"}), 422,
            "account.unit_not_allowed")
    listed = intake.call("GET", "/accounts", intake.as_("supervisor", "s"),
                         params={"unit": "140981", "role": "recommender"}).json()
    assert subject in [a["subject"] for a in listed["items"]]
    problem(intake.call("GET", "/accounts", intake.as_("applicant", "a")), 403,
            "auth.forbidden")


def test_a_disabled_recommender_loses_its_jurisdiction_at_once(intake: Intake) -> None:
    subject = unique("rec")
    token = intake.recommender("140902", subject)
    assert intake.call("GET", "/applications", token).status_code == 200
    intake.call("PUT", f"/accounts/{subject}", intake.operator,
                json={"role": "recommender", "name": "赵停用", "unit": "140902", "active": False})
    # The guard refuses the disabled account's token outright, before intake's own check.
    problem(intake.call("GET", "/applications", token), 401, "auth.account_disabled")


def test_an_applicant_registers_its_own_account_and_only_as_an_applicant(
        intake: Intake, stack: AppStack) -> None:
    subject = unique("self")
    me = intake.as_("applicant", subject)
    r = intake.call("PUT", "/accounts/me", me,
                    json={"name": "李四", "email": "li@example.org", "language": "en"})
    assert r.status_code == 200, r.text
    assert (r.json()["role"], r.json()["unit"]) == ("applicant", None)
    problem(intake.call("PUT", "/accounts/me", me, json={"name": "x", "role": "operator"}),
            422, "validation.failed")
    [sent] = [p for p in outbox(stack, "account.saved") if p["subject"] == subject]
    assert sent["language"] == "en" and sent["audience"] == [{"subject": subject}]


def test_the_submission_event_carries_the_frozen_manifest(intake: Intake,
                                                          stack: AppStack) -> None:
    from .test_routing import prepared

    cycle = intake.open_cycle()["id"]
    me, app_id = prepared(intake, cycle)
    assert intake.submit(me, app_id).status_code == 200
    [sent] = [p for p in outbox(stack, "packet.submitted") if p["application_id"] == app_id]
    assert (sent["route"], sent["unit"], sent["submission"]) == ("county", "140902", 1)
    assert {d["requirement"] for d in sent["documents"]} == {"self-evaluation",
                                                             "publicity-proof"}
    assert all(d["object_version"] and len(d["sha256"]) == 64 for d in sent["documents"])
    assert {"role": "recommender", "unit": "140902"} in sent["audience"]
