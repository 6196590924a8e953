"""Completeness of organisation and individual packets against the shipped catalogue, on the
verdicts of real files inspected through the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import builders as b
import pytest

from services.documents.catalogue import get
from services.documents.completeness import Assessment, DocumentFacts, assess
from services.documents.sandbox import SandboxPool

CATALOGUE = get("quality-award-2025")
APPLICANT_SUPPLIED = {kind: [r for r in CATALOGUE.requirements(kind)
                             if r.provided_by == "applicant"]
                      for kind in ("organisation", "individual")}
REQUIRED = [(kind, r.id) for kind, reqs in APPLICANT_SUPPLIED.items() for r in reqs
            if r.required]
ALL = [(kind, r.id) for kind, reqs in APPLICANT_SUPPLIED.items() for r in reqs]


@pytest.fixture(scope="module")
def verdicts(pool: SandboxPool, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, dict[str, Any]]:
    """One real verdict per kind of file a packet holds (and some bad ones)."""
    folder = tmp_path_factory.mktemp("packet")
    files = {
        "scan": b.scan_pdf(2),
        "report": b.report_pdf(),
        "report-no-resources": b.report_pdf([s for s in b.SEVEN if "资源" not in s]),
        "report-unnumbered": b.report_pdf([s.split("、", 1)[-1] for s in b.SEVEN]),
        "short-docx": b.docx_file([("组织概述", "Heading 1"), ("本公司成立于2010年。", None)]),
        "long-docx": b.docx_file([("组织概述", "Heading 1")] + [("质" * 500, None)] * 8),
        "text-pdf": b.text_pdf([["证书复印件说明"]]),
        "classified": b.text_pdf([["机密★五年", "内部资料"]]),
        "locked": b.encrypted_pdf("pw"),
        "png": b.png_scan(),
    }
    found = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        found[name] = pool.inspect(path)
    assert found["locked"]["ok"] is False and found["scan"]["scanned_pages"] == 2
    return found


def good_file_for(requirement: Any) -> str:
    if requirement.sections:
        return "report"
    if requirement.text_expected:
        return "short-docx"
    return "scan"


def packet(kind: str, verdicts: dict[str, dict[str, Any]],
           override: dict[str, str | None] | None = None) -> list[DocumentFacts]:
    """A packet with one good file per requirement; `override` swaps files or drops them."""
    override = override or {}
    docs = []
    for n, req in enumerate(APPLICANT_SUPPLIED[kind]):
        name = override.get(req.id, good_file_for(req))
        if name is None:
            continue
        docs.append(DocumentFacts(document_id=f"d{n}", version_id=f"v{n}",
                                  requirement=req.id, filename=f"{req.id}-{name}.pdf",
                                  verdict=verdicts[name]))
    return docs


def item(result: Assessment, requirement: str) -> Any:
    return next(i for i in result.items if i.requirement == requirement)


Check = Callable[..., Assessment]


@pytest.fixture
def check(verdicts: dict[str, dict[str, Any]]) -> Check:
    def run(kind: str, override: dict[str, str | None] | None = None) -> Assessment:
        return assess(CATALOGUE, kind, packet(kind, verdicts, override), submitted=True)
    return run


@pytest.mark.parametrize("kind", ["organisation", "individual"])
def test_a_complete_packet_meets_every_requirement(check: Check, kind: str) -> None:
    result = check(kind)
    assert result.status == "complete", [(i.requirement, i.reasons) for i in result.items
                                          if i.status != "met"]
    assert result.counts == {"met": len(APPLICANT_SUPPLIED[kind]), "missing": 0,
                             "invalid": 0, "attention": 0}
    # The recommendation is added later by the recommender: not due, not counted.
    assert item(result, "recommendation").status == "not_due"


@pytest.mark.parametrize(("kind", "requirement"), REQUIRED)
def test_each_required_document_missing_makes_the_packet_incomplete(
        check: Check, kind: str, requirement: str) -> None:
    result = check(kind, {requirement: None})
    assert result.status == "incomplete"
    assert result.missing == [requirement]
    found = item(result, requirement)
    assert found.status == "missing"
    assert found.reasons[0]["zh-CN"] == "未提交该项材料。"
    assert found.reasons[0]["en"] == "This document has not been provided."


@pytest.mark.parametrize(("kind", "requirement"), ALL)
def test_each_document_that_does_not_open_is_invalid_with_the_inspection_reason(
        check: Check, kind: str, requirement: str) -> None:
    result = check(kind, {requirement: "locked"})
    assert result.status == "incomplete"
    found = item(result, requirement)
    assert found.status == "invalid"
    assert found.reasons[0]["inspection_code"] == "inspect.encrypted"
    assert "文件已加密" in found.reasons[0]["zh-CN"]
    assert found.evidence[0]["filename"] == f"{requirement}-locked.pdf"
    assert result.counts["invalid"] == 1


@pytest.mark.parametrize(("kind", "requirement"), [
    (k, r.id) for k, reqs in APPLICANT_SUPPLIED.items() for r in reqs if "docx" not in r.formats])
def test_a_word_file_where_only_a_scan_is_accepted_is_invalid(
        check: Check, kind: str, requirement: str) -> None:
    found = item(check(kind, {requirement: "short-docx"}), requirement)
    assert found.status == "invalid"
    assert found.reasons[0]["code"] == "format"


def test_an_overview_over_its_character_limit_is_invalid(check: Check) -> None:
    found = item(check("organisation", {"overview": "long-docx"}), "overview")
    assert found.status == "invalid"
    assert [r["code"] for r in found.reasons] == ["too_long"]
    assert "3000" in found.reasons[0]["zh-CN"]


def test_a_self_evaluation_without_one_of_the_seven_categories_is_invalid(
        check: Check) -> None:
    found = item(check("organisation", {"self-evaluation": "report-no-resources"}),
                 "self-evaluation")
    assert found.status == "invalid"
    assert found.reasons[0]["code"] == "sections_missing"
    assert found.reasons[0]["sections"] == ["resources"]
    assert "资源" in found.reasons[0]["zh-CN"] and "Resources" in found.reasons[0]["en"]
    # The sections found are evidence, with the page each starts on.
    pages = {e.get("section"): e["page"] for e in found.evidence if e.get("section")}
    assert pages["leadership"] == 1 and pages["results"] == 6


def test_a_self_evaluation_without_numbered_headings_asks_for_a_hand_check(
        check: Check) -> None:
    found = item(check("organisation", {"self-evaluation": "report-unnumbered"}),
                 "self-evaluation")
    assert found.status == "attention"
    assert [r["code"] for r in found.reasons] == ["sections_unrecognised"]
    assert len(found.reasons[0]["sections"]) == 7
    assert "人工核对" in found.reasons[0]["zh-CN"] and "by hand" in found.reasons[0]["en"]


def test_a_scanned_self_evaluation_asks_for_a_hand_check_of_its_sections(
        check: Check) -> None:
    found = item(check("organisation", {"self-evaluation": "scan"}), "self-evaluation")
    assert found.status == "attention"
    assert {r["code"] for r in found.reasons} == {"no_text", "sections_unchecked"}


def test_a_classified_mark_makes_a_document_invalid_with_its_page(check: Check) -> None:
    found = item(check("organisation", {"evidence": "classified"}), "evidence")
    assert found.status == "invalid"
    assert any(r["code"] == "classified" and "机密★" in r["zh-CN"] for r in found.reasons)
    assert {"page": 1}.items() <= found.evidence[-1].items()


def test_a_text_only_pdf_where_a_sealed_scan_is_expected_needs_attention(
        check: Check) -> None:
    result = check("organisation", {"commitment": "text-pdf"})
    assert result.status == "attention"
    assert item(result, "commitment").reasons[0]["code"] == "not_sealed_scan"


def test_an_image_scan_answers_a_sealed_requirement(check: Check) -> None:
    assert item(check("individual", {"employer-opinion": "png"}),
                "employer-opinion").status == "met"


def test_a_document_still_being_inspected_keeps_the_packet_from_complete(
        verdicts: dict[str, dict[str, Any]]) -> None:
    docs = packet("organisation", verdicts)
    docs[0] = DocumentFacts(docs[0].document_id, docs[0].version_id, docs[0].requirement,
                            docs[0].filename, verdict=None)
    result = assess(CATALOGUE, "organisation", docs, submitted=True)
    assert result.status == "attention" and result.pending == 1
    assert result.items[0].status == "pending"


def test_uploads_under_an_unknown_requirement_are_listed_apart(
        verdicts: dict[str, dict[str, Any]]) -> None:
    docs = [*packet("individual", verdicts),
            DocumentFacts("x", "vx", "photos", "holiday.jpg", verdict=verdicts["png"])]
    result = assess(CATALOGUE, "individual", docs, submitted=True)
    assert result.status == "complete"
    assert result.unexpected == [{"requirement": "photos", "document_id": "x",
                                  "version_id": "vx", "filename": "holiday.jpg", "page": None}]


def test_the_shipped_catalogue_lists_the_seven_categories_for_the_self_evaluation() -> None:
    [req] = [r for r in CATALOGUE.requirements("organisation") if r.id == "self-evaluation"]
    assert len(req.sections) == 7 and req.max_characters == 30000
