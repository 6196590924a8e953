"""What the inspection reads out of text: counts, headings, classification marks."""

from __future__ import annotations

import pytest

from services.documents import textscan


def test_marks_are_found_normalised_and_once() -> None:
    text = "机密★一年\n正文提到机密★两次，秘密 ☆ 与 绝密★"
    assert textscan.classification_marks(text) == ["机密★", "秘密★", "绝密★"]
    assert textscan.classification_marks("机密文件（无星标）") == []


def test_words_count_each_chinese_character_and_each_latin_word() -> None:
    characters, words = textscan.count("质量管理 ISO 9001 体系\n")
    assert characters == len("质量管理ISO9001体系")
    assert words == 4 + 2 + 2


@pytest.mark.parametrize(("line", "level"), [
    ("一、领导", 1), ("（二）战略规划", 2), ("第三章 顾客与市场", 1), ("第2节 资源", 2),
    ("4.1 过程管理", 2), ("4.1.2 关键过程", 3), ("7 结果", 1), ("Chapter 3 Results", 1),
    ("本公司在2020年获得了多项荣誉，这一段话很长而且不是标题，所以不应被当作标题识别出来，"
     "即使它以数字开头。", None),
    ("2020年营业收入", None), ("", None),
])
def test_numbered_heading_lines_get_their_level(line: str, level: int | None) -> None:
    assert textscan.heading_level(line) == level
