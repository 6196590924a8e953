"""The expert registry and conflict records over the running stack."""

from __future__ import annotations

from datetime import date

from reviewstack import ReviewDriver


def test_a_csv_import_is_all_or_nothing_and_announces_each_expert_account(
        review: ReviewDriver) -> None:
    http, url, op = review.http, review.url, review.operator
    tag = review.cycle
    bad = ("subject,name,organisation,fields,county\n"
           f"imp1-{tag},甲,山西大学,机械制造;食品,140902\n"
           f"imp2-{tag},,太原理工,食品,\n")
    r = http.post(f"{url}/experts/import", headers={**op, "Content-Type": "text/csv"},
                  data=bad.encode())
    assert r.status_code == 422
    assert r.json()["code"] == "expert.csv_rows" and "3" in r.json()["errors"]
    listed = http.get(f"{url}/experts", headers=op, params={"q": f"imp1-{tag}"}).json()
    assert listed["total"] == 0

    good = bad.replace(f"imp2-{tag},,", f"imp2-{tag},乙,")
    r = http.post(f"{url}/experts/import", headers={**op, "Content-Type": "text/csv"},
                  data=good.encode())
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2
    found = http.get(f"{url}/experts", headers=op,
                     params={"field": "食品", "q": tag}).json()["items"]
    assert {e["subject"] for e in found} == {f"imp1-{tag}", f"imp2-{tag}"}
    assert http.get(f"{url}/experts", headers=op, params={"field": "机械制造", "q": tag}
                    ).json()["total"] == 1
    saved = [e for e in review.outbox("account.saved") if e["subject"].endswith(tag)]
    assert {(e["role"], e["active"]) for e in saved} == {("expert", True)}
    r = http.post(f"{url}/experts/import", headers={**op, "Content-Type": "text/csv"},
                  data=good.encode())
    assert r.status_code == 409
    assert http.post(f"{url}/experts/import", headers={**review.auth("expert", "x"),
                     "Content-Type": "text/csv"}, data=good.encode()).status_code == 403


def test_conflicts_are_detected_recorded_declared_and_withdrawn_but_never_deleted(
        review: ReviewDriver) -> None:
    http, url, op = review.http, review.url, review.operator
    review.cycle_saved()
    app_id = review.accept("忻州恒信化工有限公司", credit_code="91140900HENGXIN01",
                           legal_representative="孙立", app_id=f"cf-{review.cycle}",
                           related=[{"name": "太原众诚咨询有限公司", "credit_code": None,
                                     "relation": "consultant"}])
    review.wait_applications(1)
    former = review.expert(f"cf-former-{review.cycle}", "山西大学", past_affiliations=[
        {"organisation": "忻州恒信化工有限公司", "role": "技术总监",
         "started_on": "2015-01-01", "ended_on": f"{date.today().year - 1}-06-30"}])
    relative = review.expert(f"cf-rel-{review.cycle}", "太原理工大学", relations=[
        {"name": "孙立", "relation": "spouse"}])
    consultant = review.expert(f"cf-adv-{review.cycle}", "太原众诚咨询有限公司")
    clean = review.expert(f"cf-clean-{review.cycle}", "中北大学")

    found = {(c["expert_id"], c["ground"]) for c in http.get(
        f"{url}/conflicts", headers=op, params={"application_id": app_id, "per_page": 200}
    ).json()["items"]}
    assert found == {(former["id"], "former-employment"), (relative["id"], "relative"),
                     (consultant["id"], "adviser")}
    check = http.get(f"{url}/experts/{clean['id']}/conflict-check", headers=op).json()
    assert check["total"] == 0

    # The operator records one; the expert declares one; each keeps ground, source and time.
    r = http.post(f"{url}/conflicts", headers=op, json={
        "expert_id": clean["id"], "application_id": app_id, "ground": "dispute",
        "reason": "2024 年合同纠纷（申报者书面申请回避）"})
    assert r.status_code == 201, r.text
    recorded = r.json()
    assert (recorded["source"], recorded["recorded_by"]) == ("operator", "op-review")
    r = http.post(f"{url}/conflicts", headers=op, json={
        "expert_id": clean["id"], "application_id": app_id, "ground": "friendship",
        "reason": "x" * 5})
    assert r.status_code == 422 and r.json()["code"] == "conflict.ground_unknown"

    # Withdrawn with a reason, never deleted; the withdrawal is audited.
    assert http.delete(f"{url}/conflicts/{recorded['id']}", headers=op).status_code == 405
    r = http.post(f"{url}/conflicts/{recorded['id']}/withdraw", headers=op,
                  json={"reason": "经核实纠纷已于 2019 年了结"})
    assert r.status_code == 200 and r.json()["withdrawal_reason"].startswith("经核实")
    again = http.post(f"{url}/conflicts/{recorded['id']}/withdraw", headers=op,
                      json={"reason": "重复"})
    assert again.status_code == 409
    everything = http.get(f"{url}/conflicts", headers=op,
                          params={"expert_id": clean["id"]}).json()["items"]
    assert [c["withdrawn_at"] is not None for c in everything] == [True]
    assert http.get(f"{url}/conflicts/{recorded['id']}", headers=op).json()["ground"] == \
        "dispute"
    assert ("op-review", "conflict.withdrawn", f"conflict:{recorded['id']}") in \
        review.audit_actions()
    # The supervision group reads the audit log, its chain verified; the operator cannot.
    log = http.get(f"{url}/audit", headers=review.supervisor,
                   params={"target": f"conflict:{recorded['id']}"}).json()
    assert log["chain_ok"] is True and log["chain_records"] >= log["total"] >= 2
    assert {i["action"] for i in log["items"]} == {"conflict.recorded", "conflict.withdrawn"}
    assert http.get(f"{url}/audit", headers=op).status_code == 403

    # An applicant's written request to recuse is recorded by the operator as such.
    r = http.post(f"{url}/conflicts", headers=op, json={
        "expert_id": clean["id"], "application_id": app_id, "ground": "other",
        "reason": "申报者书面申请回避：曾公开批评该单位", "requested_by_applicant": True})
    assert r.status_code == 201 and r.json()["source"] == "applicant"

    # An expert sees only their own records, whatever they ask for.
    mine = http.get(f"{url}/conflicts", headers=review.auth("expert", relative["subject"]),
                    params={"expert_id": former["id"]}).json()["items"]
    assert {c["expert_id"] for c in mine} == {relative["id"]}
    assert http.post(f"{url}/conflicts/{recorded['id']}/withdraw",
                     headers=review.auth("expert", relative["subject"]),
                     json={"reason": "我想撤回"}).status_code == 403


def test_an_infeasible_assignment_names_each_uncovered_application_and_why(
        review: ReviewDriver) -> None:
    http, url, op = review.http, review.url, review.operator
    review.cycle_saved()
    covered = review.accept("忻州甲", app_id=f"if-a-{review.cycle}", industry="机械制造")
    short = review.accept("忻州乙", credit_code="91140900YI0000001", app_id=f"if-b-{review.cycle}",
                          industry="食品")
    review.wait_applications(2)
    experts = [review.expert(f"if-{i}-{review.cycle}", f"单位{i}", fields=["机械制造"])
               for i in range(3)]
    insider = review.expert(f"if-in-{review.cycle}", "乙", fields=["食品"],
                            organisation_credit_code="91140900YI0000001")
    panel = review.panel("on-site", 2, 5, [e["id"] for e in [*experts, insider]],
                         require_field_match=True)
    r = http.post(f"{url}/panels/{panel['id']}/assign", headers=op)
    assert r.status_code == 409
    problem = r.json()
    assert problem["code"] == "assignment.infeasible"
    assert set(problem["errors"]) == {short}
    assert "1 conflicted, 3 outside the field" in problem["errors"][short]
    assert covered not in problem["errors"]
    assert http.get(f"{url}/assignments", headers=op,
                    params={"panel_id": panel["id"]}).json()["total"] == 0
    # Expert by expert, why each one cannot take the uncovered application.
    rows = http.get(f"{url}/panels/{panel['id']}/candidates/{short}", headers=op).json()
    reasons = {r["expert_subject"]: r["reasons"] for r in rows}
    assert reasons[insider["subject"]] == ["conflict: same-organisation"]
    assert all(reasons[e["subject"]] == ["field mismatch"] for e in experts)
    fine = http.get(f"{url}/panels/{panel['id']}/candidates/{covered}", headers=op).json()
    assert [r["eligible"] for r in fine] == [True, True, True, False]
    assert fine[0]["terms"] == {"field-match": 100} and fine[0]["affinity"] == 100


def test_a_conflict_detected_after_assignment_ends_that_assignment_at_once(
        review: ReviewDriver) -> None:
    http, url, op = review.http, review.url, review.operator
    review.cycle_saved()
    app_id = review.accept("忻州晚发现有限公司", credit_code="91140900LATE00001",
                           app_id=f"late-{review.cycle}")
    review.wait_applications(1)
    experts = [review.expert(f"late{i}-{review.cycle}", f"单位{i}") for i in range(2)]
    panel = review.panel("material", 1, 1, [e["id"] for e in experts])
    [pair] = http.post(f"{url}/panels/{panel['id']}/assign", headers=op).json()["items"]
    serving = next(e for e in experts if e["id"] == pair["expert_id"])
    me = review.auth("expert", serving["subject"])
    assert http.get(f"{url}/dossiers/{app_id}", headers=me).status_code == 200

    # The operator learns the expert left the applicant last year and updates the record.
    body = {k: serving[k] for k in ("subject", "name", "organisation", "fields")}
    body["past_affiliations"] = [{"organisation": "其他", "credit_code": "91140900LATE00001",
                                  "ended_on": f"{date.today().year - 1}-12-31"}]
    r = http.put(f"{url}/experts/{serving['id']}", headers=op, json=body)
    assert r.status_code == 200, r.text
    assert http.get(f"{url}/dossiers/{app_id}", headers=me).status_code == 404
    rows = http.get(f"{url}/assignments", headers=op,
                    params={"panel_id": panel["id"]}).json()["items"]
    assert {(r["expert_id"], r["status"]) for r in rows} == {
        (serving["id"], "ended"), (next(e["id"] for e in experts if e is not serving),
                                   "proposed")}
    [recusal] = [e for e in review.outbox("recusal.recorded") if e["application_id"] == app_id]
    assert (recusal["ground"], recusal["source"]) == ("former-employment", "detected")


def test_a_deactivated_expert_loses_access_and_every_assignment_gets_a_replacement(
        review: ReviewDriver) -> None:
    http, url, op = review.http, review.url, review.operator
    review.cycle_saved()
    apps = [review.accept(f"忻州停用测试{i}", app_id=f"off{i}-{review.cycle}") for i in range(2)]
    review.wait_applications(2)
    experts = [review.expert(f"off{i}-{review.cycle}", f"单位{i}") for i in range(3)]
    panel = review.panel("material", 1, 2, [e["id"] for e in experts])
    pairs = http.post(f"{url}/panels/{panel['id']}/assign", headers=op).json()["items"]
    leaving = next(e for e in experts if e["id"] == pairs[0]["expert_id"])
    mine = {p["application_id"] for p in pairs if p["expert_id"] == leaving["id"]}

    r = http.post(f"{url}/experts/{leaving['id']}/deactivate", headers=op,
                  json={"reason": "退休，不再参加评审"})
    assert r.status_code == 200 and r.json()["active"] is False
    me = review.auth("expert", leaving["subject"])
    for app_id in apps:
        assert http.get(f"{url}/dossiers/{app_id}", headers=me).status_code == 404
    rows = http.get(f"{url}/assignments", headers=op,
                    params={"panel_id": panel["id"]}).json()["items"]
    proposed = {r["application_id"] for r in rows if r["status"] == "proposed"}
    assert proposed == mine
    assert all(r["expert_id"] != leaving["id"] for r in rows if r["status"] != "ended")
    saved = [e for e in review.outbox("account.saved") if e["subject"] == leaving["subject"]]
    assert [e["active"] for e in saved][-1] is False

    assert http.post(f"{url}/experts/{leaving['id']}/reactivate",
                     headers=op).json()["active"] is True
    saved = [e for e in review.outbox("account.saved") if e["subject"] == leaving["subject"]]
    assert saved[-1]["active"] is True


def test_a_csv_saved_by_excel_in_gbk_or_with_a_bom_keeps_its_chinese_names(
        review: ReviewDriver) -> None:
    http, url, op = review.http, review.url, review.operator
    tag = review.cycle
    for n, (encoding, content_type) in enumerate((("gbk", "text/csv"),
                                                   ("utf-8-sig", "text/csv"),
                                                   ("gb18030", "text/csv; charset=gb18030"))):
        body = ("subject,name,organisation,fields,county\n"
                f"enc{n}-{tag},张质量,忻州市产品质量检验所,机械制造,140902\n")
        r = http.post(f"{url}/experts/import", headers={**op, "Content-Type": content_type},
                      data=body.encode(encoding))
        assert r.status_code == 201, r.text
        [expert] = http.get(f"{url}/experts", headers=op,
                            params={"q": f"enc{n}-{tag}"}).json()["items"]
        assert (expert["name"], expert["organisation"]) == ("张质量", "忻州市产品质量检验所")
    r = http.post(f"{url}/experts/import", headers={**op, "Content-Type": "text/csv"},
                  data=b"subject,name\n\xff\xfe\xfa\xfb")
    assert r.status_code == 422 and r.json()["code"] == "expert.csv_encoding", r.text
