"""One award cycle carried to its end through the APIs, built once, so the page walk can open
every role's pages with real content: a decided packet with a certificate, a draft packet with
files, a recommender's queue, an operator's panels, ranking and outcomes, an expert's dossier, an
objection and the published lists.

Everything goes through the services' APIs and the events between them, exactly as in
`tests/e2e/test_award_flow.py`; the walk then signs in as the actors named here.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import requests
from intake.flows import Intake, new_uscc
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from waiting import poll

from dossier.localstack import AppStack
from services.review.programme import Programme
from shared.auth import issue_token

UNIT = "140902"
# The actors' subjects are fixed when the module loads, so the walk's list can name them before
# the world exists; the world is built on first use.
TAG = uuid.uuid4().hex[:6]
APPLICANT = f"walk-applicant-{TAG}"
RECOMMENDER = f"walk-recommender-{TAG}"
OPERATOR = f"walk-operator-{TAG}"
EXPERT = f"walk-expert-0-{TAG}"
SUPERVISOR = f"walk-supervisor-{TAG}"
SEVEN = ["一、领导", "二、战略", "三、顾客与市场", "四、资源", "五、过程管理",
         "六、测量、分析与改进", "七、结果"]


def text_pdf(lines: list[str]) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for line in lines:
        pdf.setFont("STSong-Light", 16)
        pdf.drawString(72, 760, line)
        pdf.setFont("STSong-Light", 11)
        for i in range(4):
            pdf.drawString(72, 720 - 18 * i, f"{line}：持续改进的做法与成效，第{i + 1}条。")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def _ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


@dataclass
class World:
    cycle: str = ""
    applicant: str = ""
    application: str = ""
    draft_cycle: str = ""
    draft_application: str = ""
    secret_document: str = ""
    recommender: str = ""
    operator: str = OPERATOR
    expert: str = ""
    expert_id: str = ""
    panel: str = ""
    objection: str = ""
    receipt: str = ""
    award: str = ""
    serial: str = ""
    lists: dict[str, str] = field(default_factory=dict)


_WORLD: World | None = None


def world(stack: AppStack) -> World:
    global _WORLD
    if _WORLD is None:
        _WORLD = _build(stack)
    return _WORLD


def _build(stack: AppStack) -> World:
    w = World()
    tag = TAG
    http = requests.Session()
    intake = Intake(stack, http)
    review = f"{stack.url('review')}/api"
    documents = f"{stack.url('documents')}/api"

    def bearer(role: str, subject: str) -> dict[str, str]:
        token = issue_token(stack.secret_key, subject=subject, role=role, ttl_seconds=3600)
        return {"Authorization": f"Bearer {token}"}

    operator = bearer("operator", w.operator)
    programme = f"walk-{tag}"
    w.cycle = intake.open_cycle(year=date.today().year, programme=programme)["id"]

    # The applicant: a packet carried to the decision, one file a trade secret.
    w.applicant = APPLICANT
    me = intake.as_("applicant", w.applicant)
    _ok(intake.call("PUT", "/accounts/me", me, json={
        "name": "忻州走查精密制造有限公司", "email": "walk@example.org", "language": "zh-CN"}))
    credit_code = new_uscc()
    w.application = _ok(intake.create(me, w.cycle, name="忻州走查精密制造有限公司",
                                      credit_code=credit_code, industry="装备制造"), 201)["id"]
    catalogue = _ok(http.get(f"{documents}/catalogue", headers=me,
                             params={"cycle": w.cycle, "kind": "organisation"}))
    uploaded: dict[str, dict[str, Any]] = {}
    for req in catalogue["kinds"]["organisation"]:
        if not req.get("required") or req.get("provided_by") == "recommender":
            continue
        data = text_pdf(SEVEN if req.get("sections") else [req["title"]["zh-CN"]])
        secret = req["id"] == "evidence"
        uploaded[req["id"]] = _ok(intake.upload(
            me, w.application, f"{req['title']['zh-CN'][:20]}.pdf", data,
            requirement=req["id"], confidentiality="trade-secret" if secret else "internal"),
            201)
    w.secret_document = uploaded["evidence"]["document_id"]

    def inspected() -> bool:
        got = http.get(f"{documents}/applications/{w.application}/completeness", headers=me)
        return got.status_code == 200 and got.json()["pending"] == 0

    poll(inspected, 120)
    _ok(intake.publicity(me, w.application, uploaded["publicity-proof"]["document_id"]))
    _ok(intake.submit(me, w.application))
    poll(lambda: intake.detail(me, w.application).get("completeness") is not None, 90)

    w.recommender = RECOMMENDER
    rec = intake.recommender(UNIT, w.recommender)
    _ok(intake.call("POST", f"/applications/{w.application}/recommend", rec,
                    json={"opinion": "材料齐全，情况属实，同意推荐。",
                          "government_reference": "忻府政函〔2026〕9号"}))
    _ok(intake.call("POST", f"/applications/{w.application}/accept", operator, json={}))
    _ok(intake.call("POST", f"/cycles/{w.cycle}/acceptance-lists", operator,
                    json={"starts_on": date.today().isoformat()}), 201)

    # A second cycle with a draft packet, so the applicant's upload page has something on it.
    w.draft_cycle = intake.open_cycle(year=date.today().year, programme=f"walk-draft-{tag}")["id"]
    w.draft_application = _ok(intake.create(me, w.draft_cycle, name="忻州走查精密制造有限公司",
                                            credit_code=credit_code, industry="装备制造"),
                              201)["id"]
    _ok(intake.upload(me, w.draft_application, "自评报告.pdf", text_pdf(SEVEN),
                      requirement="self-evaluation"), 201)

    # Review: the packet arrives, experts, a panel, the assignment.
    def arrived() -> bool:
        items = _ok(http.get(f"{review}/applications", headers=operator,
                             params={"cycle": w.cycle}))["items"]
        lists = _ok(http.get(f"{review}/lists", headers=operator,
                             params={"cycle": w.cycle, "kind": "acceptance"}))["items"]
        return bool(items) and bool(lists)

    poll(arrived, 90)
    experts = [_ok(http.post(f"{review}/experts", headers=operator, json={
        "subject": f"walk-expert-{i}-{tag}", "name": f"走查专家{i}",
        "organisation": f"山西省质量研究院{i}", "fields": ["装备制造"],
        "email": f"expert{i}@example.org"}), 201) for i in range(5)]
    w.expert, w.expert_id = experts[0]["subject"], experts[0]["id"]
    panel = _ok(http.post(f"{review}/panels", headers=operator, json={
        "cycle": w.cycle, "stage": "material", "per_application": 5, "max_load": 3,
        "pool": [e["id"] for e in experts]}), 201)
    w.panel = panel["id"]
    pairs = _ok(http.post(f"{review}/panels/{w.panel}/assign", headers=operator), 201)["items"]
    _ok(http.post(f"{review}/dossiers/{w.application}/acknowledge",
                  headers=bearer("expert", w.expert), json={"accept": True}))
    items = Programme().rubric("organisation").items
    for pair in pairs:
        _ok(http.put(f"{review}/panels/{w.panel}/scores/{w.application}",
                     headers=bearer("expert", pair["expert_subject"]),
                     json={"items": {k: round(v * 0.9, 2) for k, v in items.items()}}))

    # The acceptance list, under publicity from today (objections against it come below).
    acceptance = _ok(http.get(f"{review}/lists", headers=operator,
                              params={"cycle": w.cycle, "kind": "acceptance"}))["items"][0]
    w.lists["acceptance"] = acceptance["id"]

    # Opinions, the recommendation list (its window over), the decision and the certificate.
    for department in _ok(http.get(f"{review}/applications/{w.application}/opinions",
                                   headers=operator))["missing"]:
        _ok(http.post(f"{review}/applications/{w.application}/opinions", headers=operator,
                      json={"department": department, "favourable": True,
                            "reference": f"忻州函〔{date.today().year}〕{len(department)}号"}), 201)
    start = date.today() - timedelta(days=30)
    w.lists["recommendation"] = _ok(http.post(
        f"{review}/cycles/{w.cycle}/recommendation", headers=operator,
        json={"starts_on": start.isoformat(), "reason": "已在报刊公示"}), 201)["id"]
    awards = _ok(http.post(f"{review}/cycles/{w.cycle}/decision", headers=operator,
                           json={"reference": "忻政发〔2026〕2号"}), 201)
    [award] = [a for a in awards if a["application_id"] == w.application]
    w.award, w.serial = award["id"], award["serial"]
    # An open objection for the office's pages, filed after the decision (which waits for
    # every objection of the cycle) while the acceptance list is still under publicity.
    filed = _ok(http.post(f"{review}/lists/{acceptance['id']}/objections",
                          headers=bearer("applicant", f"walk-citizen-{tag}"), json={
        "application_id": w.application, "anonymous": True,
        "text": "该企业申报材料中的质量指标与实际情况不符，请核查。"}), 201)
    w.objection, w.receipt = filed["id"], filed["receipt_code"]
    # The decided packet's page shows the outcome once intake has learnt it from review.
    decided = [r.event_id for r in stack.outbox("review", "award.decided")
               if r.payload["payload"]["cycle"] == w.cycle]
    poll(lambda: decided and stack.processed("intake", decided[0]), 60)
    http.close()
    return w


def at(template: str) -> Any:
    """A walk builder: the path with the world's ids filled in (`{application}`, `{cycle}`...)."""
    def build(stack: AppStack, _subject: str) -> str:
        return template.format(**world(stack).__dict__)
    return build
