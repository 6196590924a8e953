"""The public pages over the real stack, without signing in: published lists, the objection
form with evidence files, certificate verification, and the QR code on the certificate."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from docx import Document
from loopback import session_from
from review.reviewstack import ReviewDriver, today_plus
from samples import text_pdf

from dossier.localstack import AppStack
from services.review.certificates import qr_png
from services.review.programme import Programme

pytestmark = pytest.mark.stack


@pytest.fixture
def review(stack: AppStack, auth: Callable[[str, str], dict[str, str]],
           http: requests.Session) -> Iterator[ReviewDriver]:
    driver = ReviewDriver(stack, auth, http)
    yield driver
    driver.sender.close()


def _clean(html: str) -> None:
    assert "[[untranslated" not in html


def _visitor_token(visitor: requests.Session, url: str) -> str:
    """A visitor's CSRF token: the form carries it, bound to the cookie the page set."""
    r = visitor.get(url, timeout=10)
    assert r.status_code == 200, r.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert found and visitor.cookies.get("dossier_csrf")
    return found.group(1)


def _lists(review: ReviewDriver) -> tuple[str, str, list[str]]:
    """An acceptance list under publicity now and one whose publicity has ended."""
    review.cycle_saved()
    apps = [review.accept(name, credit_code=f"9114090{i}PUBLIC00{i}")
            for i, name in enumerate(["忻州公示一号有限公司", "忻州公示二号有限公司"], start=1)]
    review.wait_applications(2)
    open_id, closed_id = f"acc-open-{review.cycle}", f"acc-closed-{review.cycle}"
    entries = [{"application_id": a, "applicant_name": n, "kind": "organisation",
                "unit": "140902", "score": 87.5}
               for a, n in zip(apps, ["忻州公示一号有限公司", "忻州公示二号有限公司"],
                               strict=True)]
    for list_id, start, end in ((open_id, today_plus(-1), today_plus(6)),
                                (closed_id, today_plus(-20), today_plus(-12))):
        review.deliver("acceptance.published", {
            "list_id": list_id, "cycle": review.cycle, "starts_on": start, "ends_on": end,
            "entries": entries, "audience": []})

    def both() -> bool:
        r = review.http.get(f"{review.url}/lists", headers=review.operator,
                            params={"cycle": review.cycle, "kind": "acceptance"})
        return len(r.json()["items"]) == 2

    from waiting import poll
    poll(both)
    return open_id, closed_id, apps


def test_published_lists_are_public_and_show_no_scores(
        stack: AppStack, review: ReviewDriver, browser_login: Callable[..., Any]) -> None:
    open_id, closed_id, _apps = _lists(review)
    visitor = requests.Session()
    for lang in ("zh-CN", "en"):
        r = visitor.get(f"{stack.public_url}/review/public/lists?lang={lang}", timeout=10)
        assert r.status_code == 200
        _clean(r.text)
        assert f'data-list="{open_id}"' in r.text and f'data-list="{closed_id}"' in r.text
        assert "忻州公示一号有限公司" in r.text and "87.5" not in r.text
    assert "Under publicity" in r.text and "Ended" in r.text
    assert f"/review/public/objections/new?list={open_id}" in r.text
    assert f"/review/public/objections/new?list={closed_id}" not in r.text
    # Signed-in users see the same page.
    r = browser_login("applicant", "app-public-lists").get("/review/public/lists")
    assert r.status_code == 200 and f'data-list="{open_id}"' in r.text


def test_an_anonymous_objection_with_evidence_is_received_and_sealed(
        stack: AppStack, review: ReviewDriver) -> None:
    open_id, closed_id, apps = _lists(review)
    visitor = requests.Session()
    form_url = f"{stack.public_url}/review/public/objections/new?list={open_id}"
    token = _visitor_token(visitor, form_url + "&lang=zh-CN")
    r = visitor.get(form_url + "&lang=en", timeout=10)
    _clean(r.text)
    assert "忻州公示二号有限公司" in r.text and closed_id not in r.text

    # Without the CSRF token: refused.
    r = visitor.post(form_url, data={"list_id": open_id, "identity": "anonymous",
                                     "text": "没有令牌的异议"}, allow_redirects=False,
                     timeout=10)
    assert r.status_code == 403
    # A real name needs a contact: the error next to the field.
    r = visitor.post(form_url, data={"csrf_token": token, "list_id": open_id,
                                     "identity": "real-name", "reporter_name": "张三",
                                     "text": "该单位存在虚报业绩的情况。"},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 422 and 'id="e-reporter_contact"' in r.text
    # A file of a kind not accepted: refused next to the evidence field.
    r = visitor.post(form_url, data={"csrf_token": token, "list_id": open_id,
                                     "identity": "anonymous", "text": "该单位存在虚报业绩。"},
                     files=[("evidence_files", ("tool.exe", b"MZ\x90\x00", "application/x-"
                                                "msdownload"))],
                     allow_redirects=False, timeout=10)
    assert r.status_code == 422
    assert re.search(r'id="e-evidence_files">[^<]*PDF', r.text)
    # Against a list whose publicity has ended: refused.
    r = visitor.post(form_url, data={"csrf_token": token, "list_id": closed_id,
                                     "identity": "anonymous", "text": "公示已结束的异议"},
                     allow_redirects=False, timeout=10)
    assert r.status_code == 409 and 'id="e-list_id"' in r.text

    evidence = text_pdf(["检测报告：该单位产品抽检不合格"])
    photo = b"\x89PNG\r\n\x1a\n" + b"0" * 2048
    r = visitor.post(form_url, data={"csrf_token": token, "list_id": open_id,
                                     "application_id": apps[1], "identity": "anonymous",
                                     "text": "该单位去年发生产品质量事故，申报材料未如实说明。"},
                     files=[("evidence_files", ("抽检报告.pdf", evidence, "application/pdf")),
                            ("evidence_files", ("现场照片.png", photo, "image/png"))],
                     allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text
    receipt = visitor.get(stack.public_url + r.headers["Location"] + "?lang=zh-CN", timeout=10)
    assert receipt.status_code == 200
    _clean(receipt.text)
    code = re.search(r"data-receipt-code>([^<]+)<", receipt.text).group(1)  # type: ignore[union-attr]
    assert "异议已收到" in receipt.text and "已受理" not in receipt.text  # received, not accepted
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code)

    [objection] = review.http.get(f"{review.url}/objections", headers=review.supervisor,
                                  params={"list_id": open_id}).json()["items"]
    reference = objection["id"]
    assert reference not in receipt.text and objection["anonymous"] is True
    assert objection["application_id"] == apps[1]
    assert [(f["filename"], f["sha256"]) for f in objection["evidence_files"]] == [
        ("抽检报告.pdf", hashlib.sha256(evidence).hexdigest()),
        ("现场照片.png", hashlib.sha256(photo).hexdigest())]
    assert "object_key" not in objection["evidence_files"][0]
    r = review.http.get(f"{review.url}/objections/{reference}/evidence/1",
                        headers=review.supervisor)
    assert r.status_code == 200 and r.content == evidence
    sealed = review.http.get(f"{review.url}/objections/{reference}/reporter",
                             headers=review.supervisor).json()
    assert sealed["anonymous"] is True and sealed["name"] is None
    assert ("reporter", "objection.received", f"objection:{reference}") in \
        review.audit_actions()
    rows = review.stack.query("review", "SELECT actor, role, action FROM audit_log "
                              "WHERE target = :target ORDER BY seq",
                              target=f"objection:{reference}")
    assert [tuple(r) for r in rows] == [
        ("reporter", "visitor", "objection.received"),
        ("sup-review", "supervisor", "objection.evidence_read"),
        ("sup-review", "supervisor", "objection.reporter_read")]


def test_objections_are_throttled_per_address(stack: AppStack, review: ReviewDriver) -> None:
    open_id, _closed, _apps = _lists(review)
    # Through the proxy from a loopback address that no other test uses: the count is the
    # address nginx saw.
    url = f"{stack.public_url}/review/public/objections/new"
    visitor = session_from("127.0.0.77")
    token = _visitor_token(visitor, url)
    codes = [visitor.post(url, data={"csrf_token": token, "list_id": open_id,
                                     "identity": "anonymous", "text": "短"},
                          allow_redirects=False, timeout=10).status_code for _ in range(11)]
    assert codes == [422] * 10 + [429]


def _awards(review: ReviewDriver) -> list[dict[str, Any]]:
    """Two awards decided through the API: scored, opinions in, recommendation list run."""
    review.cycle_saved(year=2025)
    apps = [review.accept(name, credit_code=f"9114090{i}CERTIF0{i}",
                          documents=[review.document(f"cert{i}-{review.cycle}", "overview",
                                                     "概述.pdf", text_pdf(["overview"]))],
                          app_id=f"cert{i}-{review.cycle}")
            for i, name in enumerate(["忻州证书一号有限公司", "忻州证书二号有限公司"], start=1)]
    review.wait_applications(2)
    expert = review.expert(f"exp-cert-{review.cycle}", "山西大学")
    panel = review.panel("material", 1, 2, [expert["id"]])
    r = review.http.post(f"{review.url}/panels/{panel['id']}/assign", headers=review.operator)
    assert r.status_code == 201, r.text
    me = review.auth("expert", expert["subject"])
    items = Programme().rubric("organisation").items
    for app in apps:
        r = review.http.put(f"{review.url}/panels/{panel['id']}/scores/{app}", headers=me,
                            json={"items": {k: v * 0.9 for k, v in items.items()}})
        assert r.status_code == 200, r.text
        missing = review.http.get(f"{review.url}/applications/{app}/opinions",
                                  headers=review.operator).json()["missing"]
        for department in missing:
            r = review.http.post(f"{review.url}/applications/{app}/opinions",
                                 headers=review.operator,
                                 json={"department": department, "favourable": True,
                                       "reference": f"{department}〔2025〕1号"})
            assert r.status_code == 201, r.text
    start = date.today() - timedelta(days=30)
    r = review.http.post(f"{review.url}/cycles/{review.cycle}/recommendation",
                         headers=review.operator,
                         json={"starts_on": start.isoformat(), "reason": "已在报刊公示"})
    assert r.status_code == 201, r.text
    r = review.http.post(f"{review.url}/cycles/{review.cycle}/decision",
                         headers=review.operator, json={"reference": "忻政发〔2025〕9号"})
    assert r.status_code == 201, r.text
    return sorted(r.json(), key=lambda a: a["applicant_name"])


def test_certificates_verify_by_serial_revoked_and_unknown_and_carry_a_qr_code(
        stack: AppStack, review: ReviewDriver, browser_login: Callable[..., Any]) -> None:
    valid, revoked = _awards(review)
    r = review.http.post(f"{review.url}/awards/{revoked['id']}/revoke", headers=review.operator,
                         json={"ground": "fraud", "evidence": ["核查报告〔2026〕3号"]})
    assert r.status_code == 200, r.text
    visitor = requests.Session()
    base = f"{stack.public_url}/review/public/certificates"

    r = visitor.get(f"{base}?serial={valid['serial']}", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/{valid['serial']}")
    for lang in ("zh-CN", "en"):
        r = visitor.get(f"{base}?lang={lang}", timeout=10)
        assert r.status_code == 200 and 'name="serial"' in r.text
        _clean(r.text)
        r = visitor.get(f"{base}/{valid['serial']}?lang={lang}", timeout=10)
        assert r.status_code == 200
        _clean(r.text)
        assert 'data-verdict="valid"' in r.text and "忻州证书一号有限公司" in r.text
        r = visitor.get(f"{base}/{revoked['serial']}?lang={lang}", timeout=10)
        assert r.status_code == 200
        _clean(r.text)
        assert 'data-verdict="revoked"' in r.text and "忻州证书二号有限公司" in r.text
        r = visitor.get(f"{base}/2025-A999-00000000?lang={lang}", timeout=10)
        assert r.status_code == 404
        _clean(r.text)
        assert 'data-verdict="not-found"' in r.text and "2025-A999-00000000" in r.text
    r = visitor.get(f"{base}/{valid['serial']}?lang=zh-CN", timeout=10)
    assert "真实有效" in r.text and "忻州市市长质量奖" in r.text
    r = visitor.get(f"{base}/{revoked['serial']}?lang=zh-CN", timeout=10)
    assert "已撤销" in r.text and "弄虚作假" in r.text
    # Signed in, the page is the same.
    r = browser_login("expert", "exp-cert-reader").get(
        f"/review/public/certificates/{valid['serial']}")
    assert r.status_code == 200 and 'data-verdict="valid"' in r.text

    # The certificate carries a QR code of the public verification address, and the address.
    r = review.http.get(f"{review.url}/awards/{valid['id']}/certificate",
                        headers=review.operator)
    assert r.status_code == 200
    document = Document(io.BytesIO(r.content))
    url = f"{stack.public_url}/review/public/certificates/{valid['serial']}"
    assert url in [p.text for p in document.paragraphs]
    [shape] = document.inline_shapes
    blip = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
    picture = document.part.related_parts[blip].blob
    assert picture.startswith(b"\x89PNG") and picture == qr_png(url)
    # ...and that address is the page that verifies it.
    r = visitor.get(url, timeout=10)
    assert r.status_code == 200 and 'data-verdict="valid"' in r.text


def test_public_pages_in_chromium_at_360_px_without_serious_accessibility_problems(
        review: ReviewDriver, open_page: Callable[..., Any]) -> None:
    from axe_playwright_python.sync_playwright import Axe

    open_id, _closed, _apps = _lists(review)
    page = open_page(width=360)
    for path in ("/review/public/lists", f"/review/public/objections/new?list={open_id}",
                 "/review/public/certificates", "/review/public/certificates/2025-A000-none",
                 "/review/public/objections/follow"):
        page.goto(path)
        found = Axe().run(page).response["violations"]
        serious = [f"{v['id']}: {v['help']}" for v in found
                   if v["impact"] in ("serious", "critical")]
        assert serious == [], (path, serious)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    # The form filed from a real browser: anonymous, with an evidence file.
    page.goto(f"/review/public/objections/new?list={open_id}")
    page.get_by_label("异议内容").fill("该单位申报材料中的获奖证书系伪造。")
    page.set_input_files("#f-evidence_files", files=[{
        "name": "证据.pdf", "mimeType": "application/pdf", "buffer": text_pdf(["证据"])}])
    page.get_by_role("button", name="提交异议").click()
    page.wait_for_url("**/review/public/objections/received/**")
    assert page.locator("[data-receipt-code]").inner_text()
