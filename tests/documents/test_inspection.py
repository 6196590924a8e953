"""Inspection of real and hostile files, each through a real sandboxed child process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import builders as b
import pytest

Inspect = Callable[..., dict[str, Any]]  # the `inspect` fixture


def code(verdict: dict[str, Any]) -> str | None:
    return (verdict.get("error") or {}).get("code")


def test_a_text_pdf_reports_pages_text_headings_and_paper(inspect: Inspect) -> None:
    v = inspect(b.report_pdf())
    assert v["ok"] is True and v["error"] is None
    assert (v["format"], v["pages"], v["encrypted"]) == ("pdf", 7, False)
    assert v["text_layer"] is True and v["scanned"] is False and v["scanned_pages"] == 0
    assert v["characters"] > 7 * 10 * 10 and v["text_complete"] is True
    assert [h["text"] for h in v["headings"]] == b.SEVEN
    assert [h["page"] for h in v["headings"]] == list(range(1, 8))
    assert v["page_size"] == {"width_mm": 210.0, "height_mm": 297.0, "name": "A4"}
    assert v["reader"] == "qpdf"


def test_a_sample_reads_only_the_first_pages_text(inspect: Inspect) -> None:
    full = inspect(b.report_pdf(), text="full")
    sample = inspect(b.report_pdf(), text="sample")
    assert sample["pages"] == full["pages"] == 7
    assert 0 < sample["characters"] < full["characters"]
    assert sample["text_complete"] is False


def test_a_scanned_pdf_has_no_text_layer(inspect: Inspect) -> None:
    v = inspect(b.scan_pdf(3))
    assert v["ok"] is True and v["pages"] == 3
    assert v["text_layer"] is False and v["scanned"] is True and v["scanned_pages"] == 3


def test_an_image_scan_is_one_page_without_text(inspect: Inspect) -> None:
    v = inspect(b.png_scan())
    assert (v["ok"], v["format"], v["pages"], v["scanned"]) == (True, "image", 1, True)


def test_classification_marks_in_the_text_layer_are_found_with_their_page(
        inspect: Inspect) -> None:
    v = inspect(b.text_pdf([["公开内容"], ["机密★一年", "秘密 ★ 五年"]]))
    assert v["ok"] is True
    assert v["classification_marks"] == [{"mark": "机密★", "page": 2},
                                         {"mark": "秘密★", "page": 2}]


def test_a_docx_reports_headings_from_styles_and_counts(inspect: Inspect) -> None:
    v = inspect(b.docx_file([("一、领导", "Heading 1"), ("我们的领导体系。", None),
                             ("1.1 高层领导", "Heading 2"), ("绝密★ 不应出现", None)]))
    assert (v["ok"], v["format"], v["encrypted"]) == (True, "docx", False)
    assert [(h["text"], h["level"]) for h in v["headings"]] == [("一、领导", 1),
                                                                ("1.1 高层领导", 2)]
    assert v["characters"] == len("一、领导我们的领导体系。1.1高层领导绝密★不应出现")
    assert v["classification_marks"] == [{"mark": "绝密★", "page": None}]
    assert v["page_size"]["name"] in ("A4", "Letter")


def test_an_outline_is_read_with_target_pages(inspect: Inspect) -> None:
    v = inspect(b.outlined_pdf())
    assert v["outline"] == [{"title": "Leadership", "level": 1, "page": 1},
                            {"title": "Strategy", "level": 2, "page": 2}]


def test_javascript_and_embedded_files_are_flagged(inspect: Inspect) -> None:
    v = inspect(b.active_pdf())
    assert v["ok"] is True
    assert v["javascript"] is True and v["embedded_files"] == 1
    assert inspect(b.report_pdf())["javascript"] is False


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_a_pdf_that_opens_with_an_empty_password_is_read_and_marked_encrypted(
        inspect: Inspect, algorithm: str) -> None:
    v = inspect(b.encrypted_pdf("", algorithm, pages=3))
    assert (v["ok"], v["pages"], v["encrypted"], v["opens_without_password"]) == (
        True, 3, True, True)
    assert v["characters"] > 0


def test_a_pdf_locked_with_a_password_is_refused_as_encrypted(inspect: Inspect) -> None:
    v = inspect(b.encrypted_pdf("secret"))
    assert (v["ok"], code(v), v["encrypted"], v["opens_without_password"]) == (
        False, "inspect.encrypted", True, False)
    assert v["error"]["messages"]["zh-CN"].startswith("文件已加密")


@pytest.mark.parametrize(("build", "expected", "fmt"), [
    (b.truncated_pdf, "inspect.truncated", "pdf"),
    (lambda: b.docx_file([("正文", None)])[:-300], "inspect.truncated", "docx"),
    (b.billion_pages_pdf, "inspect.page_tree", "pdf"),
    (b.looping_page_tree_pdf, "inspect.page_tree", "pdf"),
    (b.deeply_nested_pdf, "inspect.too_deep", "pdf"),
    (b.executable_named_pdf, "inspect.executable", "executable"),
    (b.xxe_docx, "inspect.xml_entities", "docx"),
    (b.billion_laughs_docx, "inspect.xml_entities", "docx"),
    (b.many_entries_docx, "inspect.zip_bomb", "docx"),
    (b.macro_docx, "inspect.macros", "docm"),
    (b.legacy_doc, "inspect.legacy_doc", "doc"),
    (b.encrypted_office, "inspect.encrypted", "docx"),
    (b.plain_zip, "inspect.unsupported_format", "zip"),
    (lambda: b"", "inspect.empty", None),
    (lambda: b"just some text, no document", "inspect.unknown_format", None),
])
def test_a_hostile_or_unacceptable_file_gets_a_clear_code(
        inspect: Inspect, build: Any, expected: str, fmt: str | None) -> None:
    v = inspect(build(), name="upload.pdf")
    assert v["ok"] is False
    assert code(v) == expected
    assert v["format"] == fmt
    assert v["error"]["messages"]["zh-CN"] and v["error"]["messages"]["en"]


def test_a_billion_page_claim_still_reports_the_real_page_count(inspect: Inspect) -> None:
    assert inspect(b.billion_pages_pdf())["pages"] == 1


def test_a_zip_bomb_is_refused_before_anything_is_inflated(
        inspect: Inspect, tmp_path: Path, pool: Any) -> None:
    bomb = tmp_path / "bomb.docx"
    b.zip_bomb_docx(bomb, megabytes=600)
    assert bomb.stat().st_size < 5 * 1024 * 1024
    v = pool.inspect(bomb)
    assert code(v) == "inspect.zip_bomb"


def test_the_xxe_target_never_appears_in_a_verdict(inspect: Inspect) -> None:
    v = inspect(b.xxe_docx())
    assert "root:" not in str(v)


def test_a_text_layer_that_takes_too_long_costs_the_counts_not_the_verdict(
        tmp_path: Path) -> None:
    from services.documents.pdf_inspect import inspect_pdf

    path = tmp_path / "long.pdf"
    path.write_bytes(b.report_pdf(body_lines=30))
    verdict = inspect_pdf(path, "full", text_seconds=1e-4).as_dict()
    assert verdict["ok"] is True and verdict["pages"] == 7
    assert "pdf.text_out_of_time" in verdict["warnings"]
    assert verdict["text_complete"] is False
