"""Deliveries retry with backoff, end as dead letters an operator sees and retries, never
block each other, and reach the receiver once even when the worker dies mid-send."""

from __future__ import annotations

import itertools
import time
from typing import Any

import requests
from notify_support import (
    MAX_ATTEMPTS,
    RETRY_SECONDS,
    HookSink,
    MailSink,
    Notify,
    Unique,
    start_worker,
)
from waiting import poll


def accepted(owner: str) -> dict[str, Any]:
    return {"application_id": f"app-{owner}", "cycle": "2026", "kind": "organisation",
            "owner": owner, "unit": "140902", "applicant": {}, "documents": []}


def delivery(notify: Notify, recipient: str, channel: str, status: str | None = None
             ) -> dict[str, Any] | None:
    for d in notify.deliveries(recipient=recipient, channel=channel):
        if status is None or d["status"] == status:
            return d
    return None


def test_a_failing_webhook_backs_off_exponentially_then_is_dead_until_an_operator_retries(
        notify: Notify, webhooks: HookSink, unique: Unique) -> None:
    who = unique("flaky-hook")
    path = f"/{who}"
    webhooks.status[path] = 500
    notify.account(who)
    notify.preferences(who, email=False, webhook=True, webhook_url=webhooks.url(path))
    notify.send("packet.accepted", accepted(who), source="intake")

    dead = poll(lambda: delivery(notify, who, "webhook", "dead"), 40, 0.2)
    hits = webhooks.at(path)
    assert len(hits) == dead["attempts"] == MAX_ATTEMPTS
    assert "HTTP 500" in dead["last_error"]
    assert len({h.headers["X-Dossier-Delivery"] for h in hits}) == 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    assert gaps[0] >= RETRY_SECONDS * 0.9
    assert gaps[1] >= 2 * RETRY_SECONDS * 0.9  # doubled
    assert gaps[1] > gaps[0]

    # Dead letters are the operators' business, not the applicant's.
    url = f"{notify.url}/api/deliveries/{dead['id']}/retry"
    denied = requests.post(url, headers=notify.headers("applicant", who), timeout=10)
    assert denied.status_code == 403
    listed = notify.deliveries(status="dead", channel="webhook")
    assert dead["id"] in [d["id"] for d in listed]

    webhooks.status[path] = 204  # the receiving system is fixed
    r = requests.post(url, headers=notify.headers("operator", "op-retry"), timeout=10)
    assert r.status_code == 202, r.text
    sent = poll(lambda: delivery(notify, who, "webhook", "sent"), 30, 0.2)
    assert sent["attempts"] == 1
    assert len(webhooks.at(path)) == MAX_ATTEMPTS + 1
    again = requests.post(url, headers=notify.headers("operator", "op-retry"), timeout=10)
    assert again.status_code == 409
    assert again.json()["code"] == "notify.delivery_not_dead"
    assert again.json()["messages"]["zh-CN"]


def test_smtp_deferrals_retry_and_a_refused_address_is_dead_at_once(
        notify: Notify, smtp: MailSink, unique: Unique) -> None:
    deferred, refused = unique("deferred"), unique("refused")
    smtp.behaviour[f"{deferred}@example.cn"] = ("reply", "451 4.3.0 Mailbox busy, try later")
    smtp.behaviour[f"{refused}@example.cn"] = ("reply", "550 5.1.1 No such user")
    for who in (deferred, refused):
        notify.account(who, email=f"{who}@example.cn")
        notify.send("packet.accepted", accepted(who), source="intake")

    gone = poll(lambda: delivery(notify, refused, "email", "dead"), 30, 0.2)
    assert gone["attempts"] == 1
    assert "550" in gone["last_error"]
    dead = poll(lambda: delivery(notify, deferred, "email", "dead"), 40, 0.2)
    assert dead["attempts"] == MAX_ATTEMPTS
    assert "451" in dead["last_error"]
    assert smtp.to(f"{deferred}@example.cn") == []
    # The inbox message is there regardless of the mail server.
    assert notify.inbox(deferred)["items"][0]["title"] == "申报已受理"


def test_a_hanging_mail_server_does_not_hold_up_the_webhook_or_the_inbox(
        notify: Notify, smtp: MailSink, webhooks: HookSink, unique: Unique) -> None:
    who = unique("hanging-smtp")
    address = f"{who}@example.cn"
    smtp.behaviour[address] = ("slow_rcpt", 30)  # far beyond the 3 s send time-out
    notify.account(who, email=address)
    notify.preferences(who, webhook=True, webhook_url=webhooks.url(f"/{who}"))
    notify.send("packet.accepted", accepted(who), source="intake")

    poll(lambda: webhooks.at(f"/{who}"), 30, 0.1)
    # The webhook went out while the e-mail was still stuck waiting for the server.
    stuck = delivery(notify, who, "email")
    assert stuck is not None and stuck["status"] == "sending" and not stuck["last_error"]
    assert notify.inbox(who)["total"] == 1
    failed = poll(lambda: (d := delivery(notify, who, "email")) and d["last_error"] and d, 30)
    assert "timed out" in failed["last_error"]
    # The stall was a one-off: the retry after the backoff goes through.
    sent = poll(lambda: delivery(notify, who, "email", "sent"), 30, 0.2)
    assert sent["attempts"] == 2
    assert len(smtp.to(address)) == 1


def test_a_redelivered_event_gives_one_message_per_channel(
        notify: Notify, smtp: MailSink, webhooks: HookSink, unique: Unique) -> None:
    who = unique("twice")
    notify.account(who, email=f"{who}@example.cn")
    notify.preferences(who, webhook=True, webhook_url=webhooks.url(f"/{who}"))
    event_id = notify.send_and_wait("packet.accepted", accepted(who), source="intake")
    notify.send_and_wait("packet.accepted", accepted(who), event_id=event_id, source="intake")
    poll(lambda: smtp.to(f"{who}@example.cn") and webhooks.at(f"/{who}"), 30)
    time.sleep(1.0)
    assert len(smtp.to(f"{who}@example.cn")) == 1
    assert len(webhooks.at(f"/{who}")) == 1
    assert notify.inbox(who)["total"] == 1


def kill_and_restart_worker(notify: Notify) -> None:
    worker = notify.stack.procs["notify-worker"]
    worker.kill()
    worker.popen.wait(10)  # type: ignore[union-attr]
    start_worker(notify.stack)


def _kill_mid_send(notify: Notify, smtp: MailSink, who: str, stall: str) -> dict[str, Any]:
    address = f"{who}@example.cn"
    smtp.behaviour[address] = (stall, 2.5)  # inside the 3 s time-out, once
    notify.account(who, email=address)
    notify.send("packet.accepted", accepted(who), source="intake")
    poll(lambda: delivery(notify, who, "email", "sending"), 30, 0.1)
    time.sleep(0.8)  # the worker is now waiting for the server's reply
    kill_and_restart_worker(notify)
    # The redelivered task (same id) takes the delivery back after the visibility timeout.
    return poll(lambda: delivery(notify, who, "email", "sent"), 60, 0.3)


def test_worker_killed_before_the_message_was_handed_over_sends_exactly_once(
        notify: Notify, smtp: MailSink, unique: Unique) -> None:
    who = unique("killed-rcpt")
    sent = _kill_mid_send(notify, smtp, who, "slow_rcpt")
    time.sleep(1.0)
    copies = smtp.to(f"{who}@example.cn")
    assert len(copies) == 1
    assert sent["attempts"] == 2
    assert sent["in_doubt"] is True


def test_worker_killed_while_the_server_held_the_message_resends_the_same_message_id(
        notify: Notify, smtp: MailSink, unique: Unique) -> None:
    # The reply to DATA never reached the dead worker: the one window where nobody can know
    # whether the server kept the message. The resend carries the same Message-ID, so the
    # mailbox (which files by Message-ID) ends up with exactly one message.
    who = unique("killed-data")
    sent = _kill_mid_send(notify, smtp, who, "slow_data")
    time.sleep(1.0)
    copies = smtp.to(f"{who}@example.cn")
    assert 1 <= len(copies) <= 2
    assert len({c.message_id for c in copies}) == 1
    assert len({c.text for c in copies}) == 1
    assert sent["in_doubt"] is True
    assert sent["attempts"] == 2
    # Operators can list the deliveries that were resent after a doubt, and see the totals.
    doubtful = notify.deliveries(in_doubt="true", recipient=who)
    assert [d["id"] for d in doubtful] == [sent["id"]]
    counts = requests.get(f"{notify.url}/api/deliveries/counts",
                          headers=notify.headers("supervisor", "sup"), timeout=10).json()
    assert counts["counts"]["sent"] >= 1


def test_after_a_server_time_out_the_rest_of_the_batch_waits_for_the_next_round(
        notify: Notify, smtp: MailSink, unique: Unique) -> None:
    unit = unique("unit")
    first, second = unique("a-first"), unique("b-second")
    smtp.behaviour[f"{first}@example.cn"] = ("slow_rcpt", 30)  # once, far past the time-out
    for who in (first, second):
        notify.account(who, role="recommender", unit=unit, email=f"{who}@example.cn")
    notify.send("packet.recommended", {
        "application_id": "a-batch", "cycle": "2026", "owner": "x", "applicant_name": "丙",
        "unit": unit, "opinion": "同意", "audience": [{"role": "recommender", "unit": unit}]},
        source="intake")
    done = [poll(lambda w=who: delivery(notify, w, "email", "sent"), 40, 0.2)
            for who in (first, second)]
    # The second message was not tried on the hung connection, only in the next round.
    assert [d["attempts"] for d in done] == [2, 2]
    assert len(smtp.to(f"{first}@example.cn")) == len(smtp.to(f"{second}@example.cn")) == 1
