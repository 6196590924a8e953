"""Completeness of a packet against its requirement catalogue: the formal review, by rule.

Pure logic: requirements and the inspected current version of each document in, one item per
requirement out, with reasons in zh-CN and en and the evidence (file, page) behind each. What a
reviewer checking a packet by hand would note: missing documents, wrong formats, files that do
not open, page and character limits, the seven sections of the self-evaluation, a sealed scan
where one is expected, classified markings, active content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.documents.catalogue import Catalogue, Requirement

# Worst first: a requirement takes the worst status of its documents.
SEVERITY = ("invalid", "missing", "pending", "attention", "met")
COUNTED = ("met", "missing", "invalid", "attention")

REASONS: dict[str, tuple[str, str]] = {
    "missing": ("未提交该项材料。", "This document has not been provided."),
    "optional_absent": ("选报材料，未提交。", "Optional; not provided."),
    "not_due": ("由推荐单位在推荐环节补充。", "Added by the recommending body at recommendation."),
    "pending": ("《{file}》尚在检查中。", "\u201c{file}\u201d is still being inspected."),
    "unreadable": ("《{file}》未通过文件检查：{why}",
                   "\u201c{file}\u201d failed inspection: {why}"),
    "format": ("《{file}》格式为 {format}，本项只接受 {allowed}。",
               "\u201c{file}\u201d is {format}; this item accepts {allowed} only."),
    "too_many_pages": ("《{file}》共 {pages} 页，超过上限 {limit} 页。",
                       "\u201c{file}\u201d has {pages} pages, more than the limit of {limit}."),
    "too_few_pages": ("《{file}》共 {pages} 页，少于要求的 {limit} 页。",
                      "\u201c{file}\u201d has {pages} pages, fewer than the required {limit}."),
    "too_long": ("《{file}》约 {characters} 字，超过上限 {limit} 字。",
                 "\u201c{file}\u201d has about {characters} characters, more than the limit "
                 "of {limit}."),
    "sections_missing": ("《{file}》未找到以下部分的标题：{sections}。",
                         "\u201c{file}\u201d has no heading for: {sections}."),
    "sections_unrecognised": ("《{file}》中未识别出编号标题（如“一、领导”"
                              "“1 领导”）或书签，无法自动核对是否涵盖：{sections}，"
                              "请人工核对。",
                              "No numbered headings (such as \u201c1 Leadership\u201d) or "
                              "bookmarks were recognised in \u201c{file}\u201d; check by hand "
                              "that it covers: {sections}."),
    "sections_unchecked": ("《{file}》无文字层，无法核对是否涵盖：{sections}，请人工核对。",
                           "\u201c{file}\u201d has no text layer; check by hand that it covers: "
                           "{sections}."),
    "no_text": ("《{file}》只有扫描图像、没有文字层，无法核对字数与内容。",
                "\u201c{file}\u201d is scanned only, with no text layer; length and content "
                "cannot be checked."),
    "not_sealed_scan": ("《{file}》应为签字盖章后的扫描件，但文件中没有扫描页。",
                        "\u201c{file}\u201d should be a signed and sealed scan but has no "
                        "scanned page."),
    "ofd_not_sealed": ("《{file}》应加盖单位印章，但该 OFD 文件没有电子签章。",
                       "\u201c{file}\u201d should carry the unit's seal but this OFD file has "
                       "no electronic seal."),
    "classified": ("《{file}》第 {page} 页含密级标志“{mark}”，涉密材料不得报送。",
                   "\u201c{file}\u201d carries the classification mark \u201c{mark}\u201d on page "
                   "{page}; classified material must not be submitted."),
    "javascript": ("《{file}》含脚本或自动动作，审查时将不被执行。",
                   "\u201c{file}\u201d contains scripts or automatic actions; they will not run "
                   "in review."),
    "embedded": ("《{file}》内嵌 {count} 个附件文件，附件不计入审查，请作为单独材料上传。",
                 "\u201c{file}\u201d embeds {count} attached file(s); attachments are not "
                 "reviewed, upload them as separate documents."),
    "encrypted_open": ("《{file}》设有权限密码（可打开，但可能无法打印或批注）。",
                       "\u201c{file}\u201d has an owner password (it opens, but printing or "
                       "annotating may be blocked)."),
    "paper": ("《{file}》纸张为 {size}，要求 {paper}。",
              "\u201c{file}\u201d is on {size} paper; {paper} is required."),
    "several": ("本项只需一份文件，现有 {count} 份，将以最新上传的为准。",
                "One file is expected here, there are {count}; the latest upload counts."),
}


# Format names as people say them (the catalogue's codes stay in the data, not in the text).
FORMAT_NAMES: dict[str, tuple[str, str]] = {
    "pdf": ("PDF", "PDF"), "docx": ("Word（DOCX）", "Word (DOCX)"),
    "image": ("扫描图片", "scanned image"), "ofd": ("OFD", "OFD"),
    "?": ("无法识别的格式", "an unknown format"),
}


def _format_reason(file: str, fmt: str, allowed: Sequence[str]) -> dict[str, str]:
    """The wrong-format reason with format names in words, each language its own."""
    def names(lang: int, formats: Sequence[str]) -> list[str]:
        return [FORMAT_NAMES.get(f, (f, f))[lang] for f in formats]

    zh, en = REASONS["format"]
    return {"code": "format",
            "zh-CN": zh.format(file=file, format=names(0, [fmt])[0],
                               allowed="、".join(names(0, allowed))),
            "en": en.format(file=file, format=names(1, [fmt])[0],
                            allowed=" or ".join(names(1, allowed)))}


def reason(code: str, **params: Any) -> dict[str, str]:
    zh, en = REASONS[code]
    return {"code": code, "zh-CN": zh.format(**params), "en": en.format(**params)}


@dataclass(frozen=True)
class DocumentFacts:
    """The current version of one document as documents knows it."""

    document_id: str
    version_id: str
    requirement: str | None
    filename: str
    number: int = 1
    verdict: dict[str, Any] | None = None  # None: not inspected yet


@dataclass
class Item:
    requirement: str
    title: dict[str, str]
    required: bool
    status: str
    reasons: list[dict[str, str]] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "title": self.title,
                "required": self.required, "status": self.status, "reasons": self.reasons,
                "evidence": self.evidence}


@dataclass
class Assessment:
    status: str  # complete / incomplete / attention
    counts: dict[str, int]
    items: list[Item]
    pending: int
    unexpected: list[dict[str, Any]]

    @property
    def missing(self) -> list[str]:
        return [i.requirement for i in self.items if i.status == "missing"]

    @property
    def missing_titles(self) -> list[dict[str, str]]:
        """The missing items' names ({zh-CN, en}): messages name them, not their codes."""
        return [i.title for i in self.items if i.status == "missing"]

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "counts": self.counts, "pending": self.pending,
                "missing": self.missing, "items": [i.as_dict() for i in self.items],
                "unexpected": self.unexpected}


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _format_of(verdict: dict[str, Any]) -> str | None:
    fmt = verdict.get("format")
    return "image" if fmt in ("image", "jpeg", "png", "tiff") else fmt


def _evidence(doc: DocumentFacts, page: int | None = None) -> dict[str, Any]:
    return {"document_id": doc.document_id, "version_id": doc.version_id,
            "filename": doc.filename, "page": page}


def check_document(req: Requirement, doc: DocumentFacts, paper: str | None
                   ) -> tuple[str, list[dict[str, str]], list[dict[str, Any]]]:
    """(status, reasons, evidence) of one document against its requirement."""
    v = doc.verdict
    file = doc.filename
    if v is None:
        return "pending", [reason("pending", file=file)], [_evidence(doc)]
    invalid: list[dict[str, str]] = []
    attention: list[dict[str, str]] = []
    evidence = [_evidence(doc)]
    if not v.get("ok"):
        error = v.get("error") or {}
        msgs = error.get("messages") or {}
        r = reason("unreadable", file=file, why="")
        r["zh-CN"] += msgs.get("zh-CN", error.get("code", ""))
        r["en"] += msgs.get("en", error.get("code", ""))
        r["inspection_code"] = error.get("code", "")
        return "invalid", [r], evidence
    fmt = _format_of(v)
    if fmt not in req.formats:
        invalid.append(_format_reason(file, fmt or "?", req.formats))
    pages = v.get("pages")
    if req.max_pages and pages and pages > req.max_pages:
        invalid.append(reason("too_many_pages", file=file, pages=pages, limit=req.max_pages))
    if req.min_pages and pages is not None and pages < req.min_pages:
        invalid.append(reason("too_few_pages", file=file, pages=pages, limit=req.min_pages))
    has_text = bool(v.get("text_layer"))
    characters = v.get("characters")
    if req.max_characters and characters and v.get("text_complete") and \
            characters > req.max_characters:
        invalid.append(reason("too_long", file=file, characters=characters,
                              limit=req.max_characters))
    if req.text_expected and not has_text:
        attention.append(reason("no_text", file=file))
    if req.sections:
        _check_sections(req, doc, v, has_text, invalid, attention, evidence)
    if req.sealed_scan and (fmt == "docx" or (fmt == "pdf" and not v.get("scanned_pages"))):
        attention.append(reason("not_sealed_scan", file=file))
    if req.sealed_scan and fmt == "ofd" and not v.get("signatures"):
        # An OFD's seal is electronic (its Signatures.xml), never a scanned page.
        attention.append(reason("ofd_not_sealed", file=file))
    for mark in v.get("classification_marks") or []:
        invalid.append(reason("classified", file=file, mark=mark["mark"],
                              page=mark.get("page") or "?"))
        evidence.append(_evidence(doc, mark.get("page")))
    if v.get("javascript"):
        attention.append(reason("javascript", file=file))
    if v.get("embedded_files"):
        attention.append(reason("embedded", file=file, count=v["embedded_files"]))
    if v.get("encrypted") and v.get("opens_without_password"):
        attention.append(reason("encrypted_open", file=file))
    size = (v.get("page_size") or {}).get("name")
    if paper and v.get("page_size") and fmt != "image" and size != paper:
        ps = v["page_size"]
        attention.append(reason("paper", file=file, paper=paper,
                                size=size or f"{ps['width_mm']}×{ps['height_mm']} mm"))
    if invalid:
        return "invalid", invalid + attention, evidence
    if attention:
        return "attention", attention, evidence
    return "met", [], evidence


def _check_sections(req: Requirement, doc: DocumentFacts, v: dict[str, Any], has_text: bool,
                    invalid: list[dict[str, str]], attention: list[dict[str, str]],
                    evidence: list[dict[str, Any]]) -> None:
    headings = [(h.get("text", ""), h.get("page")) for h in v.get("headings") or []]
    headings += [(o.get("title", ""), o.get("page")) for o in v.get("outline") or []]
    missing = []
    for section in req.sections:
        keys = [_norm(k) for k in section.keywords]
        hit = next((page for text, page in headings if any(k in _norm(text) for k in keys)),
                   False)
        if hit is False:
            missing.append(section)
        else:
            evidence.append({**_evidence(doc, hit), "section": section.id,
                             "section_title": section.title})
    if not missing:
        return
    names_zh = "、".join(s.title["zh-CN"] for s in missing)
    names_en = "; ".join(s.title["en"] for s in missing)
    if has_text and not headings:
        # Headings are recognised by their numbering or the bookmarks; a report that has
        # neither is not thereby wrong, so a person judges it rather than the rule.
        r = reason("sections_unrecognised", file=doc.filename, sections=names_zh)
        r["en"] = REASONS["sections_unrecognised"][1].format(file=doc.filename,
                                                            sections=names_en)
        r["sections"] = [s.id for s in missing]  # type: ignore[assignment]
        attention.append(r)
    elif has_text:
        r = reason("sections_missing", file=doc.filename, sections=names_zh)
        r["en"] = REASONS["sections_missing"][1].format(file=doc.filename, sections=names_en)
        r["sections"] = [s.id for s in missing]  # type: ignore[assignment]
        invalid.append(r)
    else:
        r = reason("sections_unchecked", file=doc.filename, sections=names_zh)
        r["en"] = REASONS["sections_unchecked"][1].format(file=doc.filename, sections=names_en)
        attention.append(r)


def _worst(statuses: Iterable[str]) -> str:
    return min(statuses, key=SEVERITY.index)


def assess(catalogue: Catalogue, kind: str | None, documents: Sequence[DocumentFacts],
           *, submitted: bool) -> Assessment:
    """The completeness of one packet. Drafts and submitted packets follow the same rules."""
    requirements = catalogue.requirements(kind)
    by_req: dict[str, list[DocumentFacts]] = {}
    for doc in documents:
        by_req.setdefault(doc.requirement or "", []).append(doc)
    items: list[Item] = []
    for req in requirements:
        docs = sorted(by_req.pop(req.id, []), key=lambda d: d.number)
        item = Item(requirement=req.id, title=req.title, required=req.required, status="met")
        if not docs:
            if req.provided_by != "applicant":
                item.status, item.reasons = "not_due", [reason("not_due")]
            elif req.required:
                item.status, item.reasons = "missing", [reason("missing")]
            else:
                item.status, item.reasons = "optional", [reason("optional_absent")]
            items.append(item)
            continue
        statuses = []
        for doc in docs:
            status, reasons, evidence = check_document(req, doc, catalogue.paper)
            statuses.append(status)
            item.reasons.extend(reasons)
            item.evidence.extend(evidence)
        if len(docs) > 1 and not req.multiple:
            item.reasons.append(reason("several", count=len(docs)))
            statuses.append("attention")
        item.status = _worst(statuses)
        items.append(item)
    unexpected = [{"requirement": key, **_evidence(doc)}
                  for key, docs in by_req.items() for doc in docs]
    counts = {name: sum(1 for i in items if i.status == name) for name in COUNTED}
    pending = sum(1 for i in items if i.status == "pending")
    if counts["missing"] or counts["invalid"]:
        status = "incomplete"
    elif counts["attention"] or pending:
        status = "attention"
    else:
        status = "complete"
    return Assessment(status=status, counts=counts, items=items, pending=pending,
                      unexpected=unexpected)
