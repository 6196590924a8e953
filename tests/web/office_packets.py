"""Packets driven through intake's API to the state the office pages act on (shared by
test_pages_office.py and test_pages_report.py)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import requests
from intake.flows import Intake, unique
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from waiting import poll

from dossier.localstack import AppStack

# Units the office tests route to; other tests use 140902, so these queues stay small.
UNIT_A = "140930"  # 河曲县
UNIT_B = "140931"  # 保德县


def chinese_pdf(pages: list[str]) -> bytes:
    """A text-layer PDF with Chinese text, one line per page (classification marks included)."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for text in pages:
        pdf.setFont("STSong-Light", 14)
        pdf.drawString(72, 760, text)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def company_name(word: str) -> str:
    """A unique company name in words and digits: it shows on pages that other tests read for
    codes and English (test_plain_words), where a hex tag would read as one."""
    return f"忻州{word}{uuid.uuid4().int % 10**8:08d}有限公司"


def submitted(intake: Intake, cycle: str, county: str, *, name: str | None = None,
              secret_text: list[str] | None = None) -> dict[str, Any]:
    """A packet of a new applicant submitted on the county route to `county`: a publicity proof
    and a trade-secret evidence file. Returns ids and the applicant's bearer headers."""
    subject = unique("applicant-office")
    me = intake.as_("applicant", subject)
    name = name or company_name("测试")
    app = ok(intake.create(me, cycle, name=name, county=county), 201)
    proof = ok(intake.upload(me, app["id"], "内部公示证明.pdf", chinese_pdf(["内部公示证明"]),
                             requirement="publicity-proof"), 201)
    ok(intake.upload(me, app["id"], "核心工艺说明.pdf",
                     chinese_pdf(secret_text or ["核心工艺说明", "工艺参数"]),
                     requirement="evidence", confidentiality="trade-secret",
                     secret_pages="1-2"), 201)
    ok(intake.publicity(me, app["id"], proof["document_id"]))
    ok(intake.submit(me, app["id"]))
    return {"id": app["id"], "name": name, "owner": subject, "headers": me}


def recommended(intake: Intake, cycle: str, county: str, recommender: dict[str, str],
                **kw: Any) -> dict[str, Any]:
    packet = submitted(intake, cycle, county, **kw)
    ok(intake.call("POST", f"/applications/{packet['id']}/recommend", recommender,
                   json={"opinion": "同意推荐。", "government_reference": "县政函〔2026〕1号"}))
    return packet


def status_of(intake: Intake, application_id: str) -> str:
    return str(intake.detail(intake.operator, application_id)["status"])


def wait_for_report(stack: AppStack, application_id: str, submission: int = 1,
                    timeout: float = 90) -> dict[str, Any]:
    """Documents' report on a submission once every file of it is inspected."""
    url = f"{stack.url('documents')}/api/applications/{application_id}/completeness"
    headers = Intake(stack, requests.Session()).as_("operator", "operator-office-tests")

    def ready() -> dict[str, Any] | None:
        r = requests.get(url, headers=headers, params={"submission": submission}, timeout=10)
        if r.status_code == 404:
            return None
        body = r.json()
        return body if body["pending"] == 0 else None

    return poll(ready, timeout)
