"""Each person gets what they must act on (issue 15, point 10): no message per checked file,
the 请补充 message only to the applicant, and the award message names the award, tier and
cycle and leads to the certificate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from inprocess import service_app
from sqlalchemy import select

from dossier.localstack import BackingServers
from services.notify.audience import worth_telling
from services.notify.fanout import Channels, fan_out
from services.notify.messages import render
from services.notify.models import Notification, Recipient

CHECKED = {"application_id": "app-1", "cycle": "2026", "owner": "applicant-1",
           "status": "incomplete", "counts": {"met": 8, "missing": 1, "invalid": 1,
                                              "attention": 0},
           "missing": ["财务报表"], "report_id": "r-1", "submission": 1, "unit": "140902",
           "applicant_name": "忻州示例机械有限公司",
           "audience": [{"subject": "applicant-1"}, {"role": "recommender", "unit": "140902"}]}


def test_no_message_per_file_but_one_when_the_uploads_inspections_settle() -> None:
    assert not worth_telling("document.inspected", {"ok": True, "filename": "a.pdf"})
    assert not worth_telling("document.inspected", {"ok": False, "filename": "a.pdf"})
    draft = {**CHECKED, "submission": 0}
    assert not worth_telling("packet.checked", draft)  # changed for another reason: reminders
    assert worth_telling("packet.checked", {**draft, "settled": True})
    assert worth_telling("packet.checked", CHECKED)
    digest = render("packet.checked", {**draft, "settled": True},
                    extra={"recipient": {"subject": "applicant-1", "role": "applicant"}})
    assert digest is not None and digest.title["zh-CN"] == "上传的材料已检查完毕"
    assert "不符合 1 项" in digest.body["zh-CN"] and "尚有 1 项材料未上传" in digest.body["zh-CN"]


def test_a_failed_file_is_explained_in_words_not_by_its_code() -> None:
    rendered = render("document.inspected", {
        "ok": False, "filename": "申报表.pdf", "error_code": "pdf.encrypted",
        "error": {"code": "pdf.encrypted", "message": "The PDF is encrypted.",
                  "messages": {"zh-CN": "PDF 已加密，无法读取。", "en": "The PDF is encrypted."}}})
    assert rendered is not None
    assert "PDF 已加密，无法读取" in rendered.body["zh-CN"]
    assert "pdf.encrypted" not in rendered.body["zh-CN"]


def test_the_completeness_check_asks_only_the_applicant_to_complete_the_packet(
        backing: BackingServers, tmp_path: Path) -> None:
    notify = service_app(backing, tmp_path, "notify")
    now = datetime.now(UTC)
    with notify.ctx.db.session() as session:
        session.add(Recipient(subject="recommender-1", role="recommender", unit="140902",
                              name="忻府区市场监管局", email=None, language="zh-CN", active=True,
                              updated_at=now))
        session.add(Recipient(subject="applicant-1", role="applicant", unit=None,
                              name="忻州示例机械有限公司", email=None, language="zh-CN",
                              active=True, updated_at=now))
    with notify.ctx.db.session() as session:
        reached = fan_out(session, event_id="ev-checked", event_type="packet.checked",
                          payload=CHECKED, channels=Channels(email=False), now=now)
    assert reached == 2
    with notify.ctx.db.reader() as session:
        got = {n.recipient: n for n in session.execute(select(Notification)).scalars()}
    applicant, recommender = got["applicant-1"], got["recommender-1"]
    assert "补充" in applicant.title_zh + applicant.body_zh
    assert "补充" not in recommender.title_zh + recommender.body_zh
    assert "忻州示例机械有限公司" in recommender.title_zh and "审核" in recommender.body_zh


def test_the_award_message_names_the_award_tier_and_cycle_and_leads_to_the_application(
        backing: BackingServers, tmp_path: Path) -> None:
    notify = service_app(backing, tmp_path, "notify")
    payload = {
        "cycle": "2026", "year": 2026, "cycle_title": "第三届忻州市市长质量奖",
        "decided_on": "2026-12-01", "reference": "忻政发〔2026〕1号",
        "results": [{"application_id": "app-9", "owner": "winner", "kind": "organisation",
                     "tier": "award", "amount": 200000, "case_number": "2026-0009",
                     "applicant_name": "忻州精密制造有限公司",
                     "tier_title": {"zh": "忻州市市长质量奖",
                                    "en": "Xinzhou Mayor's Quality Award"}}],
        "audience": [{"subject": "winner"}]}
    with notify.ctx.db.session() as session:
        fan_out(session, event_id="ev-award", event_type="award.decided", payload=payload,
                channels=Channels(email=False), now=datetime.now(UTC))
    with notify.ctx.db.reader() as session:
        [message] = session.execute(select(Notification)).scalars().all()
    assert "第三届忻州市市长质量奖" in message.title_zh
    # The tier's own title names the tier (a nomination's ends in 提名奖, see awards.yaml).
    assert "获评第三届忻州市市长质量奖“忻州市市长质量奖”" in message.body_zh
    assert "2026-0009" in message.body_zh
    assert "荣誉证书" in message.body_zh and "年度" not in message.title_zh
    # The inbox links the winner's own application, whose page holds the certificate.
    assert message.refs["application_id"] == "app-9"


def test_uploads_one_after_another_leave_one_unread_digest_brought_up_to_date(
        backing: BackingServers, tmp_path: Path) -> None:
    notify = service_app(backing, tmp_path, "notify")
    draft = {**CHECKED, "submission": 0, "settled": True, "audience": []}

    def settle(n: int, met: int) -> None:
        counts = {"met": met, "missing": 10 - met, "invalid": 0, "attention": 0}
        with notify.ctx.db.session() as session:
            fan_out(session, event_id=f"ev-settle-{n}", event_type="packet.checked",
                    payload={**draft, "counts": counts}, channels=Channels(email=False),
                    now=datetime.now(UTC))

    def messages() -> list[Notification]:
        with notify.ctx.db.reader() as session:
            return list(session.execute(select(Notification).where(
                Notification.recipient == "applicant-1").order_by(Notification.seq)).scalars())

    for n in range(1, 6):  # five files, each inspected before the next one arrived
        settle(n, n)
    [digest] = messages()
    assert "尚有 5 项材料未上传" in digest.body_zh and digest.event_id == "ev-settle-5"
    with notify.ctx.db.session() as session:
        session.get(Notification, digest.seq).read_at = datetime.now(UTC)
    settle(6, 6)  # read, then more uploads: a new digest, the read one kept as it was
    first, second = messages()
    assert "尚有 5 项" in first.body_zh and "尚有 4 项" in second.body_zh


def test_review_messages_name_the_applicant_and_case_number_not_the_application_id() -> None:
    named = {"applicant_name": "忻州精密制造有限公司", "case_number": "2026-0009",
             "application_id": "5f0c2a9e-1b7d-4c1e-9a51-0d3f7e2b8c44", "cycle": "2026"}
    for event_type, payload in (
            ("recusal.recorded", {**named, "expert": "e1", "ground": "前雇主",
                                  "source": "declared", "replacement": None}),
            ("objection.received", {**named, "objection_id": "o1", "list_id": "L1",
                                    "anonymous": True}),
            ("award.revoked", {**named, "owner": "u1", "year": 2027, "ground": "重大质量事故"})):
        rendered = render(event_type, payload)
        assert rendered is not None
        body = rendered.body["zh-CN"]
        assert "忻州精密制造有限公司（办件编号 2026-0009）" in body, (event_type, body)
        assert named["application_id"] not in body + rendered.body["en"], event_type
