"""The applicant's checklist from a requirement list the documents service announced
(`requirements.published`), domain level: whatever catalogue a cycle uses, its requirements
are what the checklist names, flags and offers — and without a list nothing breaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.intake import checklist
from services.intake.models import Application, Document, DocumentVersion, metadata
from shared.messages import load_payload

# A programme that is not the quality award: other ids, other titles, one English title left
# out (the schema reads it as the Chinese one), one item the recommender provides.
OTHER = {
    "cycle": "ip-2026",
    "catalogue": {"version": "ip-award-2026", "title": {"zh-CN": "知识产权奖", "en": "IP award"}},
    "kinds": {
        "organisation": [
            {"id": "patent-list", "title": {"zh-CN": "专利清单", "en": "List of patents"},
             "required": True, "provided_by": "applicant", "formats": ["pdf"],
             "multiple": False},
            {"id": "licence-income", "title": {"zh-CN": "许可收入证明"}, "required": False,
             "provided_by": "applicant", "formats": ["pdf", "image"], "multiple": True},
            {"id": "bureau-opinion", "title": {"zh-CN": "主管部门意见", "en": "Bureau opinion"},
             "required": True, "provided_by": "recommender", "formats": ["pdf"]},
        ],
        "individual": [
            {"id": "inventor-statement", "title": {"zh-CN": "发明人陈述",
                                                   "en": "Inventor's statement"},
             "required": True},
        ],
    },
    "audience": [],
}


def other_catalogue() -> checklist.Catalogue:
    p = load_payload("requirements.published", OTHER)
    return checklist.from_kinds(p["catalogue"]["version"], p["kinds"])


def application(kind: str = "organisation", report: dict[str, Any] | None = None,
                files: dict[str, dict[str, Any] | None] | None = None) -> Application:
    app = Application(id="a1", kind=kind, cycle="ip-2026", completeness_report=report,
                      completeness=(report or {}).get("status"))
    for n, (requirement, inspection) in enumerate((files or {}).items()):
        doc = Document(id=f"d{n}", requirement=requirement)
        doc.versions = [DocumentVersion(id=f"v{n}", number=1, filename=f"{requirement}.pdf",
                                        inspection=inspection, classification_marks=None)]
        app.documents.append(doc)
    return app


def test_the_payload_schema_falls_back_to_the_chinese_title_when_english_is_missing() -> None:
    p = load_payload("requirements.published", OTHER)
    [_, income, _] = p["kinds"]["organisation"]
    assert income["title"] == {"zh-CN": "许可收入证明", "en": "许可收入证明"}
    assert p["kinds"]["individual"][0]["provided_by"] == "applicant"  # the default


def test_the_checklist_shows_the_cycles_own_catalogue_not_the_quality_award() -> None:
    catalogue = other_catalogue()
    app = application(files={"patent-list": {"ok": True}})
    # Documents judged the file (a file read fine is "being inspected" until it has).
    app.draft_checklist = {"status": "incomplete", "items": [
        {"requirement": "patent-list", "status": "met", "reasons": [], "versions": ["v0"]}]}
    for lang, titles in (("zh-CN", ["专利清单", "许可收入证明"]),
                         ("en", ["List of patents", "许可收入证明"])):
        built = checklist.build(app, lang, catalogue)
        assert built.known
        assert [r.label for r in built.rows] == titles
        assert [(r.requirement, r.required, r.state) for r in built.rows] == [
            ("patent-list", True, "met"), ("licence-income", False, "optional")]
    # The recommender's item is not the applicant's to upload; nothing of the old mirror.
    ids = [rid for rid, _label in checklist.upload_choices(catalogue, app, "en")]
    assert ids == ["patent-list", "licence-income"]
    assert "application-form" not in ids and "bureau-opinion" not in ids
    assert checklist.label_of(catalogue, "individual", "inventor-statement", "en") == \
        "Inventor's statement"


def test_without_a_list_requirements_are_shown_by_id_and_nothing_breaks() -> None:
    report = {"status": "incomplete", "missing": ["patent-list"], "counts": {"missing": 1}}
    app = application(report=report, files={"licence-income": None})
    built = checklist.build(app, "zh-CN", None)
    assert not built.known and built.pending
    assert [(r.requirement, r.label, r.state) for r in built.rows] == [
        ("licence-income", "licence-income", "pending"), ("patent-list", "patent-list", "missing")]
    assert checklist.upload_choices(None, app, "en") == []
    assert checklist.label_of(None, "organisation", "patent-list", "en") == "patent-list"


def test_a_document_under_an_id_the_list_does_not_name_keeps_its_row_and_choice() -> None:
    app = application(files={"old-item": {"ok": True}})
    built = checklist.build(app, "en", other_catalogue())
    assert built.rows[-1].requirement == "old-item" and built.rows[-1].label == "old-item"
    assert ("old-item", "old-item") in checklist.upload_choices(other_catalogue(), app, "en")


def test_the_stored_list_is_replaced_by_newer_announcements_only() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    now = datetime.now(UTC)
    first = load_payload("requirements.published", OTHER)
    newer = {**first, "catalogue": {"version": "ip-award-2027", "title": None},
             "kinds": {"organisation": first["kinds"]["organisation"][:1]}}
    with Session(engine) as session:
        assert checklist.catalogue_of(session, "ip-2026") is None
        assert checklist.record_requirements(session, first, now.isoformat())
        session.commit()
        # The same announcement again (a redelivery, a repeated cycle.saved): the same list.
        assert checklist.record_requirements(session, first, now.isoformat())
        session.commit()
        kept = checklist.catalogue_of(session, "ip-2026")
        assert kept is not None and kept.version == "ip-award-2026"
        assert [r.id for r in kept.requirements("organisation")] == [
            "patent-list", "licence-income"]
        assert checklist.record_requirements(session, newer,
                                             (now + timedelta(seconds=5)).isoformat())
        session.commit()
        # An older announcement delivered late does not bring the old list back.
        assert not checklist.record_requirements(session, first, now.isoformat())
        session.commit()
        kept = checklist.catalogue_of(session, "ip-2026")
        assert kept is not None and kept.version == "ip-award-2027"
        assert [r.id for r in kept.requirements("organisation")] == ["patent-list"]
    engine.dispose()
