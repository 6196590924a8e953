"""The operator's first run in Chromium, through the pages alone (no JSON API): from the office
home to the set-up checklist, an award cycle created and opened, a recommending unit added and
edited, a waiver of the operating years recorded, the checklist following each step."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from intake.flows import new_uscc
from pagewalk import inspect

from dossier.localstack import AppStack

pytestmark = pytest.mark.stack


def _step(page: Any, key: str) -> Any:
    return page.locator(f'[data-step="{key}"]')


def _no_problems(page: Any) -> None:
    assert inspect(page, lang="zh-CN") == []


def test_an_operator_sets_up_a_cycle_units_and_a_waiver_through_the_pages_alone(
        open_page: Callable[..., Any], stack: AppStack) -> None:
    # Digits only: the names it makes appear on pages other tests read for words, not codes.
    tag = f"{uuid.uuid4().int % 10**6:06d}"
    title = f"第三届忻州市市长质量奖（{tag}）"
    today = date.today()
    page = open_page("operator", subject=f"op-first-{tag}", name="办公室")

    # From the office home to the checklist through the navigation.
    page.goto("/intake/")
    page.get_by_role("link", name="届次设置").first.click()
    page.get_by_role("heading", level=1, name="评选届次设置向导").wait_for()
    _no_problems(page)

    # A new cycle, still being prepared: its name in the title, the checklist says not done.
    page.get_by_role("link", name="设立新的评选届次").click()
    page.get_by_label("届次名称").fill(title)
    page.get_by_label("年度").fill(str(today.year))
    page.get_by_label("状态").select_option(label="筹备中")
    page.get_by_label("申报开始日期").fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("申报截止日期").fill((today + timedelta(days=60)).isoformat())
    page.get_by_label("市长质量奖最多").fill("5")
    page.get_by_label("安排陈述答辩").check()
    _no_problems(page)
    page.get_by_role("button", name="保存评选届次").click()
    # The Measures allow 3 awards at most: said next to the field, nothing saved.
    assert "《办法》第四条" in page.locator("#e-caps_awards").inner_text()
    page.get_by_label("市长质量奖最多").fill("3")
    page.get_by_label("申报材料目录").select_option(index=1)
    page.get_by_role("button", name="保存评选届次").click()
    page.get_by_text(f"评选届次“{title}”已保存。").wait_for()
    assert _step(page, "cycle").get_attribute("data-done") == "no"
    assert "筹备中" in _step(page, "cycle").inner_text()
    assert "未完成" in _step(page, "cycle").inner_text()
    assert _step(page, "catalogue").get_attribute("data-done") == "yes"
    cycle_id = re.search(r"cycle=([^&]+)", page.url).group(1)  # type: ignore[union-attr]

    # Opened for applications: the step is done.
    _step(page, "cycle").get_by_role("link", name="修改评选届次").click()
    assert page.title().startswith(title)
    assert cycle_id not in page.locator("h1").inner_text()
    page.get_by_label("状态").select_option(label="开放申报")
    page.get_by_role("button", name="保存评选届次").click()
    page.get_by_text(f"评选届次“{title}”已保存。").wait_for()
    assert _step(page, "cycle").get_attribute("data-done") == "yes"
    assert "已完成" in _step(page, "cycle").inner_text()

    # A recommending unit added, then renamed; every change is on the units page.
    _step(page, "units").get_by_role("link", name="前往推荐单位名录").click()
    _no_problems(page)
    page.get_by_role("link", name="新增推荐单位").click()
    page.get_by_label("代码").fill(f"T-{tag}")
    page.get_by_label("单位名称").fill(f"忻州试验区管委会{tag}")
    page.get_by_label("单位类别").select_option(label="开发区、风景区管委会")
    page.get_by_role("button", name="保存推荐单位").click()
    page.get_by_text(f"推荐单位“忻州试验区管委会{tag}”已保存。").wait_for()
    page.get_by_role("link", name=f"忻州试验区管委会{tag}").click()
    page.get_by_label("单位名称").fill(f"忻州综合试验区管委会{tag}")
    # Deactivated again at once, so other tests' checklists are not missing its recommender.
    page.get_by_label("在用（可向其报送申报材料，推荐人账号可归属该单位）").uncheck()
    page.get_by_role("button", name="保存推荐单位").click()
    row = page.locator(f'tr[data-unit="T-{tag}"]')
    assert f"忻州综合试验区管委会{tag}" in row.inner_text() and "已停用" in row.inner_text()

    # The city government's waiver, recorded from the checklist's link.
    page.goto(f"/intake/office/setup?cycle={cycle_id}")
    assert _step(page, "waivers").get_attribute("data-done") == "no"
    _step(page, "waivers").get_by_role("link", name="前往经营年限豁免").click()
    page.get_by_role("heading", level=1, name=f"{title} 经营年限豁免").wait_for()
    code = new_uscc()
    page.get_by_label("统一社会信用代码").fill(code[:-1] + ("0" if code[-1] != "0" else "1"))
    page.get_by_label("市政府文件文号").fill("忻政函〔2026〕15号")
    page.get_by_role("button", name="登记豁免").click()
    assert "统一社会信用代码无效" in page.locator("#e-credit_code").inner_text()
    page.get_by_label("统一社会信用代码").fill(code)
    page.get_by_role("button", name="登记豁免").click()
    page.get_by_text("豁免已登记。").wait_for()
    assert "忻政函〔2026〕15号" in page.locator(f'tr[data-waiver="{code}"]').inner_text()
    _no_problems(page)

    page.get_by_role("link", name="评选届次设置向导").click()
    assert _step(page, "waivers").get_attribute("data-done") == "yes"
    assert "本届已登记豁免 1 项" in _step(page, "waivers").inner_text()
    # The expert step sends the operator to review's expert registry.
    assert _step(page, "experts").get_by_role("link", name="去专家库登记").get_attribute(
        "href") == "/review/experts"
