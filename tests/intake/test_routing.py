"""From draft to the operator's acceptance list, with returns, history, freezing and the
authorisation boundaries of each role."""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
from datetime import date
from typing import Any

import pytest
from minio import Minio
from minio.error import S3Error
from samples import blank_pdf, text_pdf
from waiting import poll

from dossier.localstack import AppStack
from shared.config import load_settings
from shared.crypto import FieldCipher

from .flows import CALENDAR, Intake, deliver, new_id_number, new_uscc, outbox, unique
from .test_applications import problem


def prepared(intake: Intake, cycle: str, **fields: Any) -> tuple[dict[str, str], str]:
    """An applicant with a draft that has material and a finished internal publicity."""
    me = intake.as_("applicant", unique("a"))
    r = intake.create(me, cycle, **fields)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = intake.upload(me, app_id, "自评报告.pdf", blank_pdf(3))
    assert r.status_code == 201, r.text
    r = intake.upload(me, app_id, "内部公示证明.pdf", blank_pdf(1),
                      requirement="publicity-proof")
    assert r.status_code == 201, r.text
    assert intake.publicity(me, app_id, r.json()["document_id"]).status_code == 200
    return me, app_id


def s3(stack: AppStack) -> Minio:
    return Minio(stack.backing.s3_endpoint, access_key=stack.backing.access_key,
                 secret_key=stack.backing.secret_key, secure=False)


def test_a_packet_goes_from_draft_to_the_acceptance_list(
        intake: Intake, stack: AppStack) -> None:
    cycle = intake.open_cycle()["id"]
    parent = new_uscc()
    me, app_id = prepared(intake, cycle, related=[
        {"name": "忻州示例控股集团有限公司", "credit_code": parent, "relation": "控股股东"}])
    recommender = intake.recommender("140902")
    operator = intake.operator

    # The recommender sees nothing before submission, the applicant's packet after it.
    assert intake.call("GET", "/applications", recommender,
                       params={"cycle": cycle}).json()["total"] == 0
    r = intake.submit(me, app_id)
    assert r.status_code == 200, r.text
    submitted = r.json()
    assert (submitted["status"], submitted["unit"], submitted["route"]) == (
        "submitted", "140902", "county")
    assert all(v["frozen"] for d in submitted["documents"] for v in d["versions"])
    page = intake.call("GET", "/applications", recommender, params={"cycle": cycle}).json()
    assert [a["id"] for a in page["items"]] == [app_id]
    assert len(page["items"][0]["documents"]) == 2  # one request serves the page

    # Frozen: the store itself refuses to delete the submitted version.
    version = submitted["documents"][0]["versions"][0]
    key = f"{cycle}/{app_id}/{version['document_id']}/v1"
    objects = list(s3(stack).list_objects(stack.bucket, prefix=key, include_version=True))
    with pytest.raises(S3Error):
        s3(stack).remove_object(stack.bucket, key, version_id=objects[0].version_id)
    # Overwriting the key or deleting it without a version only stacks a new version or a
    # delete marker on top; the submitted version stays, byte for byte.
    s3(stack).put_object(stack.bucket, key, io.BytesIO(b"tampered"), length=8)
    s3(stack).remove_object(stack.bucket, key)
    kept = s3(stack).get_object(stack.bucket, key, version_id=objects[0].version_id)
    assert hashlib.sha256(kept.read()).hexdigest() == version["sha256"]
    kept.close()

    # Returned by the recommender with reasons, fixed with a new version, resubmitted.
    r = intake.call("POST", f"/applications/{app_id}/return", recommender,
                    json={"reasons": ["自评报告缺少第七章"]})
    assert r.status_code == 200 and r.json()["status"] == "returned", r.text
    r = intake.upload(me, app_id, "自评报告（修订）.pdf", blank_pdf(4),
                      document_id=version["document_id"])
    assert r.status_code == 201 and r.json()["number"] == 2, r.text
    assert intake.submit(me, app_id).json()["submission"] == 2

    r = intake.call("POST", f"/applications/{app_id}/recommend", recommender,
                    json={"opinion": "材料齐全，同意推荐。"})
    assert r.json()["code"] == "recommendation.government_missing"
    r = intake.call("POST", f"/applications/{app_id}/recommend", recommender,
                    json={"opinion": "材料齐全，同意推荐。",
                          "government_reference": "忻府政函〔2026〕8号"})
    assert r.status_code == 200 and r.json()["status"] == "recommended", r.text
    queue = intake.call("GET", "/applications", operator,
                        params={"cycle": cycle, "status": "recommended"}).json()
    assert [a["id"] for a in queue["items"]] == [app_id]
    r = intake.call("POST", f"/applications/{app_id}/accept", operator)
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    [accepted] = [p for p in outbox(stack, "packet.accepted") if p["application_id"] == app_id]
    assert accepted["applicant"]["related"] == [
        {"name": "忻州示例控股集团有限公司", "credit_code": parent, "relation": "控股股东"}]
    assert accepted["applicant"]["credit_code"] and "id_number" not in accepted["applicant"]
    assert [d["number"] for d in accepted["documents"]] == [2, 1]  # the current versions

    today = date.today()
    r = intake.call("POST", f"/cycles/{cycle}/acceptance-lists", operator,
                    json={"starts_on": today.isoformat()})
    assert r.status_code == 201, r.text
    listing = r.json()
    assert listing["entries"] == [{"application_id": app_id, "kind": "organisation",
                                   "applicant_name": "忻州市示例机械有限公司", "unit": "140902",
                                   "case_number": f"{cycle}-0001"}]
    assert CALENDAR.workdays_between(today, date.fromisoformat(listing["ends_on"])) == 5
    # The published list is public to every signed-in role, the applicant included.
    seen = intake.call("GET", f"/cycles/{cycle}/acceptance-lists", me).json()
    assert seen["items"][0]["id"] == listing["id"]

    history = intake.detail(me, app_id)["history"]
    assert [(h["action"], h["submission"]) for h in history] == [
        ("created", 0), ("submitted", 1), ("returned", 1), ("submitted", 2),
        ("recommended", 2), ("accepted", 2)]
    assert history[2]["note"] == "自评报告缺少第七章"
    detail = intake.detail(me, app_id)
    old, new = detail["documents"][0]["versions"]
    assert (old["number"], new["number"], old["frozen"], new["frozen"]) == (1, 2, True, True)


def test_the_industry_route_goes_to_the_chosen_authority(intake: Intake) -> None:
    cycle = intake.open_cycle()["id"]
    me, app_id = prepared(intake, cycle)
    problem(intake.submit(me, app_id, route="industry", unit="140902"), 422,
            "submission.industry_unknown")
    r = intake.submit(me, app_id, route="industry", unit="IND-GX")
    assert r.status_code == 200 and r.json()["unit"] == "IND-GX", r.text
    county = intake.recommender("140902")
    problem(intake.call("GET", f"/applications/{app_id}", county), 404, "http.not_found")
    industry = intake.recommender("IND-GX")
    assert intake.call("GET", f"/applications/{app_id}", industry).status_code == 200


def test_the_operator_rejects_with_reasons(intake: Intake) -> None:
    cycle = intake.open_cycle()["id"]
    me, app_id = prepared(intake, cycle)
    intake.submit(me, app_id)
    rec = intake.recommender("140902")
    intake.call("POST", f"/applications/{app_id}/recommend", rec,
                json={"opinion": "同意", "government_reference": "忻府政函〔2026〕9号"})
    problem(intake.call("POST", f"/applications/{app_id}/reject", intake.operator,
                        json={"reasons": []}), 422, "validation.failed")
    r = intake.call("POST", f"/applications/{app_id}/reject", intake.operator,
                    json={"reasons": ["不符合基本条件"]})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    problem(intake.call("POST", f"/applications/{app_id}/accept", intake.operator), 409,
            "application.wrong_status")
    problem(intake.call("POST", f"/cycles/{cycle}/acceptance-lists", intake.operator,
                        json={"starts_on": date.today().isoformat()}), 409, "acceptance.empty")


def test_an_applicant_reading_another_applicants_packet_gets_404(intake: Intake,
                                                                  cycle: str) -> None:
    _, app_id = prepared(intake, cycle)
    other = intake.as_("applicant", unique("other"))
    submit = {"route": "county", "attest_no_state_secrets": True, "attest_authentic": True}
    for method, path, body in (("GET", f"/applications/{app_id}", None),
                               ("PATCH", f"/applications/{app_id}", {"industry": "化工"}),
                               ("POST", f"/applications/{app_id}/submit", submit)):
        problem(intake.call(method, path, other, json=body), 404, "http.not_found")
    problem(intake.upload(other, app_id, "x.pdf", blank_pdf(1)), 404, "http.not_found")
    assert app_id not in [a["id"] for a in intake.call("GET", "/applications",
                                                       other).json()["items"]]


def test_a_recommender_outside_the_jurisdiction_gets_404_like_a_missing_packet(
        intake: Intake, cycle: str) -> None:
    me, app_id = prepared(intake, cycle)
    intake.submit(me, app_id)
    outsider_subject = unique("rec-outside")
    outsider = intake.recommender("140981", outsider_subject)
    missing = str(uuid.uuid4())
    for target in (app_id, missing):
        for method, path, body in (
                ("GET", f"/applications/{target}", None),
                ("POST", f"/applications/{target}/recommend", {"opinion": "越权"}),
                ("POST", f"/applications/{target}/return", {"reasons": ["越权"]})):
            r = intake.call(method, path, outsider, json=body)
            problem(r, 404, "http.not_found")
            assert r.json()["detail"] == f"application {target}"
    # The refusals of the packet that exists are audited; a missing id is just missing.
    denied = intake.stack.query(
        "intake", "SELECT role, target, detail FROM audit_log WHERE action = 'access.denied' "
        "AND actor = :a ORDER BY seq", a=outsider_subject)
    assert [(row.role, row.target) for row in denied] == [
        ("recommender", f"application:{app_id}")] * 3
    assert app_id not in [a["id"] for a in intake.call(
        "GET", "/applications", outsider, params={"cycle": cycle}).json()["items"]]


def test_refusals_of_a_signed_in_caller_are_audited_and_anonymous_ones_are_not(
        intake: Intake, cycle: str) -> None:
    _, app_id = prepared(intake, cycle)
    subject = unique("nosy")
    nosy = intake.as_("applicant", subject)
    problem(intake.call("POST", f"/applications/{app_id}/accept", nosy), 403, "auth.forbidden")
    problem(intake.call("GET", f"/applications/{app_id}", nosy), 404, "http.not_found")

    def denials() -> list[Any]:
        return intake.stack.query(
            "intake", "SELECT actor, role, target, detail FROM audit_log "
            "WHERE action = 'access.denied' ORDER BY seq")

    mine = [(r.role, r.target, r.detail["code"]) for r in denials() if r.actor == subject]
    assert mine == [("applicant", f"path:/api/applications/{app_id}/accept", "auth.forbidden"),
                    ("applicant", f"application:{app_id}", "http.not_found")]
    before = len(denials())
    for _ in range(5):
        problem(intake.call("GET", f"/applications/{app_id}", {}), 401, "auth.token_missing")
    assert len(denials()) == before


def test_a_recommender_token_must_agree_with_the_account_record(intake: Intake,
                                                                cycle: str) -> None:
    me, app_id = prepared(intake, cycle)
    intake.submit(me, app_id)
    subject = unique("rec")
    intake.recommender("140902", subject)
    # Refused by every service's guard before intake's own check (`account.scope_mismatch`).
    problem(intake.call("GET", f"/applications/{app_id}",
                        intake.as_("recommender", subject, unit="140981")), 401,
            "auth.account_changed")
    assert intake.call("GET", f"/applications/{app_id}",
                       intake.as_("recommender", subject, unit="140902")).status_code == 200
    problem(intake.call("GET", "/applications", intake.as_("recommender", unique("ghost"))),
            403, "account.no_jurisdiction")


def test_supervisors_read_everything_and_change_nothing(intake: Intake, cycle: str) -> None:
    _, app_id = prepared(intake, cycle)
    watcher = intake.as_("supervisor", unique("sup"))
    assert intake.call("GET", f"/applications/{app_id}", watcher).status_code == 200
    problem(intake.call("POST", f"/applications/{app_id}/accept", watcher), 403,
            "auth.forbidden")
    problem(intake.call("PUT", f"/cycles/{cycle}", watcher, json={"status": "closed"}), 403,
            "auth.forbidden")


def test_submission_needs_the_attestations_and_a_finished_publicity(intake: Intake,
                                                                    cycle: str) -> None:
    me = intake.as_("applicant", unique("a"))
    app_id = intake.create(me, cycle).json()["id"]
    proof = intake.upload(me, app_id, "公示.pdf", blank_pdf(1), requirement="publicity-proof")
    problem(intake.submit(me, app_id), 422, "submission.publicity_missing")
    proof_id = proof.json()["document_id"]
    # Four working days are not enough; the shared calendar counts them.
    start = CALENDAR.add_workdays(date.today(), -10)
    problem(intake.publicity(me, app_id, proof_id, start, CALENDAR.add_workdays(start, 3)), 422,
            "publicity.too_short")
    problem(intake.publicity(me, app_id, proof_id, date(2099, 1, 5), date(2099, 1, 12)), 422,
            "calendar.year_unknown")
    future = CALENDAR.add_workdays(date.today(), 1)
    assert intake.publicity(me, app_id, proof_id, future,
                            CALENDAR.publicity_end(future)).status_code == 200
    problem(intake.submit(me, app_id), 422, "submission.publicity_running")
    assert intake.publicity(me, app_id, proof_id).status_code == 200
    problem(intake.submit(me, app_id, attest_no_state_secrets=False), 422,
            "submission.state_secret_attestation")
    problem(intake.submit(me, app_id, attest_authentic=False), 422,
            "submission.authenticity_attestation")
    assert intake.submit(me, app_id).status_code == 200
    problem(intake.submit(me, app_id), 409, "application.not_draft")


def test_classification_marks_and_completeness_reach_the_packet_view(
        intake: Intake, stack: AppStack, cycle: str) -> None:
    me, app_id = prepared(intake, cycle)
    document = intake.upload(me, app_id, "技术方案.pdf", text_pdf(["机密★10年"])).json()

    def inspected() -> bool:
        versions = [v for d in intake.detail(me, app_id)["documents"] for v in d["versions"]]
        return all(v["inspection"] is not None for v in versions)

    poll(inspected, 60)  # the documents service's own verdict first, then ours on top
    deliver(stack, "document.inspected", {
        "application_id": app_id, "document_id": document["document_id"],
        "version_id": document["id"], "owner": "x", "filename": "技术方案.pdf", "ok": True,
        "format": "pdf", "pages": 1, "encrypted": False, "text_layer": True, "error": None,
        "classification_marks": ["机密★"]}, source="documents")
    deliver(stack, "packet.checked", {
        "application_id": app_id, "cycle": cycle, "owner": "x", "status": "incomplete",
        "counts": {"met": 2, "missing": 1, "invalid": 0, "attention": 0},
        "missing": ["financials"], "report_id": "r-1"}, source="documents")
    detail = intake.detail(intake.operator, app_id)
    assert detail["flagged"] is True
    assert detail["completeness"] == "incomplete"
    assert detail["completeness_report"]["missing"] == ["financials"]
    # The report on a submission is never hidden by a draft checklist that arrives late.
    deliver(stack, "packet.checked", {
        "application_id": app_id, "cycle": cycle, "owner": "x", "status": "complete",
        "counts": {"met": 3, "missing": 0, "invalid": 0, "attention": 0}, "missing": [],
        "report_id": "r-2", "submission": 1}, source="documents")
    deliver(stack, "packet.checked", {
        "application_id": app_id, "cycle": cycle, "owner": "x", "status": "incomplete",
        "counts": {"met": 2, "missing": 1, "invalid": 0, "attention": 0},
        "missing": ["financials"], "report_id": "r-0", "submission": 0}, source="documents")
    report = intake.detail(intake.operator, app_id)["completeness_report"]
    assert (report["report_id"], report["submission"]) == ("r-2", 1)
    [marked] = [d for d in detail["documents"] if d["id"] == document["document_id"]]
    assert marked["versions"][0]["classification_marks"] == ["机密★"]
    assert marked["versions"][0]["inspection"]["pages"] == 1
    flagged = intake.call("GET", "/applications", intake.operator,
                          params={"cycle": cycle, "flagged": "true"}).json()["items"]
    assert app_id in [a["id"] for a in flagged]
    # A clean new version of the marked document lifts the flag.
    r = intake.upload(me, app_id, "技术方案（脱密）.pdf", blank_pdf(1),
                      document_id=document["document_id"])
    assert r.status_code == 201, r.text
    assert intake.detail(me, app_id)["flagged"] is False


def test_a_returned_packet_can_come_back_after_the_window_closed(intake: Intake) -> None:
    the_cycle = intake.open_cycle()
    me, app_id = prepared(intake, the_cycle["id"])
    assert intake.submit(me, app_id).status_code == 200
    rec = intake.recommender("140902")
    intake.call("POST", f"/applications/{app_id}/return", rec, json={"reasons": ["补充盖章"]})
    yesterday = date.fromordinal(date.today().toordinal() - 1).isoformat()
    intake.call("PUT", f"/cycles/{the_cycle['id']}", intake.operator,
                json={"closes_on": yesterday, "opens_on": "2020-01-01"})
    r = intake.submit(me, app_id)
    assert r.status_code == 200 and r.json()["submission"] == 2, r.text


@pytest.mark.parametrize(("role", "method", "action"), [
    ("applicant", "POST", "accept"), ("applicant", "POST", "recommend"),
    ("recommender", "POST", "accept"), ("recommender", "POST", "submit"),
    ("operator", "POST", "submit"), ("operator", "POST", "recommend"),
    ("expert", "GET", ""), ("supervisor", "POST", "return"),
])
def test_each_step_belongs_to_its_role(intake: Intake, cycle: str, role: str, method: str,
                                       action: str) -> None:
    _, app_id = prepared(intake, cycle)
    path = f"/applications/{app_id}" + (f"/{action}" if action else "")
    body = {"recommend": {"opinion": "同意"}, "return": {"reasons": ["补正"]},
            "submit": {"route": "county", "attest_no_state_secrets": True,
                       "attest_authentic": True}}.get(action)
    problem(intake.call(method, path, intake.as_(role, unique(role)), json=body), 403,
            "auth.forbidden")


def test_another_applicants_documents_answer_404(intake: Intake, cycle: str) -> None:
    me, app_id = prepared(intake, cycle)
    document_id = intake.detail(me, app_id)["documents"][0]["id"]
    other = intake.as_("applicant", unique("other"))
    path = f"/applications/{app_id}/documents/{document_id}"
    problem(intake.call("PATCH", path, other, json={"confidentiality": "public"}), 404,
            "http.not_found")
    problem(intake.call("DELETE", path, other), 404, "http.not_found")
    problem(intake.publicity(other, app_id, document_id), 404, "http.not_found")
    assert len(intake.detail(me, app_id)["documents"]) == 2


def test_a_double_submit_submits_once(intake: Intake, stack: AppStack, cycle: str) -> None:
    me, app_id = prepared(intake, cycle)
    codes: list[int] = []

    def submit() -> None:
        import requests

        with requests.Session() as http:
            codes.append(Intake(stack, http).submit(me, app_id).status_code)

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409, 409]
    history = intake.detail(me, app_id)["history"]
    assert [h["action"] for h in history].count("submitted") == 1


def test_an_accepted_individual_carries_the_blind_index_of_their_identity_number_only(
        intake: Intake, stack: AppStack) -> None:
    cycle = intake.open_cycle()["id"]
    number = new_id_number()
    me, app_id = prepared(intake, cycle, kind="individual", id_number=number)
    assert intake.submit(me, app_id).status_code == 200
    r = intake.call("POST", f"/applications/{app_id}/recommend", intake.recommender("140902"),
                    json={"opinion": "同意推荐。", "government_reference": "忻府政函〔2026〕7号"})
    assert r.status_code == 200, r.text
    assert intake.call("POST", f"/applications/{app_id}/accept",
                       intake.operator).status_code == 200
    [accepted] = [p for p in outbox(stack, "packet.accepted") if p["application_id"] == app_id]
    key = load_settings(stack.env()).field_key()
    assert accepted["applicant"]["id_index"] == FieldCipher(
        key, "person.id_number").blind_index(number)
    assert number not in str(accepted)
