"""One truth on the applicant's checklist (issue 15, point 3): the rows and the summary are the
documents service's checklist of the current versions, a new version is judged without a new
submission, each reason says what to do next, and documents announces every change of a
verdict or a reason — not only a change of the overall status."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.documents import packets
from services.documents.models import metadata as documents_metadata
from services.intake import awards, checklist
from services.intake.models import Application, Document, DocumentVersion
from services.intake.models import metadata as intake_metadata

CATALOGUE = checklist.from_kinds("t-1", {"organisation": [
    {"id": "application-form", "title": {"zh-CN": "申报表", "en": "Application form"},
     "required": True, "formats": ["pdf"]},
    {"id": "self-evaluation", "title": {"zh-CN": "自评报告", "en": "Self-evaluation"},
     "required": True, "formats": ["pdf", "docx"]},
    {"id": "financials", "title": {"zh-CN": "财务报表", "en": "Financial statements"},
     "required": True, "formats": ["pdf"]},
]})
TOO_LONG = {"code": "too_many_pages", "zh-CN": "《申报表.pdf》共 9 页，超过上限 4 页。",
            "en": "\u201c申报表.pdf\u201d has 9 pages, more than the limit of 4."}


def packet(versions: dict[str, list[str]], draft: dict[str, Any] | None = None,
           report: dict[str, Any] | None = None) -> Application:
    """An application whose documents (by requirement) have the given versions, all of them
    read by the inspection without error (so the file alone looks fine)."""
    app = Application(id="a1", kind="organisation", cycle="c1", status="draft",
                      draft_checklist=draft, completeness_report=report,
                      completeness=(report or {}).get("status"))
    for requirement, ids in versions.items():
        doc = Document(id=f"d-{requirement}", requirement=requirement)
        doc.versions = [DocumentVersion(id=vid, number=n + 1, filename=f"{requirement}.pdf",
                                        inspection={"ok": True}, classification_marks=[])
                        for n, vid in enumerate(ids)]
        app.documents.append(doc)
    return app


def judged(items: list[dict[str, Any]], status: str = "incomplete") -> dict[str, Any]:
    return {"status": status, "counts": {}, "items": items, "report_id": "r0"}


def test_a_file_read_fine_but_judged_invalid_is_invalid_in_its_row_and_in_the_summary(
        ) -> None:
    # The old page showed 符合 for this row (the file opened) under a summary of 不齐全.
    app = packet({"application-form": ["v1"], "self-evaluation": ["v2"]}, judged([
        {"requirement": "application-form", "status": "invalid", "reasons": [TOO_LONG],
         "versions": ["v1"]},
        {"requirement": "self-evaluation", "status": "met", "reasons": [], "versions": ["v2"]},
        {"requirement": "financials", "status": "missing", "versions": [],
         "reasons": [{"code": "missing", "zh-CN": "未提交该项材料。", "en": "Not provided."}]},
    ]))
    built = checklist.build(app, "zh-CN", CATALOGUE)
    states = {r.requirement: r.state for r in built.rows}
    assert states == {"application-form": "invalid", "self-evaluation": "met",
                      "financials": "missing"}
    assert built.status == "incomplete" and not built.pending
    assert built.counts == {"met": 1, "missing": 1, "invalid": 1, "attention": 0}
    [form] = [r for r in built.rows if r.requirement == "application-form"]
    assert form.reasons == [checklist.Reason(TOO_LONG["zh-CN"],
                                             checklist.ADVICE["too_many_pages"])]
    # Everything to put right, at once: both problems, in the catalogue's order.
    assert [r.requirement for r in built.to_fix] == ["application-form", "financials"]


def test_a_new_version_not_yet_judged_is_being_inspected_and_so_is_the_summary() -> None:
    # The last checklist judged version 1; version 2 is the current one now.
    app = packet({"application-form": ["v1", "v1b"], "self-evaluation": ["v2"]}, judged([
        {"requirement": "application-form", "status": "invalid", "reasons": [TOO_LONG],
         "versions": ["v1"]},
        {"requirement": "self-evaluation", "status": "met", "reasons": [], "versions": ["v2"]},
        {"requirement": "financials", "status": "missing", "reasons": [], "versions": []},
    ]))
    built = checklist.build(app, "zh-CN", CATALOGUE)
    [form] = [r for r in built.rows if r.requirement == "application-form"]
    assert form.state == "pending" and form.reasons == []  # the old verdict is not shown
    assert built.pending and built.status == "pending"
    assert [r.requirement for r in built.to_fix] == ["financials"]


def test_the_draft_checklist_is_kept_after_a_submission_and_the_submission_report_stays(
        ) -> None:
    engine = create_engine("sqlite://")
    intake_metadata.create_all(engine)
    now = datetime.now(UTC)
    submitted = {"counts": {"invalid": 1}, "missing": [], "report_id": "r1", "submission": 1}
    with Session(engine) as session:
        session.add(Application(id="a1", owner="o", cycle="c1", kind="organisation", name="甲",
                                status="returned", created_at=now, updated_at=now,
                                completeness="incomplete", completeness_report=submitted))
        session.flush()
        item = {"requirement": "application-form", "status": "met", "reasons": [],
                "versions": ["v2"]}
        awards.record_completeness(session, {
            "application_id": "a1", "cycle": "c1", "owner": "o", "status": "complete",
            "counts": {"met": 1, "missing": 0, "invalid": 0, "attention": 0}, "missing": [],
            "report_id": "r0", "submission": 0, "items": [item]})
        app = session.get(Application, "a1")
        assert app is not None
        # Before: a draft checklist after a submission was dropped until the next submission.
        assert app.draft_checklist == {"status": "complete", "items": [item], "report_id": "r0",
                                       "counts": {"met": 1, "missing": 0, "invalid": 0,
                                                  "attention": 0}}
        assert app.completeness == "incomplete" and app.completeness_report == submitted


class Recorded:
    """The outbox's one verb, keeping what was emitted."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, session: Session, type_: str, payload: dict[str, Any]) -> None:
        self.events.append((type_, payload))


def test_documents_announces_a_changed_reason_even_when_the_status_stays_the_same() -> None:
    engine = create_engine("sqlite://")
    documents_metadata.create_all(engine)
    outbox = Recorded()
    upload = {"application_id": "a1", "cycle": "c1", "kind": "organisation", "owner": "o",
              "document_id": "d1", "requirement": "application-form", "object_key": "k",
              "sha256": "0" * 64, "size": 10}

    def version(vid: str, number: int, pages: int) -> None:
        p = {**upload, "version_id": vid, "number": number, "filename": f"v{number}.pdf"}
        with Session(engine) as session, session.begin():
            packets.record_upload(session, p)
            packets.record_verdict(session, p, {"ok": True, "format": "docx", "pages": pages})
            packets.recompute(session, outbox, "a1", default_catalogue="quality-award-2025")

    version("v1", 1, 2)
    version("v2", 2, 3)  # still the wrong format: status and missing items as before
    drafts = [p for t, p in outbox.events if t == "packet.checked"]
    assert len(drafts) == 2  # the old rule announced only the first
    assert [d["status"] for d in drafts] == ["incomplete", "incomplete"]
    assert drafts[0]["missing"] == drafts[1]["missing"]
    [first, second] = [next(i for i in d["items"] if i["requirement"] == "application-form")
                       for d in drafts]
    assert first["versions"] == ["v1"] and second["versions"] == ["v2"]
    assert second["status"] == "invalid" and second["reasons"][0]["code"] == "format"
    # In words, not format codes: "Word（DOCX）", "PDF、扫描图片" rather than "docx", "pdf/image".
    assert "格式为 Word（DOCX），本项只接受 PDF、扫描图片、OFD。" in second["reasons"][0]["zh-CN"]
    version("v2", 2, 3)  # the same verdict again: nothing new to say
    assert len([t for t, _p in outbox.events if t == "packet.checked"]) == 2


def test_before_documents_has_judged_a_file_read_fine_is_being_inspected_not_met() -> None:
    built = checklist.build(packet({"application-form": ["v1"]}), "zh-CN", CATALOGUE)
    [form] = [r for r in built.rows if r.requirement == "application-form"]
    assert form.state == "pending" and built.status == "pending" and built.pending


def test_a_returned_packets_upload_form_proposes_a_new_version_of_the_file_to_put_right(
        ) -> None:
    app = packet({"self-evaluation": ["v2"], "application-form": ["v1"]}, judged([
        {"requirement": "application-form", "status": "invalid", "reasons": [TOO_LONG],
         "versions": ["v1"]},
        {"requirement": "self-evaluation", "status": "met", "reasons": [], "versions": ["v2"]},
    ]))
    choices = checklist.upload_choices(CATALOGUE, app, "zh-CN")
    draft = checklist.upload_default(app, checklist.build(app, "zh-CN", CATALOGUE), choices)
    assert draft == checklist.UploadDefault("application-form", None)  # a draft: a new file
    app.status = "returned"
    returned = checklist.upload_default(app, checklist.build(app, "zh-CN", CATALOGUE), choices)
    assert returned == checklist.UploadDefault("application-form", "d-application-form")


def test_file_types_are_named_in_words_not_mime_types() -> None:
    from services.intake.filetypes import type_label
    from shared.web.i18n import Catalogues

    catalogues = Catalogues([Path(__file__).resolve().parents[2] / "services" / "intake"
                             / "web" / "translations"], strict=True)
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert catalogues.gettext("zh-CN", type_label(docx)) == "Word 文档"
    assert catalogues.gettext("zh-CN", type_label("application/pdf")) == "PDF 文档"
    assert type_label("application/x-unknown") == "File"
