"""The completeness report as a printable Word document: 形式审查意见表.

Laid out the way a regulator's formal-review sheet is: the applicant and packet at the top, one
row per required document with the finding and its reasons, a summary, and lines for the
reviewer's opinion, signature and date, which are filled in by hand.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

STATUS = {
    "met": ("符合", "Met"), "missing": ("缺少", "Missing"), "invalid": ("不符合", "Invalid"),
    "attention": ("需人工核对", "Needs checking"), "pending": ("检查中", "Being inspected"),
    "optional": ("选报未交", "Optional, not provided"),
    "not_due": ("推荐环节补充", "Added at recommendation"),
}
OVERALL = {"complete": ("材料齐全", "Complete"), "incomplete": ("材料不齐全", "Incomplete"),
           "attention": ("基本齐全，有需人工核对的事项", "Complete, with points needing attention")}
LABELS = {
    "title": ("形式审查意见表", "Formal review sheet"),
    "applicant": ("申报单位/个人", "Applicant"),
    "application": ("申报编号", "Application"),
    "kind": ("申报类别", "Category"),
    "cycle": ("届次", "Cycle"),
    "submission": ("提交次数", "Submission"),
    "catalogue": ("材料目录版本", "Catalogue version"),
    "computed": ("检查时间", "Checked at"),
    "no": ("序号", "No."),
    "item": ("材料", "Document"),
    "required": ("要求", "Required"),
    "status": ("结论", "Finding"),
    "reasons": ("说明", "Notes"),
    "evidence": ("依据（文件、页码）", "Evidence (file, page)"),
    "overall": ("审查结论", "Overall"),
    "counts": ("统计", "Counts"),
    "opinion": ("审查意见：", "Reviewer's opinion:"),
    "signature": ("审查人（签字）：              日期：    年  月  日",
                  "Reviewer (signature):              Date:"),
    "draft": ("（草稿，材料尚未提交）", "(draft: the packet has not been submitted)"),
    "yes": ("必报", "required"), "no_": ("选报", "optional"),
    "organisation": ("组织", "Organisation"), "individual": ("个人", "Individual"),
    "page": ("第 {} 页", "p. {}"),
    "unexpected": ("目录之外的上传材料（未纳入审查）：",
                   "Uploads outside the catalogue (not reviewed):"),
}


def _t(key: str, lang: str) -> str:
    zh, en = LABELS[key]
    return en if lang == "en" else zh


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def _evidence(item: dict[str, Any], lang: str) -> str:
    lines = []
    seen = set()
    for ev in item.get("evidence") or []:
        page = ev.get("page")
        text = ev.get("filename", "")
        if page:
            text += " " + _t("page", lang).format(page)
        if text not in seen:
            seen.add(text)
            lines.append(text)
    return "\n".join(lines)


def render(report: dict[str, Any], packet: dict[str, Any], lang: str = "zh-CN") -> bytes:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")  # Chinese text in 宋体
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(_t("title", lang))
    run.bold = True
    run.font.size = Pt(16)
    if not report.get("submission"):
        doc.add_paragraph(_t("draft", lang)).alignment = WD_ALIGN_PARAGRAPH.CENTER

    computed = report.get("computed_at")
    if isinstance(computed, datetime):  # Beijing time, as the pages show it
        computed = (computed.astimezone(ZoneInfo("Asia/Shanghai")) if computed.tzinfo
                    else computed).strftime("%Y-%m-%d %H:%M")
    kind = packet.get("kind")
    head = doc.add_table(rows=0, cols=4)
    head.style = "Table Grid"
    pairs = [
        ("applicant", packet.get("applicant_name") or "—"),
        ("application", report.get("application_id", "")),
        ("kind", _t(kind, lang) if kind in ("organisation", "individual") else "—"),
        ("cycle", str(packet.get("cycle_title") or report.get("cycle", ""))),
        ("submission", str(report.get("submission") or "—")),
        ("catalogue", report.get("catalogue", "")),
        ("computed", str(computed or "")),
        ("overall", _pick(OVERALL.get(report.get("status", ""), ("", "")), lang)),
    ]
    for i in range(0, len(pairs), 2):
        cells = head.add_row().cells
        for j, (key, value) in enumerate(pairs[i:i + 2]):
            cells[2 * j].text = _t(key, lang)
            cells[2 * j + 1].text = value

    doc.add_paragraph()
    table = doc.add_table(rows=1, cols=6)
    table.style = "Table Grid"
    for cell, key in zip(table.rows[0].cells,
                         ("no", "item", "required", "status", "reasons", "evidence"),
                         strict=True):
        cell.text = _t(key, lang)
        for paragraph in cell.paragraphs:
            for r in paragraph.runs:
                r.bold = True
    for n, item in enumerate(report.get("items") or [], start=1):
        cells = table.add_row().cells
        cells[0].text = str(n)
        cells[1].text = item["title"]["en" if lang == "en" else "zh-CN"]
        cells[2].text = _t("yes" if item.get("required") else "no_", lang)
        cells[3].text = _pick(STATUS.get(item["status"], (item["status"],) * 2), lang)
        cells[4].text = "\n".join(r["en" if lang == "en" else "zh-CN"]
                                  for r in item.get("reasons") or [])
        cells[5].text = _evidence(item, lang)

    unexpected = report.get("unexpected") or []
    if unexpected:
        doc.add_paragraph()
        doc.add_paragraph(_t("unexpected", lang))
        for entry in unexpected:
            doc.add_paragraph(f"{entry.get('filename', '')}（{entry.get('requirement') or '—'}）",
                              style="List Bullet")

    counts = report.get("counts") or {}
    doc.add_paragraph()
    doc.add_paragraph(f"{_t('counts', lang)}：" + "，".join(
        f"{_pick(STATUS[k], lang)} {counts.get(k, 0)}"
        for k in ("met", "missing", "invalid", "attention")))
    doc.add_paragraph(_t("opinion", lang))
    for _ in range(3):
        doc.add_paragraph("_" * 60)
    doc.add_paragraph(_t("signature", lang))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
