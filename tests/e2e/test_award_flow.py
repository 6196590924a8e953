"""One award over the four running services, end to end: nothing is injected, every step is a
request a person makes, and every hand-over between services is a real event.

Applicant → intake (upload, publicity, submit) → documents (inspection, completeness back to
intake) → recommender → operator (accept, acceptance list) → review (experts, conflicts,
assignment, dossier pull with watermark, scores, opinions, recommendation list, decision,
certificate) → intake (the winner is barred next cycle) and notify (the applicant's inbox).
"""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from docx import Document
from intake.flows import Intake, new_uscc
from pypdf import PdfReader
from samples import headed_pdf, scan_pdf
from waiting import poll

from dossier.localstack import AppStack
from services.review.programme import Programme
from shared.auth import issue_token

pytestmark = pytest.mark.stack

SEVEN = ["一、领导", "二、战略", "三、顾客与市场", "四、资源", "五、过程管理",
         "六、测量、分析与改进", "七、结果"]


def _bearer(stack: AppStack, role: str, subject: str, **scope: str) -> dict[str, str]:
    token = issue_token(stack.secret_key, subject=subject, role=role, ttl_seconds=3600,
                        scope=scope or None)
    return {"Authorization": f"Bearer {token}"}


def _event_ids(stack: AppStack, service: str, event_type: str, cycle: str) -> list[str]:
    """Ids of the events of one type and cycle that `service` wrote to its outbox."""
    return [r.event_id for r in stack.outbox(service, event_type)
            if r.payload["payload"].get("cycle") == cycle]


def _ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def test_an_award_runs_from_draft_to_certificate_and_bars_the_winner_next_cycle(
        stack: AppStack, http: requests.Session) -> None:
    intake = Intake(stack, http)
    documents, review, notify = (f"{stack.url(s)}/api" for s in ("documents", "review",
                                                                 "notify"))
    operator = intake.operator
    supervisor = _bearer(stack, "supervisor", "supervisor-e2e")
    programme = f"award-{uuid.uuid4().hex[:8]}"
    cycle = intake.open_cycle(year=date.today().year, programme=programme)["id"]

    # -- the applicant registers and opens an organisation application -----------------------
    subject = f"applicant-{uuid.uuid4().hex[:8]}"
    me = intake.as_("applicant", subject)
    _ok(intake.call("PUT", "/accounts/me", me, json={
        "name": "忻州全流程精密制造有限公司", "email": "quality@example.org",
        "language": "zh-CN"}))
    credit_code = new_uscc()
    app = _ok(intake.create(me, cycle, name="忻州全流程精密制造有限公司",
                            credit_code=credit_code, industry="装备制造"), 201)
    app_id = app["id"]

    # -- every required document of the catalogue, one of them a trade secret -----------------
    catalogue = _ok(http.get(f"{documents}/catalogue", headers=me,
                             params={"cycle": cycle, "kind": "organisation"}))
    requirements = catalogue["kinds"]["organisation"]
    uploaded: dict[str, dict[str, Any]] = {}
    for req in requirements:
        if not req.get("required") or req.get("provided_by") == "recommender":
            continue
        if req.get("sections"):
            data = headed_pdf(SEVEN)
        elif req.get("sealed_scan"):
            data = scan_pdf()
        else:
            data = headed_pdf([req["title"]["zh-CN"]])
        secret = req["id"] == "evidence"
        r = intake.upload(me, app_id, f"{req['title']['zh-CN'][:20]}.pdf", data,
                          requirement=req["id"],
                          confidentiality="trade-secret" if secret else "internal")
        uploaded[req["id"]] = _ok(r, 201)
    assert "self-evaluation" in uploaded and "evidence" in uploaded

    # Documents inspects each file; the applicant's checklist is complete before submission.
    def checklist() -> dict[str, Any] | None:
        got = http.get(f"{documents}/applications/{app_id}/completeness", headers=me)
        if got.status_code == 404:  # not one upload event has reached documents yet
            return None
        r = _ok(got)
        return r if r["pending"] == 0 and r["counts"]["met"] >= len(uploaded) else None

    report = poll(checklist, 90)
    assert report["counts"]["missing"] == 0 and report["counts"]["invalid"] == 0, report

    # -- publicity, submission, recommendation, acceptance, acceptance list -------------------
    proof = uploaded["publicity-proof"]["document_id"]
    _ok(intake.publicity(me, app_id, proof))
    _ok(intake.submit(me, app_id))
    # The submitted packet's completeness comes back to intake (packet.checked).
    poll(lambda: intake.detail(me, app_id).get("completeness") in {"complete", "attention"}, 90)
    recommender = intake.recommender("140902")
    _ok(intake.call("POST", f"/applications/{app_id}/recommend", recommender,
                    json={"opinion": "材料齐全，情况属实，同意推荐。",
                          "government_reference": "忻府政函〔2026〕8号"}))
    _ok(intake.call("POST", f"/applications/{app_id}/accept", operator, json={}))
    acceptance = _ok(intake.call("POST", f"/cycles/{cycle}/acceptance-lists", operator,
                                 json={"starts_on": date.today().isoformat()}), 201)

    # -- review receives the accepted packet and the acceptance list --------------------------
    def in_review() -> dict[str, Any] | None:
        items = _ok(http.get(f"{review}/applications", headers=operator,
                             params={"cycle": cycle}))["items"]
        return items[0] if items else None

    reviewed = poll(in_review, 60)
    assert reviewed["id"] == app_id and reviewed["documents"] == len(uploaded)
    poll(lambda: _ok(http.get(f"{review}/lists", headers=operator,
                              params={"cycle": cycle, "kind": "acceptance"}))["items"], 60)

    # -- experts; the one from the applicant's own organisation is detected and never assigned
    experts = []
    for i in range(5):
        experts.append(_ok(http.post(f"{review}/experts", headers=operator, json={
            "subject": f"expert-{i}-{cycle}", "name": f"评审专家{i}",
            "organisation": f"山西省质量研究院{i}", "fields": ["装备制造"]}), 201))
    insider = _ok(http.post(f"{review}/experts", headers=operator, json={
        "subject": f"insider-{cycle}", "name": "内部专家", "organisation": "忻州全流程精密制造",
        "organisation_credit_code": credit_code, "fields": ["装备制造"]}), 201)
    conflicts = _ok(http.get(f"{review}/conflicts", headers=operator,
                             params={"application_id": app_id, "active": True}))["items"]
    assert [(c["expert_id"], c["ground"]) for c in conflicts] == [
        (insider["id"], "same-organisation")]

    panel = _ok(http.post(f"{review}/panels", headers=operator, json={
        "cycle": cycle, "stage": "material", "per_application": 5, "max_load": 3,
        "pool": [e["id"] for e in [*experts, insider]]}), 201)
    pairs = _ok(http.post(f"{review}/panels/{panel['id']}/assign", headers=operator),
                201)["items"]
    assert sorted(p["expert_id"] for p in pairs) == sorted(e["id"] for e in experts)

    # -- dossier pull: the trade secret only after the pledge, watermarked on every page ------
    first = experts[0]
    as_expert = _bearer(stack, "expert", first["subject"])
    _ok(http.post(f"{review}/dossiers/{app_id}/acknowledge", headers=as_expert,
                  json={"accept": True}))
    r = http.get(f"{review}/dossiers/{app_id}/download", headers=as_expert)
    assert r.status_code == 200, r.text
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    [secret_name] = [n for n in archive.namelist() if n.startswith("evidence/")]
    for page in PdfReader(io.BytesIO(archive.read(secret_name))).pages:
        assert first["subject"] in (page.extract_text() or "")
    assert http.get(f"{review}/dossiers/{app_id}/download",
                    headers=_bearer(stack, "expert", insider["subject"])).status_code == 404

    # -- every assigned expert scores 90 % of each item's maximum ------------------------------
    items = Programme().rubric("organisation").items
    for pair in pairs:
        _ok(http.put(f"{review}/panels/{panel['id']}/scores/{app_id}",
                     headers=_bearer(stack, "expert", pair["expert_subject"]),
                     json={"items": {k: round(v * 0.9, 2) for k, v in items.items()}}))
    results = {x["application_id"]: x for x in _ok(
        http.get(f"{review}/cycles/{cycle}/results", headers=supervisor))}
    assert results[app_id]["tier"] == "award"

    # -- department opinions, recommendation list, decision, certificate -----------------------
    for department in _ok(http.get(f"{review}/applications/{app_id}/opinions",
                                   headers=operator))["missing"]:
        _ok(http.post(f"{review}/applications/{app_id}/opinions", headers=operator, json={
            "department": department, "favourable": True,
            "reference": f"{department}〔{date.today().year}〕1号"}), 201)
    start = date.today() - timedelta(days=30)
    _ok(http.post(f"{review}/cycles/{cycle}/recommendation", headers=operator,
                  json={"starts_on": start.isoformat(), "reason": "已在报刊公示"}), 201)
    awards = _ok(http.post(f"{review}/cycles/{cycle}/decision", headers=operator,
                           json={"reference": "忻政发〔2026〕1号"}), 201)
    [award] = [a for a in awards if a["application_id"] == app_id]
    assert (award["tier"], award["amount"]) == ("award", 200000)
    r = http.get(f"{review}/awards/{award['id']}/certificate", headers=me)
    assert r.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)
    assert "忻州全流程精密制造有限公司" in text and award["serial"] in text

    # -- intake learns of the award: the winner cannot apply in the next cycle -----------------
    later = intake.open_cycle(year=date.today().year + 3, programme=programme)["id"]

    # Wait for intake to have handled review's award.decided (an application made before
    # that would be a legitimate draft and block the retry as a duplicate).
    poll(lambda: (ids := _event_ids(stack, "review", "award.decided", cycle))
         and stack.processed("intake", ids[0]), 60)
    r = intake.create(intake.as_("applicant", f"again-{uuid.uuid4().hex[:6]}"), later,
                      name="忻州全流程精密制造有限公司", credit_code=credit_code)
    assert r.status_code == 422 and "eligibility.winner_barred" in r.text, r.text

    # -- notify: the applicant heard of each step, in Chinese, without trade-secret content ----
    wanted = {"packet.submitted", "packet.accepted", "award.decided"}

    def inbox() -> list[dict[str, Any]] | None:
        items = _ok(http.get(f"{notify}/inbox", headers=me, params={"per_page": 100}))["items"]
        return items if wanted <= {m["event_type"] for m in items} else None

    messages = poll(inbox, 60)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m["title"]) for m in messages)
    leaks = [m for m in messages if uploaded["evidence"]["filename"] in m["body"]]
    assert not leaks, leaks
    assert acceptance["id"]
