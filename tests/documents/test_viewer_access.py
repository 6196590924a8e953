"""The material viewer in-process: who opens which document, what is audited, and where a
trade secret carries the reader's name (real Redis, S3 and sandboxed inspections)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import builders as b
import pytest
from inprocess import InProcess, service_app
from PIL import Image
from pypdf import PdfReader
from samples import text_pdf
from sqlalchemy import select

from dossier.localstack import BackingServers
from services.documents import packets
from shared.watermark import reading_stamp

Inspect = Callable[..., dict[str, Any]]  # the `inspect` fixture: bytes through the sandbox
UNIT, OTHER_UNIT, OWNER = "140902", "140921", "org-viewer-owner"
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Packet:
    """One packet seeded as intake's events would leave it in documents."""

    def __init__(self, documents: InProcess, inspect: Inspect, owner: str = OWNER) -> None:
        self.documents, self.inspect, self.owner = documents, inspect, owner
        self.id = str(uuid.uuid4())
        self.entries: list[dict[str, Any]] = []

    def upload(self, filename: str, data: bytes, content_type: str,
               confidentiality: str = "internal", secret_pages: list[list[int]] | None = None,
               requirement: str = "self-evaluation") -> str:
        ctx = self.documents.ctx
        document_id = str(uuid.uuid4())
        key = f"2026/{self.id}/{document_id}/v1"
        tags = {"confidentiality": confidentiality, "kind": requirement}
        stored = ctx.store.put(key, io.BytesIO(data), length=len(data),
                               content_type=content_type, tags=tags)
        entry = {"application_id": self.id, "document_id": document_id,
                 "version_id": str(uuid.uuid4()), "number": 1, "cycle": "2026",
                 "kind": "organisation", "owner": self.owner, "requirement": requirement,
                 "confidentiality": confidentiality, "secret_pages": secret_pages or [],
                 "filename": filename, "object_key": key,
                 "object_version": stored.version_id, "sha256": "0" * 64,
                 "size": len(data), "content_type": content_type}
        verdict = self.inspect(data, filename)
        with ctx.db.session() as session:
            packets.record_upload(session, entry)
            packets.record_verdict(session, entry, verdict)
        self.entries.append(entry)
        return document_id

    def submit(self, unit: str = UNIT) -> None:
        with self.documents.ctx.db.session() as session:
            packets.record_submission(session, {
                "application_id": self.id, "cycle": "2026", "kind": "organisation",
                "owner": self.owner, "applicant_name": "忻州示范企业有限公司", "unit": unit,
                "route": "county", "submission": 1, "documents": self.entries})

    def url(self, document_id: str, tail: str = "") -> str:
        return f"/packets/{self.id}/documents/{document_id}{tail}"


@pytest.fixture(scope="module")
def documents(backing: BackingServers, tmp_path_factory: pytest.TempPathFactory) -> InProcess:
    return service_app(backing, tmp_path_factory.mktemp("viewer"), "documents")


@pytest.fixture
def packet(documents: InProcess, inspect: Inspect) -> Packet:
    return Packet(documents, inspect)


def _audit(documents: InProcess, target: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    table = documents.ctx.audit.table
    with documents.ctx.db.reader() as session:
        rows = session.execute(select(table.c.actor, table.c.role, table.c.action,
                                      table.c.detail).where(table.c.target == target)
                               .order_by(table.c.seq))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _red(png: bytes) -> int:
    data = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    return sum(1 for r, g, bl in zip(data[0::3], data[1::3], data[2::3], strict=True)
               if r > 150 and r - g > 40 and r - bl > 40)


def test_each_reader_of_a_submitted_packet_opens_its_files_and_others_get_404(
        documents: InProcess, packet: Packet) -> None:
    doc = packet.upload("自评报告.pdf", text_pdf(["page one", "page two"]), PDF_TYPE)
    packet.submit()
    client = documents.client
    owner = documents.auth("applicant", OWNER)
    ours = documents.auth("recommender", "rec-ours", unit=UNIT)
    theirs = documents.auth("recommender", "rec-theirs", unit=OTHER_UNIT)
    operator = documents.auth("operator", "op-1")
    stranger = documents.auth("applicant", "org-someone-else")

    for headers in (owner, ours, operator):
        page = client.get(packet.url(doc), headers=headers)
        assert page.status_code == 200, page.get_data(as_text=True)[:500]
        text = page.get_data(as_text=True)
        assert "自评报告.pdf" in text and "第 1 页，共 2 页" in text
        png = client.get(packet.url(doc, "/pages/2.png"), headers=headers)
        assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    for headers in (theirs, stranger):
        assert client.get(packet.url(doc), headers=headers).status_code == 404
        assert client.get(packet.url(doc, "/pages/1.png"), headers=headers).status_code == 404
    # Experts read through review's dossiers (assignment, conflicts, pledge), never here.
    expert = documents.auth("expert", "expert-1")
    assert client.get(packet.url(doc), headers=expert).status_code == 403

    records = _audit(documents, f"document:{doc}")
    readers = {(actor, action) for actor, _role, action, _detail in records}
    assert ("rec-ours", "document.viewed") in readers
    assert ("rec-ours", "document.page_viewed") in readers
    assert ("op-1", "document.viewed") in readers and ("op-1", "document.page_viewed") in readers
    assert ("rec-theirs", "access.denied") in readers
    assert ("org-someone-else", "access.denied") in readers
    assert not [r for r in records if r[0] == OWNER]  # the owner reading its own: no record
    viewed = next(d for a, _r, act, d in records if a == "op-1" and act == "document.page_viewed")
    assert viewed["application"] == packet.id and viewed["page"] == 2


def test_a_recommender_sees_nothing_of_a_draft(documents: InProcess, packet: Packet) -> None:
    doc = packet.upload("申报表.pdf", text_pdf(["draft"]), PDF_TYPE)
    ours = documents.auth("recommender", "rec-ours", unit=UNIT)
    assert documents.client.get(packet.url(doc), headers=ours).status_code == 404
    owner = documents.auth("applicant", OWNER)
    assert documents.client.get(packet.url(doc), headers=owner).status_code == 200


def test_trade_secret_pages_carry_the_readers_name_for_everyone_but_the_owner(
        documents: InProcess, packet: Packet) -> None:
    secret = packet.upload("技术秘密.pdf", text_pdf(["secret one", "secret two"]), PDF_TYPE,
                           confidentiality="trade-secret", secret_pages=[[2, 2]])
    plain = packet.upload("承诺书.pdf", text_pdf(["plain"]), PDF_TYPE,
                          requirement="commitment")
    packet.submit()
    client = documents.client
    owner = documents.auth("applicant", OWNER)
    operator = documents.auth("operator", "op-2")
    ours = documents.auth("recommender", "rec-ours", unit=UNIT)

    assert _red(client.get(packet.url(secret, "/pages/1.png"), headers=owner).data) == 0
    for reader in (operator, ours):
        assert _red(client.get(packet.url(secret, "/pages/1.png"), headers=reader).data) > 500
        assert _red(client.get(packet.url(plain, "/pages/1.png"), headers=reader).data) == 0
    page = client.get(packet.url(secret), headers=operator).get_data(as_text=True)
    assert "商业秘密" in page and "data-watermarked" in page
    download = client.get(packet.url(secret, "/file"), headers=operator)
    assert download.status_code == 200
    stamped_text = PdfReader(io.BytesIO(download.data)).pages[0].extract_text()
    assert "op-2" in stamped_text and "北京时间" in stamped_text
    original = client.get(packet.url(secret, "/file"), headers=owner).data
    assert "op-2" not in PdfReader(io.BytesIO(original)).pages[0].extract_text()
    stamped = [d for a, _r, act, d in _audit(documents, f"document:{secret}")
               if a == "op-2" and act == "document.page_viewed"]
    assert stamped and all(d["watermarked"] for d in stamped)


def test_a_draft_marked_secret_after_its_upload_is_watermarked_from_its_tags(
        documents: InProcess, packet: Packet) -> None:
    """Intake re-tags the object when the applicant marks a draft's file a trade secret, and
    announces nothing until submission: the viewer reads the tags."""
    doc = packet.upload("工艺说明.pdf", text_pdf(["process"]), PDF_TYPE)
    entry = packet.entries[-1]
    documents.ctx.store.set_tags(entry["object_key"], {"confidentiality": "trade-secret",
                                                       "kind": "self-evaluation"},
                                 version_id=entry["object_version"])
    operator = documents.auth("operator", "op-3")
    png = documents.client.get(packet.url(doc, "/pages/1.png"), headers=operator)
    assert png.status_code == 200 and _red(png.data) > 500


def test_a_docx_is_previewed_as_text_and_downloaded_as_an_attachment(
        documents: InProcess, packet: Packet) -> None:
    data = b.docx_file([("质量管理自评报告", "Heading 1"), ("一、领导作用与质量文化", None)])
    doc = packet.upload("自评报告.docx", data, DOCX_TYPE)
    packet.submit()
    operator = documents.auth("operator", "op-4")
    page = documents.client.get(packet.url(doc), headers=operator)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "文本预览" in text and "一、领导作用与质量文化" in text
    assert "下载此文件" in text
    download = documents.client.get(packet.url(doc, "/file"), headers=operator)
    assert download.status_code == 200 and download.data == data
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert documents.client.get(packet.url(doc, "/pages/1.png"),
                                headers=operator).status_code == 404
    actions = [act for a, _r, act, _d in _audit(documents, f"document:{doc}") if a == "op-4"]
    assert actions == ["document.viewed", "document.downloaded"]
    # The text is read here, audited; never as a fact of the inspection through the API.
    version_id = packet.entries[-1]["version_id"]
    facts = documents.client.get(f"/api/inspections/{version_id}", headers=operator)
    assert facts.status_code == 200 and facts.get_json()["details"]["format"] == "docx"
    assert "preview" not in facts.get_json()["details"]


def test_a_file_still_being_inspected_is_named_not_opened(
        documents: InProcess, packet: Packet, tmp_path: Path) -> None:
    document_id = str(uuid.uuid4())
    with documents.ctx.db.session() as session:
        packets.record_upload(session, {
            "application_id": packet.id, "document_id": document_id,
            "version_id": str(uuid.uuid4()), "number": 1, "cycle": "2026",
            "kind": "organisation", "owner": OWNER, "requirement": "self-evaluation",
            "filename": "刚上传.pdf", "confidentiality": "internal"})
    owner = documents.auth("applicant", OWNER)
    page = documents.client.get(packet.url(document_id), headers=owner)
    assert page.status_code == 200 and "仍在检查中" in page.get_data(as_text=True)
    assert documents.client.get(packet.url(document_id, "/file"),
                                headers=owner).status_code == 404


def test_the_stamp_names_the_reader_and_the_beijing_time() -> None:
    at = datetime(2026, 12, 6, 15, 46, tzinfo=UTC)
    assert reading_stamp("王核查", "rec-7", at) == \
        "仅供审阅 CONFIDENTIAL 王核查 rec-7 2026-12-06 23:46 北京时间"
