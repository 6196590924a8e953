"""E-mail and signed webhooks reach each person in their language, once, as they chose."""

from __future__ import annotations

import hashlib
import hmac
import time

from notify_support import HookSink, MailSink, Notify, Unique
from waiting import poll


def verify_signature(secret: str, header: str, body: bytes) -> bool:
    """A receiver's check, written from the documented scheme, not from our code."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def settled(owner: str, met: int) -> dict[str, object]:
    """The owner's uploads have all been inspected: the one message for all of them."""
    return {"application_id": f"app-{owner}", "cycle": "2026", "owner": owner,
            "status": "incomplete",
            "counts": {"met": met, "missing": 2, "invalid": 0, "attention": 0},
            "missing": ["a", "b"], "report_id": "r-1", "submission": 0, "settled": True}


def test_each_recipient_gets_one_email_in_their_own_language(
        notify: Notify, smtp: MailSink, unique: Unique) -> None:
    zh, en = unique("zh-user"), unique("en-user")
    notify.account(zh, email=f"{zh}@example.cn", language="zh-CN")
    notify.account(en, email=f"{en}@example.com", language="en")
    notify.send("packet.checked", settled(zh, 7), source="documents")
    notify.send("packet.checked", settled(en, 4), source="documents")

    [chinese] = poll(lambda: smtp.to(f"{zh}@example.cn"), 30)
    [english] = poll(lambda: smtp.to(f"{en}@example.com"), 30)
    assert chinese.message["Subject"] == "上传的材料已检查完毕"
    assert "尚有 2 项材料未上传" in chinese.text
    assert english.message["Subject"] == "Your uploads have been checked"
    assert "2 item(s) still to upload" in english.text
    assert chinese.message["Message-ID"] != english.message["Message-ID"]
    assert chinese.message["Auto-Submitted"] == "auto-generated"
    # The inbox holds both languages whatever the e-mail language was.
    assert notify.inbox(zh, lang="en")["items"][0]["title"] == "Your uploads have been checked"
    sent = poll(lambda: [d for d in notify.deliveries(recipient=zh) if d["status"] == "sent"])
    assert sent[0]["channel"] == "email" and sent[0]["attempts"] == 1
    assert sent[0]["target"] != f"{zh}@example.cn"  # masked for operators


def test_a_webhook_is_signed_so_the_receiver_can_verify_it(
        notify: Notify, webhooks: HookSink, smtp: MailSink, unique: Unique) -> None:
    who = unique("gov-system")
    path = f"/hooks/{who}"
    notify.account(who, role="recommender", email=None, unit="140902")
    prefs = notify.preferences(who, role="recommender", webhook=True,
                               webhook_url=webhooks.url(path))
    secret = prefs["webhook_secret"]
    assert secret and prefs["webhook"] is True
    event_id = notify.send("packet.submitted", {
        "application_id": "app-hook", "cycle": "2026", "kind": "organisation", "owner": "x",
        "applicant_name": "忻州示例有限公司", "unit": "140902", "route": "county",
        "submission": 1, "documents": [], "audience": [{"role": "recommender",
                                                         "unit": "140902"}]}, source="intake")

    [hook] = poll(lambda: webhooks.at(path), 30)
    assert verify_signature(secret, hook.headers["X-Dossier-Signature"], hook.body)
    assert not verify_signature(secret, hook.headers["X-Dossier-Signature"],
                                hook.body.replace("忻州".encode(), "太原".encode()))
    body = hook.json()
    assert body["event"] == {"id": event_id, "type": "packet.submitted"}
    assert body["title"] == "申报材料已提交：忻州示例有限公司"
    assert body["references"]["application_id"] == "app-hook"
    assert hook.headers["X-Dossier-Delivery"] == body["id"]
    # The secret is shown once, never again.
    again = notify.preferences(who, role="recommender")
    assert again["webhook_secret"] is None


def test_preferences_decide_the_channels_and_the_inbox_is_always_on(
        notify: Notify, smtp: MailSink, webhooks: HookSink, unique: Unique) -> None:
    quiet, muted, both = unique("quiet"), unique("muted"), unique("both")
    for who in (quiet, muted, both):
        notify.account(who, email=f"{who}@example.cn")
    notify.preferences(quiet, email=False)
    notify.preferences(muted, muted=["packet.accepted"])
    notify.preferences(both, language="en", webhook=True, webhook_url=webhooks.url(f"/{both}"))
    for who in (quiet, muted, both):
        notify.send("packet.accepted", {"application_id": f"a-{who}", "cycle": "2026",
                                        "kind": "organisation", "owner": who, "unit": "140902",
                                        "applicant": {}, "documents": []}, source="intake")
    poll(lambda: smtp.to(f"{both}@example.cn") and webhooks.at(f"/{both}"), 30)
    assert smtp.to(f"{both}@example.cn")[0].message["Subject"] == "Application accepted"
    assert webhooks.at(f"/{both}")[0].json()["language"] == "en"
    for who in (quiet, muted):
        assert notify.inbox(who)["items"][0]["title"] == "申报已受理"
    time.sleep(1.0)  # the relay polls every 0.1 s: anything queued would have gone by now
    assert smtp.to(f"{quiet}@example.cn") == []
    assert smtp.to(f"{muted}@example.cn") == []
    assert notify.deliveries(recipient=quiet) == []
