"""Many files in one request (issue 23, point 5, intake's side): `POST …/documents/batch`
records every file or none. In process (the intake app, its SQLite database, the session's
real Redis and S3 store): a refused file leaves no record, no event and no object; the limits
answer before anything is kept; the one domain function that records versions undoes every
object when the record fails."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from inprocess import InProcess, service_app
from sqlalchemy import func, select, text

from dossier.localstack import BackingServers
from intake.flows import new_uscc
from services.intake import checklist, material
from services.intake.models import Application, Document, DocumentVersion
from services.intake.uploads import multipart_files
from shared import clock
from shared.auth import Principal

PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 40 + b"%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
OWNER = "ap-batch"
FilePart = tuple[str, tuple[str | None, Any, str] | tuple[None, str]]


def open_cycle_and_application(intake: InProcess, cycle: str = "2042") -> str:
    operator = intake.auth("operator", "operator-city")
    today = clock.today()
    r = intake.client.put(f"/api/cycles/{cycle}", headers=operator, json={
        "year": 2042, "title": "第十六届忻州市市长质量奖", "programme": "mayor-quality",
        "status": "open", "opens_on": (today - timedelta(days=10)).isoformat(),
        "closes_on": (today + timedelta(days=60)).isoformat()})
    assert r.status_code == 200, r.get_data(as_text=True)
    r = intake.client.post("/api/applications", headers=intake.auth("applicant", OWNER), json={
        "cycle": cycle, "kind": "organisation", "name": "忻州市示例机械有限公司",
        "credit_code": new_uscc(), "county": "140902", "industry": "装备制造",
        "founded_on": "2015-06-01", "legal_representative": "张三",
        "attest_no_violation": True, "attest_no_accident": True})
    assert r.status_code == 201, r.get_data(as_text=True)
    return str(r.get_json()["id"])


@pytest.fixture
def intake(backing: BackingServers, tmp_path: Path) -> InProcess:
    return service_app(backing, tmp_path, "intake")


@pytest.fixture
def app_id(intake: InProcess) -> str:
    return open_cycle_and_application(intake)


def part(requirement: str, filename: str, data: bytes, **fields: str) -> list[FilePart]:
    """One file with its own fields before it, in the order a client sends them."""
    out: list[FilePart] = [("requirement", (None, requirement))]
    out += [(name, (None, value)) for name, value in fields.items()]
    return [*out, ("file", (filename, io.BytesIO(data), "application/octet-stream"))]


BOUNDARY = "----dossier-batch"


def encode(parts: list[FilePart]) -> bytes:
    """A multipart body with the parts in exactly the order given."""
    out = b""
    for name, value in parts:
        if value[0] is None:
            out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                    f"{value[1]}\r\n").encode()
        else:
            filename, stream, content_type = value  # type: ignore[misc]
            out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                    f"filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    ).encode() + stream.read() + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def send(intake: InProcess, app_id: str, parts: list[FilePart], owner: str = OWNER,
         headers: dict[str, str] | None = None, query: str = "") -> Any:
    return intake.client.post(f"/api/applications/{app_id}/documents/batch{query}",
                              headers={**intake.auth("applicant", owner), **(headers or {})},
                              data=encode(parts),
                              content_type=f"multipart/form-data; boundary={BOUNDARY}")


def rows(intake: InProcess, app_id: str) -> tuple[int, int, int]:
    """(documents, versions, `document.uploaded` events) of the application."""
    with intake.ctx.db.reader() as session:
        documents = session.scalar(select(func.count()).select_from(Document).where(
            Document.application_id == app_id))
        versions = session.scalar(select(func.count()).select_from(DocumentVersion).where(
            DocumentVersion.application_id == app_id))
        events = [json.loads(p) if isinstance(p, str) else p for p in session.execute(text(
            "SELECT payload FROM outbox WHERE type = 'document.uploaded'")).scalars()]
    mine = [e for e in events if e["payload"]["application_id"] == app_id]
    return int(documents or 0), int(versions or 0), len(mine)


def objects(intake: InProcess, app_id: str) -> list[Any]:
    """Every object version (and delete marker) the store holds under the application."""
    with intake.ctx.db.reader() as session:
        app = session.get(Application, app_id)
        assert app is not None
        prefix = f"{app.cycle}/{app.id}/"
    return intake.ctx.store.list(prefix, every_version=True)


def test_a_batch_records_every_file_with_its_own_fields(intake: InProcess, app_id: str) -> None:
    parts = (part("self-evaluation", "自评报告.pdf", PDF, confidentiality="trade-secret",
                  secret_pages="1-2")
             + part("business-licence", "营业执照.png", PNG)
             + part("evidence", "证明材料.pdf", PDF + b"\n% second\n"))
    r = send(intake, app_id, parts)
    assert r.status_code == 201, r.get_data(as_text=True)
    versions = r.get_json()["versions"]
    assert [v["filename"] for v in versions] == ["自评报告.pdf", "营业执照.png", "证明材料.pdf"]
    assert [v["confidentiality"] for v in versions] == ["trade-secret", "internal", "internal"]
    assert versions[0]["secret_pages"] == [[1, 2]] and versions[1]["secret_pages"] == []
    assert versions[1]["content_type"] == "image/png"
    assert all(v["number"] == 1 for v in versions)
    assert rows(intake, app_id) == (3, 3, 3)
    stored = objects(intake, app_id)
    assert len(stored) == 3
    tags = intake.ctx.store.get_tags(f"2042/{app_id}/{versions[0]['document_id']}/v1")
    assert tags["confidentiality"] == "trade-secret" and tags["secret-pages"] == "1-2"

    # A second batch: a new version of one document beside a new document.
    again = (part("self-evaluation", "自评报告（修改）.pdf", PDF,
                  document_id=versions[0]["document_id"])
             + part("financials", "财务报表.pdf", PDF))
    r = send(intake, app_id, again)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert [v["number"] for v in r.get_json()["versions"]] == [2, 1]
    assert rows(intake, app_id) == (4, 5, 5)


def test_one_bad_file_keeps_nothing_and_every_bad_file_is_named(intake: InProcess,
                                                                 app_id: str) -> None:
    parts = (part("self-evaluation", "自评报告.pdf", PDF)
             + part("evidence", "说明.pdf", b"just some text, not a PDF at all\n" * 50)
             + part("evidence", "证明材料.pdf", PDF)
             + part("financials", "财务报表.pdf", PDF, confidentiality="internal",
                    secret_pages="3"))
    r = send(intake, app_id, parts)
    assert r.status_code == 422, r.get_data(as_text=True)
    body = r.get_json()
    assert body["code"] == "upload.batch_refused"
    assert "均未保存" in body["messages"]["zh-CN"] and "2" in body["messages"]["zh-CN"]
    assert [(e["index"], e["filename"], e["code"]) for e in body["errors"]] == [
        (1, "说明.pdf", "upload.type_not_allowed"),
        (3, "财务报表.pdf", "document.secret_pages_need_trade_secret")]
    first = body["errors"][0]["messages"]
    assert "不支持的文件类型" in first["zh-CN"] and "not allowed" in first["en"]
    # The first file was already in the store when the second failed: it is gone again.
    assert rows(intake, app_id) == (0, 0, 0)
    assert objects(intake, app_id) == []


def test_a_requirement_outside_the_cycles_list_is_refused_once_the_list_arrived(
        intake: InProcess, app_id: str) -> None:
    with intake.ctx.db.session() as session:
        checklist.record_requirements(session, {
            "cycle": "2042", "catalogue": {"version": "quality-award-2025"},
            "kinds": {"organisation": [
                {"id": "self-evaluation", "title": {"zh-CN": "自评报告", "en": "Self-evaluation"}},
                {"id": "evidence", "title": {"zh-CN": "证明材料", "en": "Evidence"}}]}},
            datetime.now(UTC))  # the announcement's own stamp, as documents sends it (UTC)
    parts = part("self-evaluation", "自评报告.pdf", PDF) + part("personal-statement", "陈述.pdf",
                                                               PDF)
    r = send(intake, app_id, parts)
    assert r.status_code == 422
    [error] = r.get_json()["errors"]
    assert (error["index"], error["code"]) == (1, "upload.requirement_unknown")
    assert "材料目录" in error["messages"]["zh-CN"]
    assert rows(intake, app_id) == (0, 0, 0) and objects(intake, app_id) == []
    r = send(intake, app_id, part("self-evaluation", "自评报告.pdf", PDF)
             + part("evidence", "证明.pdf", PDF))
    assert r.status_code == 201, r.get_data(as_text=True)


def test_the_query_gives_fields_for_every_file_and_a_part_overrides_them(
        intake: InProcess, app_id: str) -> None:
    parts = [("file", ("一.pdf", io.BytesIO(PDF), "application/pdf")),
             ("confidentiality", (None, "public")),
             ("file", ("二.pdf", io.BytesIO(PDF), "application/pdf"))]
    r = send(intake, app_id, parts,  # type: ignore[arg-type]
             query="?requirement=evidence&confidentiality=internal")
    assert r.status_code == 201, r.get_data(as_text=True)
    assert [v["confidentiality"] for v in r.get_json()["versions"]] == ["internal", "public"]


def test_too_many_files_or_too_many_bytes_keep_nothing(backing: BackingServers,
                                                       tmp_path: Path) -> None:
    intake = service_app(backing, tmp_path, "intake", env={
        "DOSSIER_INTAKE_BATCH_MAX_FILES": "2", "DOSSIER_INTAKE_BATCH_MAX_BYTES": "64K"})
    app_id = open_cycle_and_application(intake)
    three = [p for i in range(3) for p in part("evidence", f"证明{i}.pdf", PDF)]
    r = send(intake, app_id, three)
    assert r.status_code == 413 and r.get_json()["code"] == "upload.batch_too_many_files"
    assert "2 个文件" in r.get_json()["messages"]["zh-CN"]
    assert rows(intake, app_id) == (0, 0, 0) and objects(intake, app_id) == []

    # Two files of 40 KiB each: the second passes the total; the first is undone.
    big = PDF + os.urandom(40 * 1024)
    r = send(intake, app_id, part("evidence", "一.pdf", big) + part("evidence", "二.pdf", big))
    assert r.status_code == 413 and r.get_json()["code"] == "upload.batch_too_large"
    assert rows(intake, app_id) == (0, 0, 0) and objects(intake, app_id) == []

    # A body larger than any batch may be (files and the parts' headers) is refused before
    # it is read.
    r = send(intake, app_id, part("evidence", "大.pdf", PDF + os.urandom(400 * 1024)))
    assert r.status_code == 413 and r.get_json()["code"] == "upload.batch_too_large"
    assert rows(intake, app_id) == (0, 0, 0) and objects(intake, app_id) == []


def test_a_packet_past_its_editing_stage_takes_no_batch(intake: InProcess, app_id: str) -> None:
    with intake.ctx.db.session() as session:
        app = session.get(Application, app_id)
        assert app is not None
        app.status = "submitted"
    r = send(intake, app_id, part("evidence", "证明.pdf", PDF))
    assert r.status_code == 409 and r.get_json()["code"] == "application.not_draft"
    assert objects(intake, app_id) == []


def test_another_applicant_cannot_post_a_batch_to_the_application(intake: InProcess,
                                                                  app_id: str) -> None:
    r = send(intake, app_id, part("evidence", "证明.pdf", PDF), owner="ap-someone-else")
    assert r.status_code == 404
    assert rows(intake, app_id) == (0, 0, 0) and objects(intake, app_id) == []


def test_a_retried_batch_with_its_idempotency_key_answers_with_the_first_versions(
        intake: InProcess, app_id: str) -> None:
    parts = part("evidence", "一.pdf", PDF) + part("evidence", "二.pdf", PDF)
    key = {"Idempotency-Key": "批量-1"}
    first = send(intake, app_id, parts, headers=key)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = send(intake, app_id, part("evidence", "一.pdf", PDF) + part("evidence", "二.pdf",
                                                                       PDF), headers=key)
    assert again.status_code == 200
    assert [v["id"] for v in again.get_json()["versions"]] == \
        [v["id"] for v in first.get_json()["versions"]]
    assert rows(intake, app_id) == (2, 2, 2)


def test_an_empty_batch_is_refused(intake: InProcess, app_id: str) -> None:
    r = send(intake, app_id, [("requirement", (None, "evidence"))])
    assert r.status_code == 422 and r.get_json()["code"] == "upload.batch_empty"


def test_saving_versions_undoes_every_stored_object_when_the_record_fails(
        intake: InProcess, app_id: str) -> None:
    """The one function every upload ends with: a failed record leaves no object behind."""
    ctx = intake.ctx
    who = Principal(subject=OWNER, role="applicant")
    items = []
    for i in range(2):
        key = f"2042/{app_id}/00000000-0000-0000-0000-00000000000{i}/v1"
        put = ctx.store.put(key, io.BytesIO(PDF), content_type="application/pdf")
        stored = material.Stored(key, put.version_id, "0" * 64, len(PDF), "application/pdf")
        # Both claim the same new document: the second insert breaks the primary key.
        slot = material.Slot("00000000-0000-0000-0000-000000000000", 1, True)
        items.append(material.NewVersion(slot, "evidence", "internal", [], f"{i}.pdf", stored,
                                          None))
    assert len(objects(intake, app_id)) == 2
    with pytest.raises(material.DossierError) as refused:
        material.save_versions(ctx.db, ctx.store, ctx.outbox, ctx.audit, who, app_id, items)
    assert refused.value.code == "upload.concurrent"
    assert rows(intake, app_id) == (0, 0, 0)
    assert objects(intake, app_id) == []


def test_the_form_reader_gives_each_file_its_own_fields_and_skips_what_was_left_unread(
        ) -> None:
    boundary = "----batch"

    def field(name: str, value: str) -> bytes:
        return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()

    def file(name: str, data: bytes) -> bytes:
        return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").encode() \
            + data + b"\r\n"

    big = b"%PDF-" + os.urandom(3 * 1024 * 1024)
    body = (field("requirement", "甲") + file("a.pdf", big) + field("requirement", "乙")
            + field("confidentiality", "public") + file("b.pdf", b"%PDF-small")
            + f"--{boundary}--\r\n".encode())
    seen = []
    for incoming in multipart_files(io.BytesIO(body), boundary, 1 << 30, 10, len(body)):
        seen.append((incoming.filename, dict(incoming.fields), incoming.reader.peek(5)))
        # Nothing more is read of the first (large) file: the next must still come whole.
        if incoming.filename == "b.pdf":
            assert incoming.reader.read(-1) == b"%PDF-small"
    assert seen == [("a.pdf", {"requirement": "甲"}, b"%PDF-"),
                    ("b.pdf", {"requirement": "乙", "confidentiality": "public"}, b"%PDF-")]
