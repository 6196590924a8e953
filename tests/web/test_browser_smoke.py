"""The shared layout in a real Chromium: Chinese first, the language switch, keyboard skip link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_layout_in_chromium_chinese_then_english(open_page: Callable[..., Any]) -> None:
    page = open_page("supervisor", "sup-smoke", "监督员")
    page.goto("/review/audit")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", level=1).inner_text() == "审计日志"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Audit log"
    page.goto("/intake/audit")  # remembered across services
    assert page.locator("html").get_attribute("lang") == "en"
