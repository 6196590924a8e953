"""From accepted packets to the final list and certificates, over the running stack."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from docx import Document
from reviewstack import ReviewDriver, today_plus
from samples import text_pdf

from services.review.programme import Programme
from shared.workdays import WorkCalendar


def _scores(kind: str, share: float) -> dict[str, float]:
    items = Programme().rubric(kind).items
    return {item: round(maximum * share, 2) for item, maximum in items.items()}


def test_accepted_packets_go_through_review_publicity_opinions_decision_and_revocation(
        review: ReviewDriver) -> None:
    http, url, op, sup = review.http, review.url, review.operator, review.supervisor
    review.cycle_saved(awards=1, nominations=1, year=2025)
    pdf = text_pdf(["自评报告 self-evaluation"])

    # -- packets accepted by intake arrive as events -------------------------------------------
    org1, org2, person = (f"{p}-{review.cycle}" for p in ("org1", "org2", "ind1"))
    review.accept("忻州精工机械有限公司", credit_code="91140900JINGGONG1", app_id=org1,
                  documents=[review.document(org1, "self-evaluation", "自评报告.pdf", pdf)])
    review.accept("忻州市第一人民医院", credit_code="12140900HOSPITAL1", app_id=org2,
                  sector="public", industry="health",
                  documents=[review.document(org2, "self-evaluation", "自评报告.pdf", pdf)])
    review.accept("周质量", kind="individual", app_id=person,
                  documents=[review.document(person, "application-form", "申报表.pdf", pdf)])
    apps = {a["id"]: a for a in review.wait_applications(3)}
    assert apps[org1]["documents"] == 1

    # -- experts: one works for org1 (same credit code) and is detected at once --------------
    experts = [review.expert(f"e2e-{i}-{review.cycle}", f"山西评审中心{i}",
                             name=f"专家{i}") for i in range(5)]
    insider = review.expert(f"e2e-in-{review.cycle}", "精工机械",
                            organisation_credit_code="91140900JINGGONG1")
    conflicts = http.get(f"{url}/conflicts", headers=op,
                         params={"application_id": org1, "active": True}).json()["items"]
    assert [(c["expert_id"], c["ground"], c["source"]) for c in conflicts] == [
        (insider["id"], "same-organisation", "detected")]

    # -- assignment: 5 experts per application, load ≤ 3, the insider never on org1 ----------
    pool = [e["id"] for e in [*experts, insider]]
    panel = review.panel("material", 5, 3, pool)
    r = http.post(f"{url}/panels/{panel['id']}/assign", headers=op)
    assert r.status_code == 201, r.text
    pairs = r.json()["items"]
    assert len(pairs) == 15
    assert (org1, insider["id"]) not in {(p["application_id"], p["expert_id"]) for p in pairs}
    for app_id in (org1, org2, person):
        assert sum(p["application_id"] == app_id for p in pairs) == 5
    loads: dict[str, int] = {}
    for p in pairs:
        loads[p["expert_id"]] = loads.get(p["expert_id"], 0) + 1
        assert p["affinity"] == sum(p["explanation"]["terms"].values())
        assert p["explanation"]["terms"].get("field-match") == (
            100 if p["application_id"] != org2 else None)  # org2 is health, experts 机械制造
        assert p["explanation"]["eligible_experts"] >= 5
    assert max(loads.values()) <= 3
    made = [m for m in review.outbox("assignment.made") if m["cycle"] == review.cycle]
    assert sum(len(m["applications"]) for m in made) == 15

    # -- scoring: every assigned expert scores; trimmed mean at 5 experts --------------------
    shares = {org1: [0.9, 0.8, 0.8, 0.8, 0.1], org2: [0.7] * 5, person: [0.5] * 5}
    score_ids: dict[str, str] = {}
    for app_id, kind in ((org1, "organisation"), (org2, "organisation"),
                         (person, "individual")):
        serving = [p for p in pairs if p["application_id"] == app_id]
        for p, share in zip(serving, shares[app_id], strict=True):
            me = review.auth("expert", p["expert_subject"])
            r = http.put(f"{url}/panels/{panel['id']}/scores/{app_id}", headers=me,
                         json={"items": _scores(kind, share)})
            assert r.status_code == 200, r.text
            score_ids[p["expert_subject"] + app_id] = r.json()["id"]
    first, second = [p for p in pairs if p["application_id"] == org1][:2]
    me = review.auth("expert", first["expert_subject"])
    rubric = http.get(f"{url}/rubrics/organisation", headers=me,
                      params={"cycle": review.cycle}).json()
    assert rubric["total"] == 1000 and len(rubric["categories"]) == 7
    listed = http.get(f"{url}/my/dossiers", headers=me).json()["items"]
    [mine_page] = [d for d in listed if d["application_id"] == org1]
    assert mine_page["scored_stages"] == ["material"]
    assert mine_page["panels"] == {"material": panel["id"]}
    # The list, read in bulk, says of each dossier exactly what the dossier itself says.
    assert len(listed) > 1
    for item in listed:
        alone = http.get(f"{url}/dossiers/{item['application_id']}", headers=me)
        assert alone.status_code == 200 and alone.json() == item
    too_high = {**_scores("organisation", 0.5), "leadership.senior-leaders": 51}
    r = http.put(f"{url}/panels/{panel['id']}/scores/{org1}", headers=me,
                 json={"items": too_high})
    assert r.status_code == 422 and r.json()["code"] == "review.score_invalid"
    # An expert reads only their own scores.
    other_score = score_ids[second["expert_subject"] + org1]
    assert http.get(f"{url}/scores/{other_score}", headers=me).status_code == 404
    mine = http.get(f"{url}/scores", headers=me, params={"per_page": 200}).json()["items"]
    assert mine and all(s["expert_id"] == first["expert_id"] for s in mine)
    assert http.get(f"{url}/scores/{other_score}", headers=sup).status_code == 200
    # An expert not serving on an application cannot score it.
    r = http.put(f"{url}/panels/{panel['id']}/scores/{org1}",
                 headers=review.auth("expert", insider["subject"]),
                 json={"items": _scores("organisation", 1)})
    assert r.status_code == 404

    # A recusal after scoring withdraws that expert's score from the aggregate.
    leaving = next(p for p in pairs if p["application_id"] == person)
    r = http.post(f"{url}/conflicts", headers=op, json={
        "expert_id": leaving["expert_id"], "application_id": person, "ground": "relative",
        "reason": "评审后发现系申报人表亲"})
    assert r.status_code == 201, r.text

    results = {r["application_id"]: r for r in
               http.get(f"{url}/cycles/{review.cycle}/results", headers=sup).json()}
    assert results[person]["experts"] == {"material": 4}
    assert results[org1]["experts"] == {"material": 5}
    assert results[org1]["score"] == 800  # 900 and 100 dropped
    assert results[org1]["tier"] == "award"
    assert results[org2]["tier"] == "nomination"
    assert results[person]["tier"] is None  # 50 % is below the nomination floor: vacant
    assert results[person]["note"] == "below the floor"

    # -- acceptance publicity with objections ------------------------------------------------
    acceptance = f"acc-{review.cycle}"
    review.deliver("acceptance.published", {
        "list_id": acceptance, "cycle": review.cycle, "starts_on": today_plus(-1),
        "ends_on": today_plus(6), "audience": [],
        "entries": [{"application_id": a, "applicant_name": apps[a]["applicant_name"],
                     "kind": apps[a]["kind"], "unit": "140902"} for a in apps]})

    def acceptance_listed() -> bool:
        items = http.get(f"{url}/lists", headers=op,
                         params={"cycle": review.cycle, "kind": "acceptance"}).json()["items"]
        return bool(items)

    from waiting import poll
    poll(acceptance_listed)
    citizen = review.auth("applicant", f"citizen-{review.cycle}")
    r = http.post(f"{url}/lists/{acceptance}/objections", headers=citizen, json={
        "application_id": org2, "anonymous": False, "reporter_name": "李举报",
        "reporter_contact": "13800000000", "text": "该单位近三年发生过质量事故。"})
    assert r.status_code == 201, r.text
    named = r.json()
    assert "reporter" not in str(named) and "李举报" not in str(named)
    r = http.post(f"{url}/lists/{acceptance}/objections", headers=citizen, json={
        "anonymous": True, "text": "匿名反映：材料有夸大成分。"})
    assert r.status_code == 201, r.text
    anonymous = r.json()
    received = [e for e in review.outbox("objection.received") if e["list_id"] == acceptance]
    assert {e["objection_id"] for e in received} == {named["id"], anonymous["id"]}
    # Nothing of the reporter: the list and the application by name, for the message.
    assert all(set(e) <= {"objection_id", "list_id", "cycle", "application_id", "anonymous",
                          "applicant_name", "case_number", "list_kind", "audience"}
               for e in received)

    r = http.get(f"{url}/objections/{named['id']}/reporter", headers=sup)
    assert r.status_code == 200 and r.json()["name"] == "李举报"
    assert r.json()["contact"] == "13800000000"
    assert http.get(f"{url}/objections/{anonymous['id']}/reporter",
                    headers=sup).json()["anonymous"] is True
    assert http.get(f"{url}/objections/{named['id']}/reporter", headers=op).status_code == 403
    assert ("sup-review", "objection.reporter_read", f"objection:{named['id']}") in \
        review.audit_actions()
    # Supervisors read everything and change nothing.
    r = http.post(f"{url}/objections/{named['id']}/resolve", headers=sup,
                  json={"outcome": "dismissed", "resolution": "监督组不应能处理"})
    assert r.status_code == 403
    for objection in (named, anonymous):
        r = http.post(f"{url}/objections/{objection['id']}/resolve", headers=op, json={
            "outcome": "dismissed", "resolution": "经核查，事故系他人责任，不影响申报。"})
        assert r.status_code == 200, r.text

    # -- opinions: recommendation blocked until every required department answered ------------
    start = date.today() - timedelta(days=30)
    r = http.post(f"{url}/cycles/{review.cycle}/recommendation", headers=op,
                  json={"starts_on": start.isoformat(), "reason": "已在报刊公示"})
    assert r.status_code == 409 and r.json()["code"] == "list.opinions_incomplete"
    assert set(r.json()["errors"]) == {org1, org2}
    status = http.get(f"{url}/applications/{org2}/opinions", headers=op).json()
    assert status["sector"] == "public"
    assert status["required"] == ["police", "discipline", "organisation"]
    assert http.get(f"{url}/applications/{org1}/opinions", headers=op).json()["required"] == [
        "police", "hrss", "ecology", "emergency", "taxation"]
    r = http.post(f"{url}/applications/{org2}/opinions", headers=op, json={
        "department": "taxation", "favourable": True, "reference": "x"})
    assert r.status_code == 422  # not consulted for a public institution
    for app_id in (org1, org2):
        for department in http.get(f"{url}/applications/{app_id}/opinions",
                                   headers=op).json()["missing"]:
            r = http.post(f"{url}/applications/{app_id}/opinions", headers=op, json={
                "department": department, "favourable": True,
                "reference": f"忻{department}函〔2025〕1号"})
            assert r.status_code == 201, r.text
    assert {e["application_id"] for e in review.outbox("opinions.completed")} >= {org1, org2}

    # -- recommendation list, 5 working days of publicity --------------------------------------
    r = http.post(f"{url}/cycles/{review.cycle}/recommendation", headers=op,
                  json={"starts_on": start.isoformat(), "reason": "已在报刊公示"})
    assert r.status_code == 201, r.text
    recommendation = r.json()
    assert [(e["application_id"], e["tier"]) for e in recommendation["entries"]] == [
        (org1, "award"), (org2, "nomination")]
    seen = http.get(f"{url}/lists", headers=citizen, params={"cycle": review.cycle,
                    "kind": "recommendation"}).json()["items"][0]["entries"]
    assert seen[0] == {"application_id": org1, "applicant_name": "忻州精工机械有限公司",
                       "kind": "organisation", "tier": "award"}  # no scores in public
    calendar = WorkCalendar.default()
    assert recommendation["ends_on"] == calendar.publicity_end(start, 5).isoformat()
    assert calendar.workdays_between(start, date.fromisoformat(recommendation["ends_on"])) == 5
    published = [e for e in review.outbox("list.published") if e["cycle"] == review.cycle]
    assert published[0]["kind"] == "recommendation"
    assert {"subject": f"owner-{org1}"} in published[0]["audience"]  # the listed are told
    r = http.put(f"{url}/panels/{panel['id']}/scores/{org1}", headers=me,
                 json={"items": _scores("organisation", 1.0)})
    assert r.status_code == 409 and r.json()["code"] == "score.locked"
    r = http.post(f"{url}/lists/{recommendation['id']}/objections", headers=citizen,
                  json={"anonymous": True, "text": "公示期已过的异议"})
    assert r.status_code == 409 and r.json()["code"] == "objection.outside_window"
    assert http.post(f"{url}/cycles/{review.cycle}/decision", headers=sup,
                     json={}).status_code == 403

    # -- decision, amounts, certificates --------------------------------------------------------
    r = http.post(f"{url}/cycles/{review.cycle}/decision", headers=op,
                  json={"reference": "忻政发〔2025〕88号"})
    assert r.status_code == 201, r.text
    awards = {a["application_id"]: a for a in r.json()}
    assert awards[org1]["tier"] == "award" and awards[org1]["amount"] == 200000
    assert awards[org2]["tier"] == "nomination" and awards[org2]["amount"] == 0
    [decided] = [e for e in review.outbox("award.decided") if e["cycle"] == review.cycle]
    assert decided["year"] == 2025
    by_app = {x["application_id"]: x for x in decided["results"]}
    assert by_app[org1]["credit_code"] == "91140900JINGGONG1"
    assert by_app[org1]["owner"] == f"owner-{org1}"
    final = [e for e in review.outbox("list.published")
             if e["cycle"] == review.cycle and e["kind"] == "final"]
    assert [x["application_id"] for x in final[0]["entries"]] == [org1, org2]

    award = awards[org1]
    r = http.get(f"{url}/awards/{award['id']}/certificate",
                 headers=review.auth("applicant", f"owner-{org1}"))
    assert r.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(r.content)).paragraphs)
    assert "2025" in text and award["serial"] in text and "忻州精工机械有限公司" in text
    assert http.get(f"{url}/awards/{award['id']}/certificate",
                    headers=review.auth("applicant", "someone-else")).status_code == 404
    verified = http.get(f"{url}/certificates/{award['serial']}", headers=citizen).json()
    assert verified["valid"] is True and verified["year"] == 2025

    # -- revocation: recovery recorded, bar announced for intake --------------------------------
    r = http.post(f"{url}/awards/{award['id']}/revoke", headers=op, json={
        "ground": "fraud", "evidence": ["核查报告〔2026〕3号"], "year": 2026})
    assert r.status_code == 200, r.text
    revocation: dict[str, Any] = r.json()["revocation"]
    assert revocation["amount_to_recover"] == 200000 and revocation["barred_cycles"] == 3
    [revoked] = [e for e in review.outbox("award.revoked") if e["application_id"] == org1]
    assert (revoked["credit_code"], revoked["year"], revoked["ground"],
            revoked["barred_cycles"]) == ("91140900JINGGONG1", 2026, "fraud", 3)
    assert http.get(f"{url}/certificates/{award['serial']}",
                    headers=citizen).json()["valid"] is False
    assert http.get(f"{url}/awards/{award['id']}/certificate", headers=op).status_code == 410
    r = http.post(f"{url}/awards/{award['id']}/revoke", headers=op,
                  json={"ground": "fraud", "evidence": ["again"]})
    assert r.status_code == 409
