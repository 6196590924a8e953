"""Events reach exactly the people their audience names: a subject, a role, or a role in one
recommending unit, through the directory fed by `account.saved`."""

from __future__ import annotations

import time

from notify_support import Notify, Unique


def test_a_submission_reaches_its_owner_and_the_recommender_of_its_unit_only(
        notify: Notify, unique: Unique) -> None:
    owner = unique("owner")
    unit, other_unit = unique("u"), unique("v")
    here, there, retired = unique("rec-here"), unique("rec-there"), unique("rec-retired")
    notify.account(here, role="recommender", unit=unit)
    notify.account(there, role="recommender", unit=other_unit)
    notify.account(retired, role="recommender", unit=unit, active=False)
    notify.send_and_wait("packet.submitted", {
        "application_id": "a-aud", "cycle": "2026", "kind": "organisation", "owner": owner,
        "applicant_name": "受众测试有限公司", "unit": unit, "route": "county", "submission": 1,
        "documents": []}, source="intake")
    assert notify.inbox(owner)["total"] == 1
    [message] = notify.inbox(here, "recommender")["items"]
    assert message["title"] == "申报材料已提交：受众测试有限公司"
    assert notify.inbox(there, "recommender")["total"] == 0
    assert notify.inbox(retired, "recommender")["total"] == 0


def test_a_producer_audience_overrides_the_defaults(notify: Notify, unique: Unique) -> None:
    owner, supervisor = unique("owner"), unique("sup")
    notify.account(supervisor, role="supervisor")
    notify.send_and_wait("packet.rejected", {
        "application_id": "a-x", "cycle": "2026", "owner": owner, "applicant_name": "甲",
        "reasons": ["材料不实"], "audience": [{"subject": supervisor}]}, source="intake")
    assert notify.inbox(supervisor, "supervisor")["total"] == 1
    assert notify.inbox(owner)["total"] == 0


def test_an_account_change_moves_the_person_to_their_new_unit(
        notify: Notify, unique: Unique) -> None:
    who, old, new = unique("mover"), unique("o"), unique("n")
    notify.account(who, role="recommender", unit=old)
    notify.account(who, role="recommender", unit=new, language="en")
    for unit in (old, new):
        notify.send_and_wait("packet.recommended", {
            "application_id": f"a-{unit}", "cycle": "2026", "owner": "x",
            "applicant_name": "乙", "unit": unit, "opinion": "同意",
            "audience": [{"role": "recommender", "unit": unit}]}, source="intake")
    time.sleep(0.2)
    items = notify.inbox(who, "recommender")["items"]
    assert [m["refs"]["application_id"] for m in items] == [f"a-{new}"]
