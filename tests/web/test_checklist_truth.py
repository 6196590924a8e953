"""Issue 15, points 3 and 9, in Chromium on a real stack that sends e-mail (an SMTP sink):
the applicant's checklist tells one truth — a file that opens but does not meet its item is
invalid in its row and in the summary, with the reason and what to do — and a new version
uploaded after a return is judged on the page without a new submission; the upload form
proposes that new version; a person who forgot the password gets a link by e-mail and sets a
new one."""

from __future__ import annotations

import io
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from docx import Document
from docx.shared import Mm
from intake.flows import Intake, new_uscc
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from waiting import poll

from dossier.localstack import AppStack, BackingServers, free_port_block

PASSWORD = "Wintersonne-Gelb-42"
SEALED_ITEM = "application-form"  # 申报表: PDF or a scan, signed and sealed


class Sink:
    """A real SMTP server keeping each message's plain text per recipient."""

    def __init__(self) -> None:
        self.mail: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=policy.default)
        text = str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.mail.setdefault(rcpt, []).append(text)
        return "250 Message accepted"


@pytest.fixture(scope="module")
def sink() -> Iterator[tuple[Sink, int]]:
    port = free_port_block(1)
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def mailing(backing: BackingServers, workdir: Path, sink: tuple[Sink, int]
            ) -> Iterator[AppStack]:
    apps = AppStack(backing, workdir / "checklist-truth", database="sqlite", redis_db=13,
                    extra_env={"DOSSIER_NOTIFY_SMTP_HOST": "127.0.0.1",
                               "DOSSIER_NOTIFY_SMTP_PORT": str(sink[1])})
    try:
        apps.start()
        yield apps
    finally:
        apps.stop()


@pytest.fixture
def pages(chromium: Any, mailing: AppStack) -> Iterator[Callable[..., Any]]:
    """Chromium pages on the mailing stack, signed in through a real session if a role is
    given."""
    import redis

    from shared.web.sessions import COOKIE, SessionStore

    client = redis.Redis.from_url(mailing.env()["DOSSIER_REDIS_URL"], decode_responses=True)
    store = SessionStore(client, idle=3600, absolute=7200)
    contexts: list[Any] = []

    def make(role: str | None = None, subject: str = "") -> Any:
        context = chromium.new_context(base_url=mailing.public_url, locale="zh-CN",
                                       viewport={"width": 1280, "height": 900})
        cookies = [{"name": "lang", "value": "zh-CN", "url": mailing.public_url}]
        if role:
            session = store.create(subject=subject, role=role, name=subject, scope=None)
            cookies.append({"name": COOKIE, "value": session.sid, "url": mailing.public_url,
                            "httpOnly": True, "sameSite": "Lax"})
        context.add_cookies(cookies)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield make
    for context in contexts:
        context.close()
    client.close()


def scan_pdf() -> bytes:
    """One scanned page (an image, no text), as a signed and sealed form is."""
    img = Image.effect_noise((120, 170), 40).convert("L")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=50)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.drawImage(ImageReader(io.BytesIO(buf.getvalue())), 0, 0, width=A4[0], height=A4[1])
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def docx_file() -> bytes:
    doc = Document()
    doc.sections[0].page_width, doc.sections[0].page_height = Mm(210), Mm(297)
    doc.add_paragraph("忻州市市长质量奖申报表")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def row(page: Any, requirement: str) -> Any:
    return page.locator(f'#checklist tr[data-requirement="{requirement}"]')


def settled(page: Any, requirement: str, state: str) -> bool:
    """The row shows `state` and the summary is a verdict (not "being inspected")."""
    summary = page.locator("#checklist [data-completeness]")
    return bool(row(page, requirement).count()
                and row(page, requirement).get_attribute("data-state") == state
                and summary.count() and summary.get_attribute("data-completeness") != "pending")


def test_the_checklist_row_and_summary_agree_and_a_new_version_is_judged_without_resubmitting(
        mailing: AppStack, pages: Callable[..., Any], tmp_path: Path) -> None:
    with requests.Session() as http:
        intake = Intake(mailing, http)
        cycle = intake.open_cycle()["id"]
        intake.requirements(cycle)
        subject = f"truth-{uuid.uuid4().hex[:8]}"
        me = intake.as_("applicant", subject)
        r = intake.create(me, cycle)
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        proof = intake.upload(me, app_id, "公示证明.pdf", scan_pdf(),
                              requirement="publicity-proof").json()
        assert intake.publicity(me, app_id, proof["document_id"]).status_code == 200

    page = pages("applicant", subject)
    page.goto(f"/intake/packets/{app_id}")
    # A Word file for an item that takes a signed and sealed PDF or scan: it opens fine.
    form = tmp_path / "申报表.docx"
    form.write_bytes(docx_file())
    page.select_option("#u-requirement", SEALED_ITEM)
    page.set_input_files("#u-files", str(form))
    poll(lambda: page.locator("[data-upload-row][data-state=done]").count() == 1, 120)
    # The page follows the inspection by itself; no reload.
    poll(lambda: settled(page, SEALED_ITEM, "invalid"), 120)
    assert page.locator("#checklist [data-completeness]").get_attribute(
        "data-completeness") == "incomplete"
    assert "不齐全" in page.locator("#checklist [data-completeness]").inner_text()
    reason = row(page, SEALED_ITEM).inner_text()
    assert "格式为 Word（DOCX），本项只接受 PDF、扫描图片" in reason, reason
    assert "请将文件转换为本项接受的格式" in reason, reason
    to_fix = page.locator(f'#checklist [data-fix="{SEALED_ITEM}"]').inner_text()
    assert "申报表" in to_fix and "格式为 Word（DOCX）" in to_fix
    assert "一次性告知" in page.locator("#checklist [data-to-fix]").inner_text()
    report = page.locator("#checklist a[data-full-report]")
    assert report.get_attribute("href") == f"/documents/packets/{app_id}"
    documents = page.locator(f'#documents tr[data-filename="{form.name}"]').inner_text()
    assert "Word 文档" in documents and "officedocument" not in documents
    # The row and the summary are one truth: no row says 符合 for this item.
    assert row(page, SEALED_ITEM).get_attribute("data-state") != "met"

    # Submitted and returned by the recommending unit for this item.
    with requests.Session() as http:
        intake = Intake(mailing, http)
        assert intake.submit(me, app_id).status_code == 200
        recommender = intake.recommender("140902")
        r = intake.call("POST", f"/applications/{app_id}/return", recommender,
                        json={"reasons": ["申报表须为签字盖章后的扫描件"]})
        assert r.status_code == 200, r.text

    page.goto(f"/intake/packets/{app_id}")
    # The form proposes a new version of the file to put right, of its own item.
    assert page.input_value("#u-requirement") == SEALED_ITEM
    target = page.locator("#u-target option:checked").inner_text()
    assert form.name in target, target
    # The form offers no version of another item's file under this item.
    offered = page.eval_on_selector_all(
        "#u-target option:not([disabled])", "els => els.map(e => e.textContent)")
    assert not any("公示证明" in text for text in offered), offered
    # Another item chosen: "upload as" falls back to a new file, never another item's version.
    page.select_option("#u-requirement", "self-evaluation")
    assert page.input_value("#u-target") == ""
    page.select_option("#u-requirement", SEALED_ITEM)
    docx_value = page.eval_on_selector(
        "#u-target", f"s => [...s.options].find(o => o.textContent.includes('{form.name}')).value")
    page.select_option("#u-target", docx_value)
    # A trade secret with its pages: the pages box empties once the file is on its way, so the
    # next upload does not carry it (and get refused).
    page.select_option("#u-confidentiality", "trade-secret")
    page.fill("#u-pages", "1")
    scan = tmp_path / "申报表（盖章扫描件）.pdf"
    scan.write_bytes(scan_pdf())
    page.set_input_files("#u-files", str(scan))
    assert page.input_value("#u-pages") == ""
    poll(lambda: page.locator("[data-upload-row][data-state=done]").count() == 1, 120)
    poll(lambda: settled(page, SEALED_ITEM, "met"), 120)
    assert page.locator("[data-status]").first.get_attribute("data-status") == "returned"
    assert page.locator(f'#checklist [data-fix="{SEALED_ITEM}"]').count() == 0
    # Reloaded, the page says the same.
    page.reload()
    assert row(page, SEALED_ITEM).get_attribute("data-state") == "met"


def test_a_forgotten_password_is_reset_through_a_link_sent_by_e_mail(
        mailing: AppStack, pages: Callable[..., Any], sink: tuple[Sink, int]) -> None:
    mail, _port = sink
    code = new_uscc()
    address = f"reset-{uuid.uuid4().hex[:8]}@example.org"
    page = pages()
    page.goto("/intake/register?kind=organisation")
    page.fill("#f-credit_code", code)
    page.fill("#f-name", "山西示例质量有限公司")
    page.fill("#f-email", address)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password_again", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    page.locator("form[action$='/sign-out'] button").first.click()
    page.wait_for_load_state()

    page.goto("/intake/sign-in")
    page.get_by_role("link", name="忘记密码？").click()
    page.fill("#f-login", code)
    page.get_by_role("button", name="发送链接").click()
    assert "如该登录名或电子邮箱对应的账号存在" in page.locator("[data-reset-asked]").inner_text()

    letters = poll(lambda: mail.mail.get(address), 120)
    letter = letters[-1]
    assert "重新设置您登录密码" in letter
    link = re.search(r"https?://\S+/intake/set-password\?token=[\w-]+", letter)
    assert link is not None, letter
    page.goto(link.group(0))
    new_password = "Sommerregen-Blau-77"
    page.fill("#f-password", new_password)
    page.fill("#f-password_again", new_password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert "密码已设置，您已登录。" in page.content()
    page.locator("form[action$='/sign-out'] button").first.click()
    page.wait_for_load_state()
    # The link was for one use; the new password signs in.
    page.goto(link.group(0))
    assert "无效" in page.content()
    page.goto("/intake/sign-in")
    page.fill("#f-login", code)
    page.fill("#f-password", new_password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form[action$='/sign-out']").count() >= 1
