"""The 形式审查意见表 as Word: what a reviewer prints and signs."""

from __future__ import annotations

import io
from typing import Any

from docx import Document

from services.documents.report_docx import render

REPORT: dict[str, Any] = {
    "application_id": "app-1", "cycle": "2025", "submission": 0, "catalogue": "v1",
    "status": "incomplete", "counts": {"met": 1, "missing": 1, "invalid": 0, "attention": 0},
    "items": [
        {"requirement": "overview", "title": {"zh-CN": "组织概述", "en": "Overview"},
         "required": True, "status": "met", "reasons": [],
         "evidence": [{"filename": "概述.pdf", "page": None}]},
        {"requirement": "commitment", "title": {"zh-CN": "承诺书", "en": "Pledge"},
         "required": True, "status": "missing",
         "reasons": [{"code": "missing", "zh-CN": "未提交该项材料。",
                      "en": "This document has not been provided."}], "evidence": []},
    ],
    "unexpected": [{"filename": "photo.jpg", "requirement": "photos"}],
}


def _text(data: bytes) -> tuple[list[str], list[list[str]]]:
    doc = Document(io.BytesIO(data))
    return ([p.text for p in doc.paragraphs],
            [[c.text for c in row.cells] for row in doc.tables[1].rows])


def test_a_draft_sheet_says_it_is_a_draft_and_lists_every_item_with_its_finding() -> None:
    paragraphs, rows = _text(render(REPORT, {"applicant_name": "甲公司",
                                             "kind": "organisation"}))
    assert paragraphs[:2] == ["形式审查意见表", "（草稿，材料尚未提交）"]
    assert rows[1][1:5] == ["组织概述", "必报", "符合", ""]
    assert rows[2][3:5] == ["缺少", "未提交该项材料。"]
    assert "photo.jpg（photos）" in paragraphs
    assert any(p.startswith("审查人（签字）") for p in paragraphs)


def test_the_english_sheet_uses_english_titles_and_reasons() -> None:
    paragraphs, rows = _text(render({**REPORT, "submission": 2}, {}, "en"))
    assert paragraphs[0] == "Formal review sheet"
    assert "(draft" not in " ".join(paragraphs)
    assert rows[2][1:5] == ["Pledge", "required", "Missing",
                            "This document has not been provided."]


def test_the_sheet_names_the_cycle_and_gives_beijing_time() -> None:
    """Issue 15: the sheet showed the cycle's code and a UTC time while pages show Beijing
    time."""
    from datetime import UTC, datetime

    report = {**REPORT, "computed_at": datetime(2026, 12, 6, 18, 30, tzinfo=UTC)}
    doc = Document(io.BytesIO(render(report, {"applicant_name": "甲公司", "kind": "organisation",
                                              "cycle_title": "第三届忻州市市长质量奖"})))
    head = [c.text for row in doc.tables[0].rows for c in row.cells]
    assert "第三届忻州市市长质量奖" in head and "2026-12-07 02:30" in head
