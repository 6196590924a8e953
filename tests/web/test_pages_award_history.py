"""The award-history import in Chromium through the proxy: from the set-up checklist to the
import page, a file checked with its errors shown in Chinese (accessible, 360 px wide), a
corrected file imported, and the ban then enforced by the running intake service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from intake.flows import Intake, new_uscc, unique
from pagewalk import inspect

from dossier.localstack import AppStack

pytestmark = pytest.mark.stack

HEADER = "奖项,届次,年度,统一社会信用代码或身份证号,名称,等次,撤销日期,撤销理由\n"


def test_an_operator_imports_past_winners_and_the_ban_holds(
        open_page: Callable[..., Any], stack: AppStack, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    year = date.today().year
    winner = new_uscc()
    page = open_page("operator", subject=f"op-history-{tag}", name="办公室", width=360)

    page.goto("/intake/office/setup")
    page.get_by_role("link", name="导入历史获奖记录（以往各届的获奖、提名和撤销）").click()
    page.get_by_role("heading", level=1, name="历史获奖记录").wait_for()
    assert inspect(page, lang="zh-CN", narrow=True) == []

    bad = tmp_path / "往届名单.csv"
    bad.write_text(HEADER + f"忻州市市长质量奖,第五届（{year - 2}）,,{winner},忻州市甲公司,获奖,,\n"
                   f"忻州市市长质量奖,第五届（{year - 2}）,,{new_uscc()},忻州市乙公司,优秀奖,,\n",
                   encoding="utf-8")
    page.set_input_files("#f-file", str(bad))
    page.get_by_role("button", name="检查文件").click()
    page.get_by_text("等次「优秀奖」无法识别，应为“获奖”或“提名”。").wait_for()
    assert page.get_by_role("button", name="确认导入以上记录").count() == 0
    assert inspect(page, lang="zh-CN", narrow=True) == []

    good = tmp_path / "往届名单-改.csv"
    row = f"忻州市市长质量奖,第五届（{year - 2}）,,{winner},忻州市甲公司,获奖,,\n"
    good.write_text(HEADER + row, encoding="gb18030")  # as Excel in China saves CSV
    page.set_input_files("#f-file", str(good))
    page.get_by_role("button", name="检查文件").click()
    page.get_by_role("button", name="确认导入以上记录").click()
    page.get_by_text("历史获奖记录已导入：新增 1 条").wait_for()
    assert "第五届忻州市市长质量奖" in page.locator("#h-stored").locator("..").inner_text()

    with requests.Session() as http:
        intake = Intake(stack, http)
        cycle = intake.open_cycle(unique("hist")[:20], year=year,
                                  programme="xinzhou-mayor-quality-award")["id"]
        r = intake.create(intake.as_("applicant", unique("a")), cycle, credit_code=winner)
    assert r.status_code == 422 and r.json()["code"] == "eligibility.winner_barred", r.text
    cited = r.json()["errors"]["eligibility"][0]["zh-CN"]
    assert (f"该单位曾获第五届忻州市市长质量奖（{year - 2} 年，历史记录导入：往届名单-改.csv"
            in cited), cited
