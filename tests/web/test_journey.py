"""The whole journey through the pages alone, in headless Chromium, one browser per person.

The operator signs in for the first time and, from the office home, follows 届次设置 to the
set-up checklist and creates the award cycle on /intake/office/cycles/new (its name, windows,
caps, catalogue, status 开放申报), then makes the recommender's account on /intake/accounts.
An organisation registers, answers the eligibility questions on the cycle chosen by its name,
uploads three files at once (one a 200 MB PDF) with a progress bar each, marks one a trade
secret with a page range, records its internal publicity and submits with the state-secret
attestation. The recommender opens the trade-secret file (查看, watermarked) before approving
with an opinion; the operator opens the publicity proof (查看) in formal review and returns the
packet once with a reason; the applicant uploads a new version of that file (上传为 ... 的新版本)
and resubmits; the recommender approves again and the operator, having opened the new
version, accepts, publishes the acceptance list, registers the expert and runs the
assignment; the expert makes the declaration, reads the watermarked trade-secret page and
scores; the operator records the department opinions and publishes the recommendation list
(a start in the past, with the reason 已在报刊公示); a member of the public files an
anonymous objection against the acceptance list and keeps the receipt code; the supervisor
reads it (no reporter) and the audit log (hash chain intact); the operator answers it and
the objector follows the case to the answer on /review/public/objections/follow; the
decision issues a certificate whose serial verifies on the public page; the applicant's own
page shows the timeline through to 获奖 and hands over the certificate and the decision
letter as PDFs.

The test starts its own `make run` instance (`dossier run`, as tests/e2e/test_embedded_run.py
does) on a new, empty data folder, and the operator's first sign-in is the one-time link that
instance printed. No step uses the JSON API or the command line: every other account is made
on /intake/accounts and signed in through its set-password link, in that person's own
browser. One check (not a step) reads the stored file's sha256 through the API to prove the
200 MB upload arrived whole. Addresses typed rather than clicked are the pages' own (a cycle
chosen with ?cycle=). No clock is moved: the recommendation list's publicity is dated to have
ended already (the page asks for the reason), so the objection is filed against the
acceptance list, under publicity from today.
"""

from __future__ import annotations

import contextlib
import io
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e.test_embedded_run import all_healthy, instance_env, secret_of, sign_in_link, start, stop
from intake.flows import CALENDAR, new_uscc
from journey_steps import (
    PASSWORD,
    Journey,
    chinese_pdf,
    flash,
    h1,
    large_pdf,
    no_untranslated,
    red_pixels,
    reload_until,
)
from pypdf import PdfReader
from waiting import poll

from services.review.programme import Programme
from shared.auth import issue_token

pytestmark = pytest.mark.stack

@dataclass(frozen=True)
class Fresh:
    """A `make run` instance on a data folder of its own, new for this test."""

    public_url: str
    urls: dict[str, str]
    first_link: str  # the first sign-in link it printed
    secret: str


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Fresh]:
    data = tmp_path / "var"
    env, urls, proxy_port = instance_env(data)
    log = tmp_path / "run.log"
    proc = start(env, log)
    try:
        poll(lambda: all_healthy(urls), 90)
        public = f"http://127.0.0.1:{proxy_port}"
        poll(lambda: all_healthy({"origin": f"{public}/intake"}), 30)
        link = poll(lambda: sign_in_link(log.read_text()), 60)
        yield Fresh(public, urls, link, secret_of(data))
    finally:
        stop(proc)


ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "journey"
MiB = 1024 * 1024
COUNTY = "140902"  # 忻府区: the applicant's county, the recommender's unit on the county route


def _staff_account(page: Any, role: str, subject: str, name: str, unit: str = "") -> str:
    """The operator creates a staff account on /intake/accounts/new: the one-time link shown."""
    page.goto("/intake/accounts")
    page.get_by_role("main").get_by_role("link", name="新建工作人员账号").click()
    assert h1(page) == "新建工作人员账号"
    page.get_by_label("角色").select_option(role)
    page.get_by_label("登录名").fill(subject)
    page.get_by_label("姓名/名称").fill(name)
    page.get_by_label("电子邮箱").fill(f"{subject}@example.org")
    if unit:
        page.get_by_label("所属单位（仅限推荐单位）").select_option(unit)
    page.get_by_role("button", name="创建账号").click()
    assert h1(page) == "账号已创建"
    no_untranslated(page)
    return str(page.input_value("#set-password-link"))


@pytest.mark.timeout(600)  # the 200 MB upload and a whole cycle, on a shared machine
def test_an_award_from_registration_to_a_verified_certificate_through_the_pages(
        fresh: Fresh, chromium: Any, tmp_path: Path) -> None:
    journey = Journey(fresh.public_url, chromium, ARTIFACTS)
    tag = uuid.uuid4().hex[:6]
    name = f"忻州旅程{tag}精密制造有限公司"
    credit_code = new_uscc(COUNTY)
    title = f"第三届忻州市市长质量奖（{tag}）"
    # The files: a 200 MB PDF, the trade secret (two pages of text) and the publicity proof.
    big, secret, proof = (tmp_path / "质量成果证明材料.pdf", tmp_path / "核心工艺说明.pdf",
                          tmp_path / "内部公示证明.pdf")
    big_sha = large_pdf(big, 200 * MiB)
    secret.write_bytes(chinese_pdf(["核心工艺说明", "关键工艺参数"]))
    proof.write_bytes(chinese_pdf(["内部公示证明"]))
    sealed = tmp_path / "内部公示证明（盖章）.pdf"
    sealed.write_bytes(chinese_pdf(["内部公示证明", "忻州市市场监督管理局（盖章）"]))
    try:
        # -- 0. the operator's first run: sign in, the set-up checklist, the cycle -----------
        operator = journey.person()
        journey.set_password(operator, fresh.first_link)  # what `make run` printed
        operator.get_by_role("link", name="届次设置").first.click()
        operator.get_by_role("heading", level=1, name="评选届次设置向导").wait_for()
        operator.get_by_role("link", name="设立新的评选届次").click()
        today = date.today()
        operator.get_by_label("届次名称").fill(title)
        operator.get_by_label("年度").fill(str(today.year))
        operator.get_by_label("状态").select_option(label="开放申报")
        operator.get_by_label("申报开始日期").fill((today - timedelta(days=1)).isoformat())
        operator.get_by_label("申报截止日期").fill((today + timedelta(days=60)).isoformat())
        operator.get_by_label("市长质量奖最多").fill("3")
        operator.get_by_label("申报材料目录").select_option(index=1)
        operator.get_by_role("button", name="保存评选届次").click()
        operator.get_by_text(f"评选届次“{title}”已保存。").wait_for()
        step = operator.locator('[data-step="cycle"]')
        assert step.get_attribute("data-done") == "yes" and "已完成" in step.inner_text()
        found = re.search(r"cycle=([^&]+)", operator.url)
        assert found, operator.url
        cycle = found.group(1)
        assert cycle not in h1(operator)  # named by its title, never its id
        no_untranslated(operator)
        journey.shot(operator, "00-cycle-set-up")
        rec_link = _staff_account(operator, "recommender", f"rec.journey.{tag}",
                                  "忻府区市场监督管理局", unit=COUNTY)

        # -- 1. the applicant registers with the organisation's credit code -----------------
        applicant = journey.person()
        applicant.goto("/intake/register?kind=organisation")
        assert h1(applicant) == "申报者注册"
        applicant.fill("#f-credit_code", credit_code)
        applicant.fill("#f-name", name)
        applicant.fill("#f-email", "quality@example.org")
        applicant.fill("#f-password", PASSWORD)
        applicant.fill("#f-password_again", PASSWORD)
        applicant.click("main form.card button[type=submit]")
        applicant.wait_for_url("**/intake/")
        assert name in applicant.locator("header").inner_text()  # signed in, named
        no_untranslated(applicant)
        journey.shot(applicant, "01-registered")

        # -- 2. eligibility, the packet, three files at once, trade secret, publicity, submit
        assert "账号已开通" in flash(applicant)
        applicant.locator("main").get_by_role("link", name="我的申报").click()
        applicant.get_by_role("link", name="开始申报").click()
        assert h1(applicant) == "开始申报"
        offered = applicant.locator("#f-cycle option").filter(has_text=title)  # by its name
        applicant.select_option("#f-cycle", offered.get_attribute("value"))
        applicant.check("#f-kind-organisation")
        applicant.fill("#f-name", name)
        applicant.select_option("#f-county", COUNTY)
        applicant.fill("#f-credit_code", credit_code)
        applicant.fill("#f-founded_on", "2012-03-04")
        applicant.fill("#f-legal_representative", "张明")
        applicant.fill("#f-industry", "装备制造")
        applicant.check("#f-attest_no_accident-yes")
        applicant.check("#f-attest_no_violation-yes")
        applicant.click("main form.card button[type=submit]")
        applicant.wait_for_url(re.compile(r".*/intake/packets/[0-9a-f-]{36}$"))
        app_id = applicant.url.rsplit("/", 1)[1]
        assert h1(applicant) == name
        assert applicant.locator("[data-status]").first.inner_text() == "草稿"

        # The requirements list arrives from documents once the new cycle is saved.
        reload_until(applicant, lambda: applicant.locator("select#u-requirement").count() > 0,
                     60)
        applicant.select_option("#u-requirement", "evidence")
        applicant.set_input_files("#u-files", [str(big), str(secret), str(proof)])
        rows = applicant.locator("[data-upload-row]")
        assert rows.count() == 3 and applicant.locator("[data-upload-row] progress").count() == 3
        bar = rows.filter(has_text=big.name).locator("progress")
        seen: list[float] = []

        def moving() -> bool:  # the big file's own bar is seen part-way, and going up
            value = float(bar.evaluate("e => e.value / e.max * 100"))
            if 0 < value < 100 and (not seen or value > seen[-1]):
                seen.append(value)
            return len(seen) >= 2

        poll(moving, 60, every=0.05)
        journey.shot(applicant, "02a-uploading")
        poll(lambda: applicant.locator("[data-upload-row][data-state=done]").count() == 3, 240)
        assert all("已保存" in text for text in rows.all_inner_texts())
        assert bar.evaluate("e => e.value / e.max") == 1
        poll(lambda: applicant.locator("#documents [data-filename]").count() == 3, 30)
        # A check, not a step: the stored bytes are the file's.
        me = {"Authorization": "Bearer " + issue_token(
            fresh.secret, subject=f"org-{credit_code}", role="applicant", ttl_seconds=600)}
        detail = requests.get(f"{fresh.urls['intake']}/api/applications/{app_id}", headers=me,
                              timeout=30)
        assert detail.status_code == 200, detail.text
        versions = [v for d in detail.json()["documents"] for v in d["versions"]]
        assert {v["filename"]: v["sha256"] for v in versions}[big.name] == big_sha

        # The trade secret, pages 1-2 (the page reloads with the saved level).
        row = applicant.locator(f'#documents tr[data-filename="{secret.name}"]')
        row.get_by_text(f"修改《{secret.name}》的密级").click()  # the collapsed form opens
        row.get_by_label("级别", exact=True).select_option("trade-secret")
        row.get_by_label("商业秘密页码").fill("1-2")
        row.locator("form.compact button[type=submit]").click()
        applicant.wait_for_load_state()
        row = applicant.locator(f'#documents tr[data-filename="{secret.name}"]')
        assert row.locator("select[name=confidentiality]").input_value() == "trade-secret"
        assert row.locator("input[name=secret_pages]").input_value() == "1-2"

        # Internal publicity: five working days that have ended, the proof one of the files.
        start = CALENDAR.add_workdays(date.today(), -8)
        applicant.fill("#f-starts_on", start.isoformat())
        applicant.fill("#f-ends_on", CALENDAR.publicity_end(start).isoformat())
        applicant.select_option("#f-document_id", label=proof.name)
        applicant.click("#publicity button[type=submit]")
        applicant.wait_for_load_state()
        assert not applicant.locator(".field-error").count()

        # The state-secret attestation, then submit.
        applicant.check("#f-attest_no_state_secrets")
        applicant.check("#f-attest_authentic")
        applicant.click("#submit button[type=submit]")
        applicant.wait_for_load_state()
        reload_until(applicant, lambda: applicant.locator(
            '[data-status="submitted"]').count() > 0, 10)
        assert applicant.locator("#uploader").count() == 0  # frozen
        no_untranslated(applicant)
        journey.shot(applicant, "02-submitted")

        # -- 3. the recommender opens the trade secret (watermarked), then recommends -------
        recommender = journey.person()
        journey.set_password(recommender, rec_link)

        def recommend(opinion: str) -> None:
            recommender.goto("/intake/queue")
            assert h1(recommender) == "推荐审核"
            recommender.get_by_role("link", name=name).click()
            assert h1(recommender) == name
            recommender.get_by_label("推荐意见").fill(opinion)
            recommender.get_by_label("县级人民政府推荐文件文号").fill("忻府政函〔2026〕8号")
            recommender.get_by_role("button", name="推荐", exact=True).click()
            recommender.wait_for_url("**/intake/queue")
            assert "已推荐" in flash(recommender)

        recommender.goto("/intake/queue")
        recommender.get_by_role("link", name=name).click()
        assert "商业秘密" in recommender.locator("main").inner_text()
        recommender.get_by_role("link", name=f"查看 {secret.name}").click()
        assert h1(recommender) == secret.name
        reload_until(recommender, lambda: recommender.locator(
            "figure.page-view img").count() == 1, 60)
        assert recommender.locator("[data-watermarked]").count() == 1
        picture = recommender.request.get(
            recommender.locator("figure.page-view img").get_attribute("src"))
        assert picture.status == 200 and red_pixels(picture.body()) > 500  # its reader's name
        journey.shot(recommender, "03a-recommender-reads")
        recommender.get_by_role("link", name="返回申报详情").click()
        assert h1(recommender) == name
        recommend("经核查，申报材料真实完整，同意推荐。")
        journey.shot(recommender, "03-recommended")

        # -- 4. formal review: the operator opens the proof and returns the packet once -------
        operator.goto(f"/intake/office/applications?cycle={cycle}&status=recommended")
        assert h1(operator) == "形式审查"
        operator.get_by_role("link", name=name).click()
        packet_url = operator.url
        assert "经核查，申报材料真实完整，同意推荐。" in operator.locator("main").inner_text()
        operator.get_by_role("link", name=f"查看 {proof.name}").click()
        assert h1(operator) == proof.name
        reload_until(operator, lambda: operator.locator("figure.page-view img").count() == 1, 60)
        journey.shot(operator, "04r-operator-reads")
        operator.get_by_role("link", name="返回申报详情").click()
        sending_back = operator.get_by_role("region", name="退回并说明理由")
        sending_back.get_by_label("理由").fill("内部公示证明须加盖单位公章，请上传盖章后的新版本。")
        sending_back.get_by_role("button", name="退回申报者").click()
        operator.wait_for_load_state()
        assert "申报已退回申报者。" in flash(operator)
        assert operator.locator('[data-status="returned"]').count() > 0

        # -- 4b. the applicant uploads a new version of the proof and resubmits ------------
        applicant.goto("/intake/packets")
        applicant.get_by_role("main").get_by_role("link", name=name).first.click()
        assert "内部公示证明须加盖单位公章" in applicant.locator("main").inner_text()
        applicant.get_by_label("材料项", exact=True).select_option("evidence")
        applicant.get_by_label("上传为").select_option(label=f"{proof.name} 的新版本")
        applicant.set_input_files("#u-files", [str(sealed)])
        poll(lambda: applicant.locator("[data-upload-row][data-state=done]").count() == 1, 60)
        applicant.reload()
        row = applicant.locator(f'#documents tr[data-filename="{sealed.name}"]')
        poll(lambda: row.count() == 1, 30)
        assert applicant.locator("#documents [data-filename]").count() == 3  # a version, not
        applicant.check("#f-attest_no_state_secrets")                       # a 4th file
        applicant.check("#f-attest_authentic")
        applicant.get_by_role("button", name="重新提交").click()
        applicant.wait_for_load_state()
        reload_until(applicant, lambda: applicant.locator(
            '[data-status="submitted"]').count() > 0, 10)
        journey.shot(applicant, "04b-resubmitted")
        recommend("经复核，已补充盖章公示证明，同意推荐。")

        # -- 4c. the operator accepts, publishes the acceptance list, registers the expert and
        #       runs the assignment ------------------------------------------------------------
        operator.goto(packet_url)
        assert "经复核，已补充盖章公示证明，同意推荐。" in operator.locator("main").inner_text()
        operator.get_by_role("link", name=f"查看 {sealed.name}").click()  # the new version
        assert h1(operator) == sealed.name
        reload_until(operator, lambda: operator.locator("figure.page-view img").count() == 1, 60)
        operator.get_by_role("link", name="返回申报详情").click()
        operator.get_by_role("button", name="受理", exact=True).click()
        operator.wait_for_load_state()
        assert "已受理该申报。" in flash(operator)
        assert operator.locator('[data-status="accepted"]').count() > 0
        operator.goto(f"/intake/office/acceptance?cycle={cycle}")
        assert h1(operator) == "受理名单"
        operator.fill("#f-starts_on", date.today().isoformat())
        operator.click('form[action$="/office/acceptance"] button[type=submit]')
        operator.wait_for_load_state()
        assert operator.locator("[data-window]").count() == 1
        journey.shot(operator, "04a-acceptance-list")

        expert_subject = f"expert.journey.{tag}"
        expert_link = _staff_account(operator, "expert", expert_subject, "李评审")
        expert = journey.person()  # the expert sets a password on getting the mail, and leaves
        journey.set_password(expert, expert_link)
        expert.click('header form[action="/intake/sign-out"] button')
        expert.wait_for_url("**/intake/**")
        assert expert.locator('header a[href="/intake/sign-in"]').count() == 1
        operator.goto("/review/experts/new")
        assert h1(operator) == "新增专家"
        operator.fill("#f-subject", expert_subject)
        operator.fill("#f-name", "李评审")
        operator.fill("#f-organisation", "山西大学质量研究所")
        operator.fill("#f-fields", "装备制造")
        operator.click("main form button[type=submit]")
        operator.wait_for_url(re.compile(r".*/review/experts/[0-9a-f-]{36}$"))
        expert_id = operator.url.rsplit("/", 1)[1]
        assert h1(operator) == "李评审"

        operator.goto(f"/review/panels?cycle={cycle}")
        assert h1(operator) == "分配与评分"
        reload_until(operator, lambda: operator.locator(f"#app-{app_id}").count() > 0)
        operator.select_option("#f-stage", "material")
        operator.fill("#f-per_application", "1")
        operator.fill("#f-max_load", "1")
        operator.fill("#f-deadline", (date.today() + timedelta(days=10)).isoformat())
        operator.check(f"#pool-{expert_id}")
        operator.check(f"#app-{app_id}")
        operator.click('form[action$="/panels"] button[type=submit]')
        operator.wait_for_url(re.compile(r".*/review/panels/[0-9a-f-]{36}$"))
        operator.click("[data-run-solver]")
        operator.wait_for_load_state()
        assert "已分配 1 项评审任务" in operator.locator("main").inner_text()
        assert operator.locator("[data-why]").count() == 1
        journey.shot(operator, "04-assigned")

        # -- 5. the expert: declaration, the watermarked trade secret, the score -------------
        expert.goto("/review/dossiers")  # not signed in: the sign-in page, then back here
        expert.wait_for_url(re.compile(r".*/intake/sign-in\?next=.*dossiers"))
        assert h1(expert) == "登录"
        expert.fill("#f-login", expert_subject)
        expert.fill("#f-password", PASSWORD)
        expert.click("main form button[type=submit]")
        expert.wait_for_url("**/review/dossiers")
        assert h1(expert) == "我的评审任务"
        expert.get_by_role("link", name=name, exact=True).click()
        assert h1(expert) == "公正与保密承诺声明"
        expert.check("#f-accept")
        expert.click("main form button[type=submit]")
        expert.wait_for_url(f"**/review/dossiers/{app_id}")
        assert h1(expert) == name
        kinds = expert.locator('[data-document] td[data-label="材料类型"]').all_inner_texts()
        assert kinds == ["证实性材料"] * 3, kinds  # the requirement named, not its id
        expert.locator(f'a[href*="/documents/"]:has-text("{secret.name}")').first.click()
        assert h1(expert) == secret.name
        assert "商业秘密" in expert.locator("main").inner_text()
        expert.wait_for_function("() => { const img = document.querySelector('.page-view img');"
                                 " return img && img.complete && img.naturalWidth > 0; }")
        picture = expert.request.get(expert.locator(".page-view img").get_attribute("src"))
        assert picture.status == 200 and red_pixels(picture.body()) > 500  # the watermark
        journey.shot(expert, "05a-trade-secret-page")
        expert.goto(f"/review/dossiers/{app_id}")
        rubric = Programme().rubric("organisation").items
        for item, maximum in rubric.items():
            box = expert.locator(f'input[name="item-{item}"]')
            assert float(box.get_attribute("max") or 0) == maximum
            box.fill(str(round(maximum * 0.9, 1)))
        expert.locator('button[value="submit"]').click()
        expert.wait_for_load_state()
        reload_until(expert, lambda: expert.locator('[data-sheet-state="submitted"]').count() > 0,
                     10)
        no_untranslated(expert)
        journey.shot(expert, "05-scored")

        # -- 6. department opinions, then the recommendation list --------------------------
        operator.goto(f"/review/ranking/applications/{app_id}/opinions")
        while operator.locator("#f-department option").count():
            operator.select_option("#f-favourable", "yes")
            operator.fill("#f-reference", f"忻州市有关部门意见〔2026〕{tag}号")
            operator.click("main form button[type=submit]")
            operator.wait_for_load_state()
        assert operator.locator('[data-opinion-state="complete"]').count() == 1
        operator.goto(f"/review/ranking?cycle={cycle}")
        assert h1(operator) == "排名与名单"
        operator.fill("#f-starts_on", (date.today() - timedelta(days=30)).isoformat())
        operator.fill("#f-reason", "已在报刊公示")  # a start in the past needs a reason
        operator.click('form[action*="/recommendation"] button[type=submit]')
        operator.wait_for_load_state()
        assert "公示期已结束" in operator.locator("main").inner_text()
        end = CALENDAR.publicity_end(date.today() - timedelta(days=30))
        assert f"公示期至 {end.year}年{end.month}月{end.day}日" in flash(operator)
        journey.shot(operator, "06-recommendation-list")

        # -- 7. a member of the public files an anonymous objection ------------------------
        public = journey.person()
        public.goto("/review/public/lists")
        assert h1(public) == "公示名单"
        listing = public.locator("[data-list]").filter(has_text=name).filter(
            has=public.locator('a[href*="/objections/new"]'))
        listing.locator('a[href*="/objections/new"]').first.click()
        assert h1(public) == "提出异议"
        public.select_option("#f-application_id", label=name)
        public.check("#f-identity-anonymous")
        public.get_by_label("异议内容").fill("该单位申报材料中的年产值数据与统计年鉴不一致，请核实。")
        public.get_by_role("button", name="提交异议").click()
        public.wait_for_url("**/review/public/objections/received/**")
        assert h1(public) == "异议已收到"
        receipt = public.locator("[data-receipt-code]").inner_text().strip()
        journey.shot(public, "07-objection-filed")

        # -- 8. the supervisor reads the objection (no reporter) and the audit log ----------
        supervisor_link = _staff_account(operator, "supervisor", f"sup.journey.{tag}",
                                         "市纪委监督组")
        supervisor = journey.person()
        journey.set_password(supervisor, supervisor_link)
        supervisor.goto("/review/objections")
        assert h1(supervisor) == "异议处理"
        supervisor.locator("[data-objections] tr").filter(has_text=name).locator("a").first.click()
        objection_url = supervisor.url
        text = supervisor.locator("main").inner_text()
        assert "匿名" in text and "年产值数据" in text
        assert supervisor.locator('a[href$="/reporter"]').count() == 0  # nobody to reveal
        journey.shot(supervisor, "08a-objection")
        supervisor.goto("/review/audit")
        chain = supervisor.locator('[data-chain="ok"]')
        assert chain.count() == 1 and "哈希链完整" in chain.inner_text()
        assert "异议人 于 " in supervisor.locator("main").inner_text()  # a sentence, not a code
        journey.shot(supervisor, "08-audit-log")

        # -- 8b. the operator investigates and answers; the objector follows the case -------
        operator.goto(objection_url)
        operator.get_by_role("button", name="开始调查核实").click()
        operator.wait_for_load_state()
        operator.select_option("#f-outcome", "dismissed")
        operator.fill("#f-resolution", "与统计部门核对，数据口径不同，申报数据属实。")
        operator.fill("#f-answer", "经核实，申报数据属实，异议不成立。")
        operator.click('form[action$="/resolve"] button[type=submit]')
        operator.wait_for_load_state()
        public.goto("/review/public/objections/follow")
        public.fill("#f-code", receipt)
        public.click("main form button[type=submit]")
        assert public.locator("[data-follow-status]").inner_text() == "已答复"
        assert "异议不成立" in public.locator("[data-follow-answer]").inner_text()

        # -- 9. the decision, its certificate, and the serial verified by anyone -----------
        operator.goto(f"/review/outcomes?cycle={cycle}")
        assert h1(operator) == "决定与证书"
        operator.fill("#f-reference", "忻政发〔2026〕1号")
        operator.click('form[action*="/decision"] button[type=submit]')
        operator.wait_for_load_state()
        serials = re.findall(r"\d{4}-[AN]\d{3}-[0-9A-Za-z]+",
                             operator.locator("main").inner_text())
        assert len(set(serials)) == 1, serials
        journey.shot(operator, "09a-decision")
        public.goto("/review/public/certificates")
        assert h1(public) == "证书核验"
        public.fill("#f-serial", serials[0])
        public.click("main form button[type=submit]")
        public.wait_for_url(f"**/review/public/certificates/{serials[0]}")
        assert public.locator('[data-verdict="valid"]').count() == 1
        assert "本证书真实有效" in public.locator("main").inner_text()
        assert name in public.locator("main").inner_text()
        journey.shot(public, "09-certificate-verified")

        # -- 10. the applicant's own page: the timeline to 获奖, the certificate, the letter -
        applicant.goto("/intake/packets")
        applicant.get_by_role("main").get_by_role("link", name=name).first.click()
        timeline = applicant.get_by_role("region", name="办理进度")
        reload_until(applicant, lambda: timeline.locator('li[data-stage="award"]').count() == 1
                     and timeline.locator('li[data-stage="award"]').get_attribute(
                         "data-state") == "done", 60)
        said = timeline.inner_text()
        for label in ("已提交", "已推荐", "已受理", "评审中", "公示中", "获奖"):
            assert label in said, said
        outcome = applicant.get_by_role("region", name="评选结果")
        assert "忻政发〔2026〕1号" in outcome.inner_text()
        for link in ("荣誉证书（PDF）", "表彰决定通知书（PDF）"):
            href = outcome.get_by_role("link", name=link).get_attribute("href")
            got = applicant.request.get(href)
            assert got.status == 200 and got.headers["content-type"] == "application/pdf"
            text = "".join(page.extract_text() or ""
                           for page in PdfReader(io.BytesIO(got.body())).pages)
            assert serials[0] in text, (link, text[:200])
        no_untranslated(applicant)
        journey.shot(applicant, "10-applicant-award")
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, context in enumerate(journey.contexts):
            for page in context.pages:
                with contextlib.suppress(Exception):  # must not hide the real failure
                    page.screenshot(path=str(ARTIFACTS / f"failed-{i}.png"), full_page=True)
        raise
    finally:
        elapsed = time.monotonic() - journey.started
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "timings.txt").write_text(
            "".join(f"{n}\t{t}\n" for n, t in journey.timings) + f"total\t{elapsed:.1f}\n")
        journey.close()
