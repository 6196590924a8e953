"""No notification carries trade-secret content, identity data or an objection reporter's
identity — in the inbox, in e-mail or in a webhook — even when a producer slips them in."""

from __future__ import annotations

from pathlib import Path

from notify_support import HookSink, MailSink, Notify, Unique
from waiting import poll

from services.notify.confidentiality import safe_context
from services.notify.messages import render

REPORTER = {"reporter": {"name": "举报人王五", "phone": "13912345678"},
            "reporter_name": "举报人王五", "contact": "wangwu@example.cn"}
SECRETS = ("举报人王五", "13912345678", "wangwu@example.cn", "核心工艺配方", "91140900MA0K7Q1X2B",
           "idx-5f2c9a", "secret_pages")


def everything_sent_to(notify: Notify, smtp: MailSink, webhooks: HookSink, who: str,
                       role: str) -> str:
    inbox = notify.inbox(who, role)["items"] + notify.inbox(who, role, lang="en")["items"]
    texts = [m["title"] + m["body"] + str(m["refs"]) for m in inbox]
    texts += [m.message.as_string() + m.text for m in smtp.to(f"{who}@example.cn")]
    texts += [h.body.decode() + str(h.headers) for h in webhooks.at(f"/{who}")]
    return "\n".join(texts)


def test_an_objection_notice_never_names_the_reporter_even_if_the_payload_does(
        notify: Notify, smtp: MailSink, webhooks: HookSink, unique: Unique) -> None:
    op = unique("op-objection")
    notify.account(op, role="operator", email=f"{op}@example.cn")
    notify.preferences(op, role="operator", webhook=True, webhook_url=webhooks.url(f"/{op}"))
    objection = unique("obj")
    notify.send("objection.received", {
        "objection_id": objection, "list_id": "L-1", "cycle": "2026", "application_id": "a-9",
        "anonymous": False, **REPORTER, "audience": [{"subject": op}]})
    poll(lambda: smtp.to(f"{op}@example.cn") and webhooks.at(f"/{op}"), 30)
    sent = everything_sent_to(notify, smtp, webhooks, op, "operator")
    assert objection in sent  # the notice itself is there …
    for secret in SECRETS:
        assert secret not in sent  # … and nothing of the reporter


def test_submission_and_award_notices_carry_no_secret_pages_credit_codes_or_identity_index(
        notify: Notify, smtp: MailSink, webhooks: HookSink, unique: Unique) -> None:
    owner = unique("owner-secret")
    notify.account(owner, email=f"{owner}@example.cn")
    notify.preferences(owner, webhook=True, webhook_url=webhooks.url(f"/{owner}"))
    manifest = [{"document_id": "d", "requirement": "process", "version_id": "v", "number": 1,
                 "filename": "核心工艺配方.pdf", "object_key": "2026/a/d/v1",
                 "object_version": "x", "sha256": "0" * 64, "size": 1,
                 "content_type": "application/pdf", "confidentiality": "trade-secret",
                 "secret_pages": [[1, 9]]}]
    notify.send("packet.submitted", {
        "application_id": "a-s", "cycle": "2026", "kind": "organisation", "owner": owner,
        "applicant_name": "忻州保密测试有限公司", "unit": "140902", "route": "county",
        "submission": 1, "documents": manifest}, source="intake")
    notify.send("award.decided", {"cycle": "2026", "year": 2026, "results": [
        {"application_id": "a-s", "owner": owner, "kind": "organisation",
         "credit_code": "91140900MA0K7Q1X2B", "id_index": "idx-5f2c9a", "tier": "award",
         "amount": 500000}]})
    poll(lambda: len(smtp.to(f"{owner}@example.cn")) == 2
         and len(webhooks.at(f"/{owner}")) == 2, 30)
    sent = everything_sent_to(notify, smtp, webhooks, owner, "applicant")
    assert "忻州保密测试有限公司" in sent and "您的申报获评2026 年度市长质量奖。" in sent
    for secret in SECRETS:
        assert secret not in sent


def test_an_operator_template_asking_for_the_reporter_gets_nothing(tmp_path: Path) -> None:
    override = tmp_path / "nosy.yaml"
    override.write_text(
        "objection.received:\n  zh-CN:\n    title: \"异议 {{ objection_id }}\"\n"
        "    body: \"举报人：{{ reporter.name }}{{ reporter_name }}{{ contact }}\"\n",
        encoding="utf-8")
    rendered = render("objection.received", {"objection_id": "o1", "list_id": "L",
                                             "anonymous": False, **REPORTER}, str(override))
    assert rendered is not None
    assert rendered.body["zh-CN"] == "举报人："


def test_forbidden_keys_are_removed_at_any_depth() -> None:
    payload = {"a": [{"b": {"secret_pages": [[1, 2]], "id_number": "1409", "ok": 1}}],
               "documents": [1], "audience": []}
    assert safe_context(payload) == {"a": [{"b": {"ok": 1}}]}


def test_a_trade_secret_file_is_never_named_while_an_ordinary_one_is() -> None:
    base = {"application_id": "a-1", "document_id": "d-1", "version_id": "v-1", "owner": "o",
            "ok": True, "format": "pdf", "pages": 3, "encrypted": False, "text_layer": True,
            "error": None, "classification_marks": []}
    secret = render("document.inspected", {**base, "filename": "新型密封工艺配方.pdf",
                                           "confidentiality": "trade-secret"})
    for text in (*secret.title.values(), *secret.body.values()):
        assert "工艺配方" not in text
    assert "商业秘密材料" in secret.body["zh-CN"] and "trade-secret" in secret.body["en"]
    plain = render("document.inspected", {**base, "filename": "组织概述.pdf",
                                          "confidentiality": "internal"})
    assert "《组织概述.pdf》" in plain.body["zh-CN"] and "组织概述.pdf" in plain.title["en"]
