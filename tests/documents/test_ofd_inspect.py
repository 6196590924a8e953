"""OFD files (GB/T 33190) in the sandboxed inspection: pages, text, marks, seals, hostile ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ofd_files as of
import pytest
from conftest import Inspect

from services.documents.catalogue import get
from services.documents.completeness import DocumentFacts, assess
from services.documents.sandbox import SandboxPool

PAGES = [["关于申报质量奖的承诺书 机密★1年", "一、领导", "本单位承诺所报材料真实。"],
         ["二、战略", "第二页正文"], ["第三页"]]


def code(verdict: dict[str, Any]) -> str | None:
    return verdict["error"]["code"] if verdict["error"] else None


def test_an_ofd_reports_its_pages_text_marks_and_paper(inspect: Inspect) -> None:
    v = inspect(of.ofd_file(PAGES), "证照.ofd")
    assert (v["ok"], v["format"], v["pages"]) == (True, "ofd", 3)
    assert v["text_layer"] is True and v["scanned"] is False
    assert v["text_scope"] == "full" and v["text_complete"] is True
    assert v["characters"] == sum(len("".join(p).replace(" ", "")) for p in PAGES)
    assert v["classification_marks"] == [{"mark": "机密★", "page": 1}]
    assert [(h["text"], h["page"]) for h in v["headings"]] == [("一、领导", 1), ("二、战略", 2)]
    assert v["page_size"]["name"] == "A4"
    # The viewer shows this text, as it cannot draw OFD pages.
    assert v["preview"][:3] == PAGES[0]
    assert v["signatures"] == []


def test_the_content_decides_not_the_name(inspect: Inspect) -> None:
    v = inspect(of.ofd_file([["正文"]]), "upload")
    assert (v["format"], v["pages"]) == ("ofd", 1)


def test_a_sample_reads_only_the_first_pages(inspect: Inspect) -> None:
    v = inspect(of.ofd_file([["第一页"]] * 2 + [["第三页 秘密★"]]), text="sample")
    assert v["pages"] == 3 and v["text_scope"] == "sample"
    assert v["classification_marks"] == []  # page 3 was not read, and none is claimed read


def test_an_sm2_seal_with_intact_digests_cannot_be_verified_never_valid(
        inspect: Inspect) -> None:
    v = inspect(of.ofd_file(PAGES, signed=True))
    [seal] = v["signatures"]
    assert seal["format"] == "ofd" and seal["kind"] == "Seal"
    assert seal["state"] == "unverifiable" and seal["reason"] == "signature.sm2"
    assert seal["intact"] is True and seal["covers_whole_file"] is True
    assert seal["pages"] == [1]
    assert seal["signing_time"] == "2026-11-30T09:30:00+00:00"
    assert seal["signer"] == of.SEAL_UNIT  # read from the SES_Signature, for people only
    assert seal["trusted"] is False


def test_a_sealed_ofd_changed_after_sealing_is_invalid(inspect: Inspect) -> None:
    forged = of._content(["本单位承诺所报材料均系伪造。"])
    v = inspect(of.ofd_file(PAGES, signed=True,
                            replace={"Doc_0/Pages/Page_0/Content.xml": forged}))
    [seal] = v["signatures"]
    assert seal["state"] == "invalid" and seal["reason"] == "signature.digest_mismatch"
    assert seal["intact"] is False and seal["changed_after_signing"] is True


@pytest.mark.parametrize(("build", "expected"), [
    (of.ofd_xxe, "inspect.xml_entities"),
    (of.ofd_billion_laughs, "inspect.xml_entities"),
    (of.ofd_many_entries, "inspect.zip_bomb"),
])
def test_a_hostile_ofd_is_refused_with_a_clear_code(
        inspect: Inspect, build: Any, expected: str) -> None:
    v = inspect(build(), "恶意.ofd")
    assert v["ok"] is False and code(v) == expected
    assert v["format"] == "ofd"
    assert v["error"]["messages"]["zh-CN"] and v["error"]["messages"]["en"]
    assert "root:" not in str(v)  # the XXE target never leaks into a verdict


def test_an_ofd_zip_bomb_is_refused_before_anything_is_inflated(
        tmp_path: Path, pool: SandboxPool) -> None:
    bomb = tmp_path / "bomb.ofd"
    of.ofd_zip_bomb(str(bomb), megabytes=600)
    assert bomb.stat().st_size < 5 * 1024 * 1024
    v = pool.inspect(bomb)
    assert code(v) == "inspect.zip_bomb"


def test_an_ofd_without_its_document_is_corrupt(inspect: Inspect) -> None:
    v = inspect(of.ofd_file([["正文"]], replace={
        "OFD.xml": f'<ofd:OFD xmlns:ofd="{of.OFD_NS}"><ofd:DocBody/></ofd:OFD>'.encode()}))
    assert code(v) == "inspect.corrupt"


@pytest.mark.parametrize("name", ["申报书.wps", "财务表.et", "汇报.dps"])
def test_a_wps_file_is_refused_with_how_to_export_it(inspect: Inspect, name: str) -> None:
    v = inspect(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2048, name)
    assert code(v) == "inspect.wps_format"
    assert "另存为" in v["error"]["messages"]["zh-CN"]
    assert "PDF 或 DOCX" in v["error"]["messages"]["zh-CN"]
    assert "Save As" in v["error"]["messages"]["en"]


def test_a_requirement_that_accepts_pdf_accepts_an_ofd(inspect: Inspect) -> None:
    catalogue = get("quality-award-2025")
    pdf_only = [r for r in catalogue.requirements("organisation")
                if "pdf" in r.formats and "docx" not in r.formats and not r.sections]
    assert pdf_only and all("ofd" in r.formats for r in pdf_only)
    verdict = inspect(of.ofd_file([["营业执照"]], signed=True), "营业执照.ofd")
    facts = [DocumentFacts(document_id="d1", version_id="v1", requirement=pdf_only[0].id,
                           filename="营业执照.ofd", verdict=verdict)]
    result = assess(catalogue, "organisation", facts, submitted=False)
    found = next(i for i in result.items if i.requirement == pdf_only[0].id)
    assert found.status == "met", found.reasons


def test_an_ofd_without_an_electronic_seal_needs_attention_where_a_seal_is_expected(
        inspect: Inspect) -> None:
    catalogue = get("quality-award-2025")
    sealed = next(r for r in catalogue.requirements("organisation") if r.sealed_scan)
    verdict = inspect(of.ofd_file([["申报表"]]), "申报表.ofd")
    facts = [DocumentFacts(document_id="d1", version_id="v1", requirement=sealed.id,
                           filename="申报表.ofd", verdict=verdict)]
    found = next(i for i in assess(catalogue, "organisation", facts, submitted=False).items
                 if i.requirement == sealed.id)
    assert found.status == "attention"
    assert [r["code"] for r in found.reasons] == ["ofd_not_sealed"]
    assert "没有电子签章" in found.reasons[0]["zh-CN"]


def test_the_text_of_a_template_page_counts_for_the_pages_drawn_on_it(
        inspect: Inspect) -> None:
    v = inspect(of.ofd_with_template(["电子发票（普通发票）", "机密★"], ["金额：壹佰元整"]))
    assert v["pages"] == 1
    assert v["preview"] == ["电子发票（普通发票）", "机密★", "金额：壹佰元整"]
    assert v["classification_marks"] == [{"mark": "机密★", "page": 1}]
