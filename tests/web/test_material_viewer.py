"""Every person who judges a packet opens its files from the page that lists them (issue 15,
point 2), in Chromium through the one origin: the applicant uploads a PDF and a DOCX on its
packet page and reopens them; the recommender (核查情况) and the operator (形式审查) open
them from their application pages, the trade-secret PDF's pages carrying their names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from intake.flows import Intake, unique
from journey_steps import chinese_pdf, red_pixels, reload_until
from office_packets import company_name, ok
from waiting import poll

from dossier.localstack import AppStack

pytestmark = pytest.mark.stack

UNIT = "140932"  # 偏关县: a unit no other browser test routes to
PDF_NAME, DOCX_NAME = "核心工艺说明.pdf", "质量管理自评报告.docx"


@pytest.fixture(scope="module")
def intake(stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(stack, http)


def _docx(path: Path) -> None:
    from docx import Document

    document = Document()
    document.add_heading("质量管理自评报告", level=1)
    document.add_paragraph("一、领导作用：企业主要负责人亲自推动卓越绩效管理。")
    document.save(str(path))


def _image_bytes(page: Any) -> bytes:
    """The page picture the browser shows, fetched with the reader's own session."""
    image = page.locator("figure.page-view img")
    poll(lambda: image.evaluate("i => i.complete && i.naturalWidth > 0"), 30)
    response = page.request.get(image.get_attribute("src"))
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    return bytes(response.body())


def _no_serious_axe_violations(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    serious = [(v["id"], v["impact"]) for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, serious


def test_applicant_recommender_and_operator_open_the_files_from_their_pages(
        stack: AppStack, intake: Intake, open_page: Callable[..., Any],
        tmp_path: Path) -> None:
    cycle = str(intake.open_cycle()["id"])
    rec_subject = unique("rec-viewer")
    intake.recommender(UNIT, rec_subject)
    owner = unique("applicant-viewer")
    me = intake.as_("applicant", owner)
    name = company_name("查阅")
    app = ok(intake.create(me, cycle, name=name, county=UNIT), 201)
    pdf, docx = tmp_path / PDF_NAME, tmp_path / DOCX_NAME
    pdf.write_bytes(chinese_pdf(["核心工艺说明", "关键工艺参数"]))
    _docx(docx)

    # -- the applicant uploads on its packet page, then reopens each file ------------------
    applicant = open_page("applicant", owner, name)
    applicant.goto(f"/intake/packets/{app['id']}")
    # The requirements list comes from documents once the cycle is saved.
    reload_until(applicant, lambda: applicant.locator("select#u-requirement").count() > 0, 30)
    applicant.select_option("#u-requirement", "evidence")
    applicant.select_option("#u-confidentiality", "trade-secret")
    applicant.fill("#u-pages", "1-2")
    applicant.set_input_files("#u-files", [str(pdf)])
    poll(lambda: applicant.locator("[data-upload-row][data-state=done]").count() == 1, 60)
    applicant.reload()
    applicant.select_option("#u-requirement", "self-evaluation")
    applicant.select_option("#u-confidentiality", "internal")
    applicant.fill("#u-pages", "")
    applicant.set_input_files("#u-files", [str(docx)])
    poll(lambda: applicant.locator("[data-upload-row][data-state=done]").count() == 1, 60)
    poll(lambda: applicant.locator("#documents [data-filename]").count() == 2, 30)

    applicant.get_by_role("link", name=f"查看 {PDF_NAME}").click()
    assert applicant.get_by_role("heading", level=1).inner_text() == PDF_NAME
    # The inspection takes a moment after the upload: the page says so until it is done.
    reload_until(applicant, lambda: applicant.locator("figure.page-view img").count() == 1, 60)
    assert red_pixels(_image_bytes(applicant)) == 0  # the owner's own pages: no watermark
    applicant.get_by_role("link", name="下一页").click()
    assert "第 2 页，共 2 页" in applicant.locator("figcaption").inner_text()
    _no_serious_axe_violations(applicant)
    applicant.get_by_role("link", name="返回我的申报").click()
    applicant.get_by_role("link", name=f"查看 {DOCX_NAME}").click()
    reload_until(applicant, lambda: applicant.locator("[data-preview]").count() == 1, 60)
    assert "一、领导作用" in applicant.locator("[data-preview]").inner_text()
    with applicant.expect_download() as download:
        applicant.get_by_role("link", name="下载此文件").click()
    assert download.value.suggested_filename == DOCX_NAME
    assert Path(download.value.path()).read_bytes() == docx.read_bytes()

    # Publicity proof and submission (the applicant's own steps, tested elsewhere).
    proof = ok(intake.upload(me, app["id"], "内部公示证明.pdf", chinese_pdf(["内部公示证明"]),
                             requirement="publicity-proof"), 201)
    ok(intake.publicity(me, app["id"], proof["document_id"]))
    ok(intake.submit(me, app["id"]))

    # -- the recommender opens them from the queue's application page (核查情况) ------------
    recommender = open_page("recommender", rec_subject, "偏关县市场监督管理局",
                            scope={"unit": UNIT})
    recommender.goto(f"/intake/queue/{app['id']}")
    recommender.get_by_role("link", name=f"查看 {PDF_NAME}").click()
    assert recommender.get_by_role("heading", level=1).inner_text() == PDF_NAME
    assert recommender.locator("[data-watermarked]").count() == 1
    assert red_pixels(_image_bytes(recommender)) > 500  # the recommender's name on the page
    recommender.get_by_role("link", name="返回申报详情").click()
    recommender.get_by_role("link", name=f"查看 {DOCX_NAME}").click()
    assert "一、领导作用" in recommender.locator("[data-preview]").inner_text()
    recommender.goto(f"/intake/queue/{app['id']}")
    recommender.get_by_label("推荐意见").fill("经核查，材料真实完整，同意推荐。")
    recommender.get_by_label("县级人民政府推荐文件文号").fill("偏政函〔2026〕2号")
    recommender.get_by_role("button", name="推荐", exact=True).click()
    recommender.wait_for_url("**/intake/queue")

    # -- the operator opens them from the application page of formal review (形式审查) ------
    operator = open_page("operator", unique("op-viewer"), "市场监管局受理员")
    operator.goto(f"/intake/office/applications/{app['id']}")
    operator.get_by_role("link", name=f"查看 {DOCX_NAME}").click()
    assert "一、领导作用" in operator.locator("[data-preview]").inner_text()
    with operator.expect_download() as download:
        operator.get_by_role("link", name="下载此文件").click()
    assert Path(download.value.path()).read_bytes() == docx.read_bytes()
    operator.get_by_role("link", name="返回申报详情").click()
    operator.get_by_role("link", name=f"查看 {PDF_NAME}").click()
    assert red_pixels(_image_bytes(operator)) > 500
    _no_serious_axe_violations(operator)

    # Someone else's unit: the same address is a 404 page.
    other = open_page("recommender", unique("rec-other"), "保德县市场监督管理局",
                      scope={"unit": "140931"})
    response = other.goto(operator.url)
    assert response is not None and response.status == 404
