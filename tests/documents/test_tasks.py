"""The documents worker on the running stack: intake's events in, verdicts, completeness
reports and `packet.checked` out."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import builders as b
import requests
from events import Intake, documents_rows, new_application
from waiting import poll

from dossier.localstack import AppStack

Auth = Callable[[str, str], dict[str, str]]


def completeness(http: requests.Session, stack: AppStack, headers: dict[str, str],
                 app: dict[str, Any], **query: Any) -> dict[str, Any] | None:
    r = http.get(f"{stack.url('documents')}/api/applications/{app['id']}/completeness",
                 headers=headers, params=query)
    return r.json() if r.status_code == 200 else None


def settled(report: dict[str, Any] | None, documents: int) -> bool:
    if not report or report["pending"]:
        return False
    seen = {e["version_id"] for i in report["items"] for e in i["evidence"]}
    return len(seen) >= documents


def outbox(stack: AppStack, type_: str, application_id: str,
           submitted: bool | None = None) -> list[dict[str, Any]]:
    """Events for one application in emission order; `submitted` keeps only submission
    reports (True) or only draft checklists (False)."""
    rows = documents_rows(stack, "SELECT payload FROM outbox WHERE type = :t ORDER BY seq",
                          t=type_)
    found = [r.payload["payload"] for r in rows
             if r.payload["payload"]["application_id"] == application_id]
    if submitted is not None:
        found = [e for e in found if (e.get("submission", 0) > 0) is submitted]
    return found


def test_an_organisation_packet_is_checked_as_a_draft_and_again_on_submission(
        stack: AppStack, http: requests.Session, auth: Auth) -> None:
    intake = Intake(stack)
    intake.cycle_saved()
    app = new_application("organisation")
    me = auth("applicant", app["owner"])
    files = {"application-form": b.scan_pdf(1), "overview": b.docx_file([("概述", None)]),
             "self-evaluation": b.report_pdf(), "business-licence": b.encrypted_pdf("pw"),
             "evidence": b.text_pdf([["证书"]]), "no-accident": b.scan_pdf(1),
             "compliance": b.scan_pdf(1), "publicity-proof": b.scan_pdf(1),
             "commitment": b.scan_pdf(1)}
    manifest = [intake.upload(app, req, f"{req}.pdf", data) for req, data in files.items()]

    draft = poll(lambda: (r := completeness(http, stack, me, app)) and settled(r, len(files))
                 and r)
    assert draft["submission"] == 0 and draft["status"] == "incomplete"
    assert draft["missing"] == ["financials"]
    status = {i["requirement"]: i["status"] for i in draft["items"]}
    assert status["business-licence"] == "invalid" and status["self-evaluation"] == "met"
    assert status["recommendation"] == "not_due"
    # The draft's checklist is announced quietly (no audience) whenever it changes.
    drafts = poll(lambda: (d := outbox(stack, "packet.checked", app["id"], submitted=False))
                  and d[-1]["missing"] == ["financials"] and d)
    assert {(d["submission"], str(d["audience"])) for d in drafts} == {(0, "[]")}
    assert drafts[-1]["status"] == "incomplete" and drafts[-1]["report_id"] == draft["id"]
    # Changes only: a verdict, a reason or a version judged (the checklist intake shows).
    states = [(d["status"], d["items"]) for d in drafts]
    assert all(a != b for a, b in itertools.pairwise(states))
    assert {i["requirement"]: i["status"] for i in drafts[-1]["items"]} == status

    intake.submit(app, manifest)
    report = poll(lambda: (r := completeness(http, stack, me, app)) and r["submission"] == 1
                  and r)
    assert report["status"] == "incomplete"
    assert report["counts"] == {"met": 8, "missing": 1, "invalid": 1, "attention": 0}
    [checked] = poll(lambda: outbox(stack, "packet.checked", app["id"], submitted=True))
    items = checked.pop("items")
    assert {i["requirement"]: i["status"] for i in items} == \
        {i["requirement"]: i["status"] for i in report["items"]}
    assert checked == {
        "application_id": app["id"], "cycle": "2025", "owner": app["owner"],
        "status": "incomplete", "counts": report["counts"], "missing": ["financials"],
        "report_id": report["id"], "submission": 1, "unit": "140902",
        # Messages name what is missing, not its code.
        "missing_titles": [{"zh-CN": "近三年审计报告",
                            "en": "Audited accounts of the last three years"}],
        "applicant_name": app["name"],  # the recommender's message names the applicant
        "audience": [{"subject": app["owner"]}, {"role": "recommender", "unit": "140902"}]}
    inspected = outbox(stack, "document.inspected", app["id"])
    assert len(inspected) == len(files)
    locked = next(e for e in inspected if e["filename"] == "business-licence.pdf")
    assert locked["ok"] is False and locked["encrypted"] is True
    assert locked["error"]["code"] == "inspect.encrypted" and locked["error"]["message"]
    assert locked["error"]["messages"]["zh-CN"].startswith("文件已加密")


def test_a_submission_that_arrives_before_its_inspections_is_announced_when_they_finish(
        stack: AppStack, http: requests.Session, auth: Auth) -> None:
    intake = Intake(stack)
    app = new_application("individual")
    me = auth("applicant", app["owner"])
    files = {"application-form": b.scan_pdf(1),
             "personal-statement": b.docx_file([("我的质量工作", None)]),
             "evidence": b.text_pdf([["成果"]]), "employer-opinion": b.png_scan(),
             "publicity-proof": b.scan_pdf(1), "commitment": b.scan_pdf(1)}
    manifest = [intake.store_version(app, req, f"{req}.pdf", data)
                for req, data in files.items()]
    intake.submit(app, manifest)  # queued ahead of every upload it lists
    for entry in manifest:
        intake.announce(app, entry)

    [checked] = poll(lambda: outbox(stack, "packet.checked", app["id"], submitted=True))
    assert checked["status"] == "complete" and checked["missing"] == []
    report = completeness(http, stack, me, app)
    assert report is not None and report["id"] == checked["report_id"]
    assert report["pending"] == 0 and report["announced_at"]
    assert {i["status"] for i in report["items"]} == {"met", "not_due"}


def test_a_new_version_replaces_the_old_and_a_deletion_reopens_the_requirement(
        stack: AppStack, http: requests.Session, auth: Auth) -> None:
    intake = Intake(stack)
    app = new_application("organisation")
    me = auth("applicant", app["owner"])

    def overview() -> dict[str, Any]:
        report = completeness(http, stack, me, app)
        return next(i for i in report["items"] if i["requirement"] == "overview") if report \
            else {}

    first = intake.upload(app, "overview", "概述.pdf", b.executable_named_pdf())
    assert poll(lambda: overview().get("status") == "invalid")
    second = intake.upload(app, "overview", "概述.docx", b.docx_file([("概述", None)]),
                           document_id=first["document_id"], number=2)
    found = poll(lambda: (o := overview()).get("status") == "met" and o)
    assert found["evidence"][0]["version_id"] == second["version_id"]
    intake.delete(app, first["document_id"], [first["version_id"], second["version_id"]])
    assert poll(lambda: overview().get("status") == "missing")


def test_hostile_uploads_get_verdicts_and_the_worker_keeps_working(
        stack: AppStack, http: requests.Session, auth: Auth, tmp_path: Any) -> None:
    intake = Intake(stack)
    app = new_application("organisation")
    me = auth("applicant", app["owner"])
    bomb = tmp_path / "bomb.docx"
    b.zip_bomb_docx(bomb, megabytes=300)
    hostile = {"evidence": b.looping_page_tree_pdf(), "compliance": bomb.read_bytes(),
               "overview": b.xxe_docx(), "commitment": b.text_pdf([["绝密★"]])}
    entries = {req: intake.upload(app, req, f"{req}.bin", data)
               for req, data in hostile.items()}
    after = intake.upload(app, "self-evaluation", "report.pdf", b.report_pdf())

    def verdict(entry: dict[str, Any]) -> dict[str, Any] | None:
        r = http.get(f"{stack.url('documents')}/api/inspections/{entry['version_id']}",
                     headers=me)
        return r.json() if r.status_code == 200 else None

    assert poll(lambda: verdict(after))["pages"] == 7
    codes = {req: poll(lambda e=e: verdict(e))["error_code"] for req, e in entries.items()}
    assert codes == {"evidence": "inspect.page_tree", "compliance": "inspect.zip_bomb",
                     "overview": "inspect.xml_entities", "commitment": None}
    marked = verdict(entries["commitment"])
    assert marked["classification_marks"] == ["绝密★"]
    [event] = [e for e in outbox(stack, "document.inspected", app["id"])
               if e["version_id"] == entries["commitment"]["version_id"]]
    assert event["classification_marks"] == ["绝密★"]
