"""Every event notify hears renders in both languages; operators override templates by file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.notify.messages import TemplateFileError, load_templates, render
from shared.events import SUBSCRIPTIONS

# One realistic payload per event, as docs/events.md describes them.
SAMPLES: dict[str, dict[str, Any]] = {
    "account.invited": {"subject": "zhang.wei", "name": "张伟",
                        "link": "http://127.0.0.1:8000/intake/set-password?token=abc",
                        "expires_at": "2026-11-28T12:05:00+08:00"},
    "cycle.saved": {"cycle": "2026", "year": 2026, "title": "2026 年度忻州市市长质量奖",
                    "opens_on": "2026-03-02", "closes_on": "2026-04-30", "status": "open",
                    "caps": {"awards": 5, "nominations": 5}, "catalogue": None},
    "document.inspected": {"application_id": "a1", "document_id": "d1", "version_id": "v1",
                           "owner": "u1", "filename": "营业执照.pdf", "ok": False,
                           "format": "pdf", "pages": None, "encrypted": True,
                           "text_layer": False, "classification_marks": [],
                           "error": {"code": "pdf.encrypted", "message": "encrypted"}},
    "packet.submitted": {"application_id": "a1", "cycle": "2026", "kind": "organisation",
                         "owner": "u1", "applicant_name": "山西示例重工有限公司",
                         "unit": "140902", "route": "county", "submission": 2,
                         "documents": []},
    "packet.checked": {"application_id": "a1", "cycle": "2026", "owner": "u1",
                       "status": "incomplete",
                       "counts": {"met": 10, "missing": 2, "invalid": 1, "attention": 0},
                       "missing": ["quality-report", "tax-certificate"], "report_id": "r1"},
    "packet.returned": {"application_id": "a1", "cycle": "2026", "owner": "u1",
                        "applicant_name": "山西示例重工有限公司", "unit": "140902",
                        "stage": "recommender", "reasons": ["自评报告缺少签章"]},
    "packet.recommended": {"application_id": "a1", "cycle": "2026", "owner": "u1",
                           "applicant_name": "山西示例重工有限公司", "unit": "140902",
                           "opinion": "同意推荐"},
    "packet.accepted": {"application_id": "a1", "cycle": "2026", "kind": "organisation",
                        "owner": "u1", "unit": "140902", "applicant": {}, "documents": []},
    "packet.rejected": {"application_id": "a1", "cycle": "2026", "owner": "u1",
                        "applicant_name": "山西示例重工有限公司", "reasons": "不符合申报条件"},
    "acceptance.published": {"list_id": "L1", "cycle": "2026", "starts_on": "2026-05-06",
                             "ends_on": "2026-05-12", "entries": [
                                 {"application_id": "a1", "applicant_name": "甲",
                                  "kind": "organisation", "unit": "140902"}]},
    "assignment.made": {"cycle": "2026", "stage": "materials", "expert": "e1",
                        "applications": [{"application_id": "a1", "applicant_name": "甲"}],
                        "deadline": "2026-06-10"},
    "recusal.recorded": {"cycle": "2026", "expert": "e1", "application_id": "a1",
                         "ground": "former-employer", "source": "declared",
                         "replacement": "e2"},
    "objection.received": {"objection_id": "o1", "list_id": "L1", "cycle": "2026",
                           "application_id": "a1", "anonymous": True},
    "opinions.completed": {"cycle": "2026", "application_id": "a1", "applicant_name": "甲"},
    "list.published": {"list_id": "L2", "cycle": "2026", "kind": "final",
                       "starts_on": "2026-09-01", "ends_on": "2026-09-07",
                       "entries": [{"application_id": "a1", "applicant_name": "甲",
                                    "tier": "award"}]},
    "award.decided": {"cycle": "2026", "year": 2026, "results": [
        {"application_id": "a1", "owner": "u1", "kind": "organisation",
         "credit_code": "91140900MA0000000X", "id_index": None, "tier": "award",
         "amount": 500000, "case_number": "2026-0001", "applicant_name": "山西示例重工有限公司",
         "tier_title": {"zh": "忻州市市长质量奖", "en": "Xinzhou Mayor's Quality Award"}}],
        "cycle_title": "第三届忻州市市长质量奖", "decided_on": "2026-12-01",
        "reference": "忻政发〔2026〕1号"},
    "award.revoked": {"cycle": "2026", "application_id": "a1", "owner": "u1",
                      "credit_code": "91140900MA0000000X", "id_index": None, "year": 2027,
                      "ground": "重大质量事故"},
}
# Facts, not messages: these feed the directory and the reminders.
SILENT = {"account.saved", "cycle.saved"}


def _without_values(text: str, value: Any) -> str:
    if isinstance(value, str):
        return text.replace(value, "")
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            text = _without_values(text, v)
    return text


def notified_events() -> list[str]:
    return sorted(t for t, consumers in SUBSCRIPTIONS.items()
                  if "notify" in consumers and t not in SILENT)


@pytest.mark.parametrize("event_type", notified_events())
def test_every_event_notify_hears_renders_in_chinese_and_english(event_type: str) -> None:
    rendered = render(event_type, SAMPLES[event_type],
                      extra={"recipient": {"subject": "u1", "name": "甲"}})
    assert rendered is not None
    zh, en = rendered.body["zh-CN"], rendered.body["en"]
    assert rendered.title["zh-CN"] and rendered.title["en"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in rendered.title["zh-CN"] + zh)
    # The English text is English, apart from the Chinese names and words it quotes.
    assert _without_values(en + rendered.title["en"], SAMPLES[event_type]).isascii()
    for text in (zh, en, rendered.title["zh-CN"], rendered.title["en"]):
        assert "{{" not in text and "None" not in text


def test_reminder_templates_exist_for_every_kind_in_both_languages() -> None:
    templates = load_templates()
    for kind in ("publicity_closing", "review_deadline", "documents_missing"):
        assert set(templates[f"reminder.{kind}"]) == {"zh-CN", "en"}


def test_the_owner_reads_their_own_result_and_others_the_summary() -> None:
    sample = SAMPLES["award.decided"]
    own = render("award.decided", sample, extra={"recipient": {"subject": "u1"}})
    other = render("award.decided", sample, extra={"recipient": {"subject": "op"}})
    assert own is not None and other is not None
    # The winner reads which award of which cycle, and where the certificate is (issue 15:
    # it used to say only 您的申报获评奖项。).
    assert own.body["zh-CN"].startswith("您的申报（办件编号 2026-0001）获评第三届忻州市市长质量奖"
                                        "“忻州市市长质量奖”。")
    assert "荣誉证书" in own.body["zh-CN"]
    assert own.title["zh-CN"] == "第三届忻州市市长质量奖评选结果"
    assert "共 1 个" in other.body["zh-CN"]
    # A producer that names neither still gives a whole sentence.
    bare = render("award.decided", {"cycle": "2026", "year": 2026, "results": [
        {"application_id": "a1", "owner": "u1", "tier": "nomination"}]},
        extra={"recipient": {"subject": "u1"}})
    assert bare is not None
    assert bare.body["zh-CN"].startswith("您的申报获评2026 年度市长质量奖提名奖。")


def test_an_operator_file_overrides_one_language_of_one_event(tmp_path: Path) -> None:
    override = tmp_path / "ours.yaml"
    override.write_text(
        "packet.accepted:\n"
        "  zh-CN:\n"
        "    title: \"【市质量奖办】受理通知\"\n"
        "    body: \"您的 {{ cycle }} 年度申报已受理。\"\n", encoding="utf-8")
    rendered = render("packet.accepted", SAMPLES["packet.accepted"], str(override))
    assert rendered is not None
    assert rendered.title["zh-CN"] == "【市质量奖办】受理通知"
    assert rendered.body["zh-CN"] == "您的 2026 年度申报已受理。"
    assert rendered.title["en"] == "Application accepted"  # the built-in English stays


def test_a_broken_operator_template_is_refused_when_loaded(tmp_path: Path) -> None:
    override = tmp_path / "broken.yaml"
    override.write_text("packet.accepted:\n  zh-CN:\n    title: \"{% if %}\"\n    body: x\n",
                        encoding="utf-8")
    with pytest.raises(TemplateFileError, match=r"packet\.accepted"):
        load_templates(override=str(override))


def test_templates_cannot_reach_python_internals(tmp_path: Path) -> None:
    override = tmp_path / "evil.yaml"
    override.write_text(
        "packet.accepted:\n  zh-CN:\n    title: x\n"
        "    body: \"{{ cycle.__class__.__mro__[1].__subclasses__() }}\"\n", encoding="utf-8")
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        render("packet.accepted", SAMPLES["packet.accepted"], str(override))
