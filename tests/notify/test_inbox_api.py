"""The inbox and preference endpoints: paged, scoped to the caller, clear errors, audited."""

from __future__ import annotations

import requests
from notify_support import Notify, Unique
from sqlalchemy import text


def accepted(owner: str, n: int) -> dict[str, object]:
    return {"application_id": f"app-{n}", "cycle": "2026", "kind": "organisation",
            "owner": owner, "unit": "140902", "applicant": {}, "documents": []}


def test_the_inbox_pages_filters_and_counts_unread(notify: Notify, unique: Unique) -> None:
    me = unique("reader")
    for n in range(3):
        notify.send_and_wait("packet.accepted", accepted(me, n), source="intake")
    notify.send_and_wait("packet.rejected", {"application_id": "x", "cycle": "2026",
                                             "owner": me, "applicant_name": "甲",
                                             "reasons": []}, source="intake")
    page = notify.inbox(me, per_page=2, page=1)
    assert page["total"] == 4 and page["unread"] == 4 and len(page["items"]) == 2
    assert page["items"][0]["event_type"] == "packet.rejected"  # newest first
    assert notify.inbox(me, per_page=2, page=2)["items"][1]["refs"]["application_id"] == "app-0"
    assert notify.inbox(me, event_type="packet.accepted")["total"] == 3

    h = notify.headers("applicant", me)
    first = page["items"][0]["id"]
    r = requests.post(f"{notify.url}/api/inbox/{first}/read", headers=h, timeout=10)
    assert r.status_code == 200 and r.json()["read"] is True
    assert notify.inbox(me)["unread"] == 3
    assert notify.inbox(me, unread="false")["total"] == 1
    r = requests.post(f"{notify.url}/api/inbox/read-all", headers=h, timeout=10)
    assert r.json() == {"marked": 3}
    assert notify.inbox(me)["unread"] == 0


def test_someone_elses_message_is_not_found(notify: Notify, unique: Unique) -> None:
    owner, other = unique("owner"), unique("other")
    notify.send_and_wait("packet.accepted", accepted(owner, 1), source="intake")
    message = notify.inbox(owner)["items"][0]["id"]
    r = requests.post(f"{notify.url}/api/inbox/{message}/read",
                      headers=notify.headers("applicant", other), timeout=10)
    assert r.status_code == 404
    assert r.json()["code"] == "http.not_found"
    assert notify.inbox(other)["total"] == 0
    assert notify.inbox(owner)["unread"] == 1


def test_turning_on_webhooks_without_an_address_is_refused_in_both_languages(
        notify: Notify, unique: Unique) -> None:
    me = unique("no-url")
    r = requests.put(f"{notify.url}/api/preferences", json={"webhook": True},
                     headers=notify.headers("applicant", me), timeout=10)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "notify.webhook_url_missing"
    assert "Webhook" in body["messages"]["zh-CN"] and "webhook URL" in body["messages"]["en"]
    bad = requests.put(f"{notify.url}/api/preferences",
                       json={"language": "fr", "webhook_url": "ftp://x"},
                       headers=notify.headers("applicant", me), timeout=10)
    assert bad.status_code == 422 and bad.json()["code"] == "validation.failed"
    assert set(bad.json()["errors"]["json"]) == {"language", "webhook_url"}


def test_operators_manage_others_preferences_and_the_change_is_audited(
        notify: Notify, unique: Unique) -> None:
    who = unique("managed")
    notify.account(who, email=f"{who}@example.cn", language="en")
    url = f"{notify.url}/api/recipients/{who}/preferences"
    denied = requests.put(url, json={"email": False},
                          headers=notify.headers("applicant", unique("nosy")), timeout=10)
    assert denied.status_code == 403
    r = requests.put(url, json={"email": False}, headers=notify.headers("operator", "op-1"),
                     timeout=10)
    assert r.status_code == 200, r.text
    assert r.json() | {"webhook_secret": None} == {
        "subject": who, "inbox": True, "email": False, "email_address": f"{who}@example.cn",
        "webhook": False, "webhook_url": None, "webhook_secret": None, "language": "en",
        "muted": []}
    assert requests.get(url, headers=notify.headers("operator", "op-1"),
                        timeout=10).json()["email"] is False
    with notify.engine.connect() as conn:
        rows = conn.execute(text("SELECT actor, action FROM audit_log WHERE target = :t"),
                            {"t": f"recipient:{who}"}).all()
    assert [(r.actor, r.action) for r in rows] == [("op-1", "notify.preferences")]


def test_only_operators_and_supervisors_see_deliveries(notify: Notify, unique: Unique) -> None:
    for role, status in (("applicant", 403), ("expert", 403), ("supervisor", 200),
                         ("operator", 200)):
        r = requests.get(f"{notify.url}/api/deliveries",
                         headers=notify.headers(role, unique(role)), timeout=10)
        assert r.status_code == status, role
    r = requests.get(f"{notify.url}/api/deliveries", params={"status": "lost"},
                     headers=notify.headers("operator", "op"), timeout=10)
    assert r.status_code == 422
