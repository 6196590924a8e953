"""Words, not codes: every walked page and every message, in zh-CN, without ids, codes or
untranslated English (issue 15, point 5). The check itself is `plain_words.raw_codes`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pagewalk import WalkPage
from plain_words import raw_codes, visible_text
from test_page_walk import PAGES
from walk_world import world

from dossier.localstack import AppStack
from services.notify.messages import known_event_types, render

APP, OWNER, EXPERT = str(uuid.uuid4()), f"org-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
LIST, OBJECTION = str(uuid.uuid4()), str(uuid.uuid4())
COMPANY = "山西示例重工有限公司"

# One payload per message, with ids as real producers send them (UUIDs, subjects, unit and
# requirement codes), so a template that prints one is caught.
PAYLOADS: dict[str, dict[str, Any]] = {
    "account.invited": {"subject": OWNER, "name": "张伟",
                        "link": "http://127.0.0.1:8000/intake/set-password?token=abc",
                        "expires_at": "2026-11-28T12:05:00+08:00"},
    "document.inspected": {"application_id": APP, "document_id": str(uuid.uuid4()),
                           "version_id": str(uuid.uuid4()), "owner": OWNER,
                           "filename": "营业执照.pdf", "ok": False, "format": "pdf",
                           "pages": None, "encrypted": True, "text_layer": False,
                           "classification_marks": [],
                           "error": {"code": "pdf.encrypted", "message": "encrypted",
                                     "messages": {"zh-CN": "文件已加密，无法打开",
                                                  "en": "encrypted"}}},
    "packet.submitted": {"application_id": APP, "cycle": "2026", "kind": "organisation",
                         "owner": OWNER, "applicant_name": COMPANY, "unit": "140902",
                         "route": "county", "submission": 2, "documents": []},
    "packet.checked": {"application_id": APP, "cycle": "2026", "owner": OWNER,
                       "status": "incomplete",
                       "counts": {"met": 10, "missing": 2, "invalid": 1, "attention": 1},
                       "missing": ["self-evaluation", "tax-certificate"],
                       "missing_titles": [{"zh-CN": "自评报告", "en": "Self-evaluation report"},
                                         {"zh-CN": "纳税证明", "en": "Tax certificate"}],
                       "report_id": str(uuid.uuid4())},
    "packet.returned": {"application_id": APP, "cycle": "2026", "owner": OWNER,
                        "applicant_name": COMPANY, "unit": "140902", "stage": "recommender",
                        "reasons": ["自评报告缺少签章"]},
    "packet.recommended": {"application_id": APP, "cycle": "2026", "owner": OWNER,
                           "applicant_name": COMPANY, "unit": "140902", "opinion": "同意推荐"},
    "packet.accepted": {"application_id": APP, "cycle": "2026", "kind": "organisation",
                        "owner": OWNER, "unit": "IND-GX", "applicant": {}, "documents": []},
    "packet.rejected": {"application_id": APP, "cycle": "2026", "owner": OWNER,
                        "applicant_name": COMPANY, "reasons": "不符合申报条件"},
    "acceptance.published": {"list_id": LIST, "cycle": "2026", "starts_on": "2026-05-06",
                             "ends_on": "2026-05-12", "entries": [
                                 {"application_id": APP, "applicant_name": COMPANY,
                                  "kind": "organisation", "unit": "140902"}]},
    "assignment.made": {"cycle": "2026", "stage": "on-site", "expert": EXPERT,
                        "applications": [{"application_id": APP, "applicant_name": COMPANY}],
                        "deadline": "2026-06-10"},
    "recusal.recorded": {"cycle": "2026", "expert": EXPERT, "application_id": APP,
                         "applicant_name": COMPANY, "ground": "former-employment",
                         "source": "expert", "replacement": str(uuid.uuid4())},
    "objection.received": {"objection_id": OBJECTION, "list_id": LIST, "cycle": "2026",
                           "application_id": APP, "applicant_name": COMPANY,
                           "list_kind": "recommendation", "anonymous": True},
    "opinions.completed": {"cycle": "2026", "application_id": APP, "applicant_name": COMPANY},
    "list.published": {"list_id": LIST, "cycle": "2026", "kind": "final",
                       "starts_on": "2026-09-01", "ends_on": "2026-09-07",
                       "entries": [{"application_id": APP, "applicant_name": COMPANY,
                                    "tier": "award"}]},
    "award.decided": {"cycle": "2026", "year": 2026, "results": [
        {"application_id": APP, "owner": OWNER, "kind": "organisation",
         "applicant_name": COMPANY, "credit_code": "91140900MA0000000X", "id_index": None,
         "tier": "award", "amount": 200000}]},
    "award.revoked": {"cycle": "2026", "application_id": APP, "owner": OWNER,
                      "applicant_name": COMPANY, "credit_code": "91140900MA0000000X",
                      "id_index": None, "year": 2027, "ground": "fraud"},
    "reminder.publicity_closing": {"list_id": LIST, "cycle": "2026",
                                   "list_kind": "recommendation", "entries": 3,
                                   "due_on": "2026-09-07", "workdays_left": 1},
    "reminder.review_deadline": {"cycle": "2026", "stage": "material", "applications": 2,
                                 "due_on": "2026-06-10", "workdays_left": 1},
    "reminder.documents_missing": {"application_id": APP, "cycle": "2026",
                                   "missing": ["self-evaluation"],
                                   "missing_titles": [{"zh-CN": "自评报告",
                                                      "en": "Self-evaluation report"}],
                                   "due_on": "2026-04-30", "workdays_left": 3},
}
# The two payloads a template branches on: both sides are read.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    *PAYLOADS.items(),
    ("document.inspected", {**PAYLOADS["document.inspected"], "ok": True, "pages": 12,
                            "error": None}),
    ("document.inspected", {**PAYLOADS["document.inspected"], "filename": None}),
    ("packet.returned", {**PAYLOADS["packet.returned"], "stage": "operator"}),
    ("packet.checked", {**PAYLOADS["packet.checked"], "status": "complete"}),
    ("objection.received", {**PAYLOADS["objection.received"], "anonymous": False,
                            "application_id": None, "applicant_name": None}),
    ("list.published", {**PAYLOADS["list.published"], "kind": "recommendation"}),
    ("award.decided", {**PAYLOADS["award.decided"], "results": [
        {**PAYLOADS["award.decided"]["results"][0], "tier": "nomination"}]}),
    ("reminder.publicity_closing", {**PAYLOADS["reminder.publicity_closing"],
                                    "list_kind": "acceptance"}),
]
SILENT = {"account.saved", "cycle.saved"}  # facts for the directory, never a message


def test_the_check_finds_what_the_issue_found() -> None:
    """Each finding of issue 15 point 5 is caught; plain Chinese with legitimate Latin is not."""
    bad = ["material 阶段", "专家回避（relative）", "推荐单位（140902）",
           "申报 4d24a04b-…", "申报 4d24a04b-5c1e-4f7a-9b2e-0c8d2f6a1b3c 已受理",
           "所有者 org-9114ab", "提示 docx.pages_from_properties", "动作 packet.accepted",
           "阶段 on-site", "推荐单位 IND-GX", "Material review 阶段"]
    for text in bad:
        assert raw_codes(text), text
    good = ("张三 于 2026年12月6日 受理了 山西示例重工有限公司 的申报。请上传 PDF 或 DOCX 文件，"
            "不超过 20 MB；证书编号 XZ-2026-0001，"
            "统一社会信用代码 91140900MA0000000X、911409020N3EKMXTMM；"
            "联系 office@example.gov.cn 或访问 https://www.example.gov.cn/a_b-c；"
            "文件 自评报告_v2.pdf；Dossier 评审系统；English")
    assert raw_codes(good) == []


def test_the_raw_record_one_click_away_is_not_read_as_page_text() -> None:
    html = ('<main><p title="申报详情">张三 受理了申报</p><details><summary>原始记录</summary>'
            '<pre data-raw>{"action": "packet.accepted"}</pre></details>'
            '<script>var a = "x.y";</script><input placeholder="请输入 e.g."></main>')
    text = visible_text(html)
    assert "packet.accepted" not in text and "x.y" not in text
    assert "申报详情" in text and "原始记录" in text and "e.g." in text


def test_every_message_has_a_payload_here() -> None:
    assert set(known_event_types()) - SILENT <= set(PAYLOADS)


@pytest.mark.parametrize(("event_type", "payload"), VARIANTS,
                         ids=[f"{t}-{i}" for i, (t, _) in enumerate(VARIANTS)])
def test_every_message_speaks_in_words(event_type: str, payload: dict[str, Any]) -> None:
    rendered = render(event_type, payload, extra={"recipient": {"subject": OWNER,
                                                                "name": COMPANY}})
    assert rendered is not None
    text = f"{rendered.title['zh-CN']}\n{rendered.body['zh-CN']}"
    found = raw_codes(text)
    assert not found, "\n".join([text, *found])


def _zh_page(stack: AppStack, login: Callable[..., Any], entry: WalkPage) -> str:
    subject = entry.subject or f"{entry.role or 'visitor'}-plain-{uuid.uuid4().hex[:6]}"
    path = entry.path(stack, subject) if callable(entry.path) else entry.path
    import requests

    http = (login(entry.role, subject, entry.name or "王芳", entry.scope).http
            if entry.role else requests.Session())
    http.cookies.set("lang", "zh-CN", domain="127.0.0.1", path="/")
    r = http.get(f"{stack.public_url}{path}", headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code == entry.status, f"{path}: {r.status_code}"
    return r.text


@pytest.mark.stack
@pytest.mark.parametrize("entry", PAGES, ids=[p.id for p in PAGES])
def test_every_walked_page_speaks_in_words(entry: WalkPage, stack: AppStack,
                                           browser_login: Callable[..., Any]) -> None:
    world(stack)
    found = raw_codes(visible_text(_zh_page(stack, browser_login, entry)))
    assert not found, "\n".join(found)
