"""Resumable uploads: the API steps (start, parts, status, complete, abort) and, in Chromium,
the packet page's drag-and-drop of several files with a progress bar each, and an upload cut at
about half that resumes without sending a finished part again."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from intake.flows import Intake
from waiting import poll

from dossier.localstack import AppStack
from services.intake.resumable import (
    MAX_PART_SIZE,
    PART_SIZE,
    PendingUploads,
    sweep,
    sweep_orphans,
)
from shared.storage import S3ObjectStore, UploadNotFound

pytestmark = pytest.mark.stack
MiB = 1024 * 1024


@pytest.fixture
def intake(stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(stack, http)


@pytest.fixture(scope="module")
def upload_cycle(stack: AppStack) -> str:
    with requests.Session() as http:
        intake = Intake(stack, http)
        cycle = intake.open_cycle()["id"]
        intake.requirements(cycle)  # the upload form offers what documents announced
        return cycle


def pdf_bytes(size: int, seed: bytes = b"") -> bytes:
    """A valid PDF of about `size` bytes: one page and a stream of filler."""
    head = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" \
           b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" \
           b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    filler = max(0, size - len(head) - 64)
    body = (seed + os.urandom(filler))[:filler]
    return head + b"4 0 obj<</Length %d>>stream\n" % filler + body + \
        b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def write_pdf(path: Path, size: int) -> str:
    """A large valid PDF written to disk in pieces (never whole in memory); its sha256."""
    head = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" \
           b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" \
           b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    tail = b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    filler = size - len(head) - len(tail) - 40
    start = head + b"4 0 obj<</Length %d>>stream\n" % filler
    sha = hashlib.sha256()
    with path.open("wb") as fh:
        for piece in (start,):
            fh.write(piece)
            sha.update(piece)
        left = filler
        block = os.urandom(MiB)
        while left > 0:
            piece = block[:min(MiB, left)]
            fh.write(piece)
            sha.update(piece)
            left -= len(piece)
        fh.write(tail)
        sha.update(tail)
    return sha.hexdigest()


def new_application(intake: Intake, cycle: str, subject: str | None = None
                    ) -> tuple[dict[str, str], str]:
    who = intake.as_("applicant", subject or f"app-{uuid.uuid4().hex[:8]}")
    r = intake.create(who, cycle)
    assert r.status_code == 201, r.text
    return who, r.json()["id"]


def start(intake: Intake, who: dict[str, str], app_id: str, filename: str, size: int,
          **fields: Any) -> requests.Response:
    body = {"filename": filename, "size": size, "declared_type": "application/pdf",
            "requirement": "evidence", "confidentiality": "internal", **fields}
    return intake.call("POST", f"/applications/{app_id}/uploads", who, json=body)


def put_part(intake: Intake, who: dict[str, str], app_id: str, upload_id: str, number: int,
             data: bytes) -> requests.Response:
    return intake.call("PUT", f"/applications/{app_id}/uploads/{upload_id}/parts/{number}",
                       {**who, "Content-Type": "application/octet-stream"}, data=data)


# -- the API ------------------------------------------------------------------------------------

def test_parts_in_any_order_then_complete_records_a_version_like_any_upload(
        intake: Intake, upload_cycle: str, stack: AppStack) -> None:
    who, app_id = new_application(intake, upload_cycle)
    data = pdf_bytes(2 * PART_SIZE + 1000)
    r = start(intake, who, app_id, "证明材料.pdf", len(data), confidentiality="trade-secret",
              secret_pages="1-1")
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["part_size"] == PART_SIZE and up["parts"] == 3 and up["number"] == 1
    ps = up["part_size"]
    chunks = [data[i:i + ps] for i in range(0, len(data), ps)]
    assert put_part(intake, who, app_id, up["id"], 3, chunks[2]).status_code == 200
    assert put_part(intake, who, app_id, up["id"], 1, chunks[0]).status_code == 200
    status = intake.call("GET", f"/applications/{app_id}/uploads/{up['id']}", who).json()
    assert [p["number"] for p in status["received"]] == [1, 3]
    assert status["missing"] == [2]
    # Completing too early names what is missing.
    early = intake.call("POST", f"/applications/{app_id}/uploads/{up['id']}/complete", who)
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "upload.parts_missing"
    assert early.json()["errors"]["parts"] == [2]
    assert put_part(intake, who, app_id, up["id"], 2, chunks[1]).status_code == 200

    done = intake.call("POST", f"/applications/{app_id}/uploads/{up['id']}/complete", who)
    assert done.status_code == 201, done.text
    version = done.json()
    assert version["sha256"] == hashlib.sha256(data).hexdigest()
    assert version["size"] == len(data)
    assert version["content_type"] == "application/pdf"
    assert version["filename"] == "证明材料.pdf"
    assert version["confidentiality"] == "trade-secret" and version["secret_pages"] == [[1, 1]]
    # A retried complete answers with the same version, and stores nothing twice.
    again = intake.call("POST", f"/applications/{app_id}/uploads/{up['id']}/complete", who)
    assert again.status_code == 200 and again.json()["id"] == version["id"]
    detail = intake.detail(who, app_id)
    assert [len(d["versions"]) for d in detail["documents"]] == [1]
    # The same event as the streamed upload path, and the stored object is the file.
    events = [e for e in (row.payload["payload"]
                          for row in stack.outbox("intake", "document.uploaded"))
              if e["version_id"] == version["id"]]
    assert len(events) == 1 and events[0]["sha256"] == version["sha256"]
    s = stack.env()
    store = S3ObjectStore(s["DOSSIER_S3_ENDPOINT"], s["DOSSIER_S3_ACCESS_KEY"],
                          s["DOSSIER_S3_SECRET_KEY"], s["DOSSIER_S3_BUCKET"])
    digest = hashlib.sha256()
    for chunk in store.open(events[0]["object_key"], events[0]["object_version"]):
        digest.update(chunk)
    assert digest.hexdigest() == version["sha256"]
    assert store.get_tags(events[0]["object_key"],
                          events[0]["object_version"])["sha256"] == version["sha256"]


def test_a_new_version_of_a_document_goes_through_the_same_steps(
        intake: Intake, upload_cycle: str) -> None:
    who, app_id = new_application(intake, upload_cycle)
    first = intake.upload(who, app_id, "a.pdf", pdf_bytes(3000), requirement="evidence")
    assert first.status_code == 201, first.text
    data = pdf_bytes(5000)
    up = start(intake, who, app_id, "a2.pdf", len(data),
               document_id=first.json()["document_id"]).json()
    assert up["number"] == 2 and up["parts"] == 1
    assert put_part(intake, who, app_id, up["id"], 1, data).status_code == 200
    done = intake.call("POST", f"/applications/{app_id}/uploads/{up['id']}/complete", who)
    assert done.status_code == 201, done.text
    assert done.json()["number"] == 2 and done.json()["document_id"] == first.json()[
        "document_id"]


def test_bad_part_numbers_wrong_lengths_and_parts_too_big_are_refused(
        intake: Intake, upload_cycle: str) -> None:
    who, app_id = new_application(intake, upload_cycle)
    data = pdf_bytes(PART_SIZE + 10)
    up = start(intake, who, app_id, "x.pdf", len(data)).json()
    for number in (0, 3, 10001):
        r = put_part(intake, who, app_id, up["id"], number, b"%PDF-" + b"x" * 10)
        assert r.status_code == 422, (number, r.text)
        assert r.json()["code"] == "upload.part_invalid"
    short = put_part(intake, who, app_id, up["id"], 1, data[:1000])
    assert short.status_code == 422 and short.json()["code"] == "upload.part_invalid"
    huge = put_part(intake, who, app_id, up["id"], 1, b"0" * (MAX_PART_SIZE + 1))
    assert huge.status_code == 413, huge.text
    assert huge.json()["code"] == "upload.part_too_large"
    # Nothing of that reached the store.
    status = intake.call("GET", f"/applications/{app_id}/uploads/{up['id']}", who).json()
    assert status["received"] == [] and status["missing"] == [1, 2]


def test_a_wrong_file_is_refused_before_it_is_sent_or_at_its_first_part(
        intake: Intake, upload_cycle: str) -> None:
    who, app_id = new_application(intake, upload_cycle)
    exe = start(intake, who, app_id, "setup.exe", 1000)
    assert exe.status_code == 415 and exe.json()["code"] == "upload.type_not_allowed"
    empty = start(intake, who, app_id, "a.pdf", 0)
    assert empty.status_code == 422 and empty.json()["code"] == "upload.empty"
    big = start(intake, who, app_id, "a.pdf", 10 ** 15)
    assert big.status_code == 413
    missing_req = start(intake, who, app_id, "a.pdf", 10, requirement="")
    assert missing_req.status_code == 422
    # Named .pdf but a PNG inside: refused at part 1 and the upload is dropped.
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    up = start(intake, who, app_id, "fake.pdf", len(png)).json()
    r = put_part(intake, who, app_id, up["id"], 1, png)
    assert r.status_code == 415 and r.json()["code"] == "upload.type_mismatch"
    gone = intake.call("GET", f"/applications/{app_id}/uploads/{up['id']}", who)
    assert gone.status_code == 404


def test_someone_elses_upload_or_application_answers_404(
        intake: Intake, upload_cycle: str) -> None:
    who, app_id = new_application(intake, upload_cycle)
    other, other_app = new_application(intake, upload_cycle)
    data = pdf_bytes(2000)
    up = start(intake, who, app_id, "mine.pdf", len(data)).json()
    # Another applicant: neither through my application nor through their own.
    assert intake.call("GET", f"/applications/{app_id}/uploads/{up['id']}",
                       other).status_code == 404
    for path in (f"/applications/{other_app}/uploads/{up['id']}",
                 f"/applications/{other_app}/uploads/{up['id']}/complete"):
        method = "GET" if path.endswith(up["id"]) else "POST"
        r = intake.call(method, path, other)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "upload.unknown"
    assert put_part(intake, other, other_app, up["id"], 1, data).status_code == 404
    assert intake.call("DELETE", f"/applications/{other_app}/uploads/{up['id']}",
                       other).status_code == 404
    assert start(intake, other, app_id, "x.pdf", 10).status_code == 404
    # Staff have no business sending parts.
    assert start(intake, intake.operator, app_id, "x.pdf", 10).status_code == 403
    # The owner still can.
    assert put_part(intake, who, app_id, up["id"], 1, data).status_code == 200


def test_abort_drops_the_parts_and_the_expired_are_swept(
        intake: Intake, upload_cycle: str, stack: AppStack) -> None:
    who, app_id = new_application(intake, upload_cycle)
    data = pdf_bytes(PART_SIZE + 100)
    up = start(intake, who, app_id, "drop.pdf", len(data)).json()
    assert put_part(intake, who, app_id, up["id"], 1, data[:PART_SIZE]).status_code == 200
    r = intake.call("DELETE", f"/applications/{app_id}/uploads/{up['id']}", who)
    assert r.status_code == 204, r.text
    assert intake.call("GET", f"/applications/{app_id}/uploads/{up['id']}",
                       who).status_code == 404
    assert put_part(intake, who, app_id, up["id"], 2, data[PART_SIZE:]).status_code == 404
    assert intake.detail(who, app_id)["documents"] == []

    # An upload left alone past its expiry is aborted in the store by the sweep.
    import redis
    s = stack.env()
    store = S3ObjectStore(s["DOSSIER_S3_ENDPOINT"], s["DOSSIER_S3_ACCESS_KEY"],
                          s["DOSSIER_S3_SECRET_KEY"], s["DOSSIER_S3_BUCKET"])
    pendings = PendingUploads(redis.Redis.from_url(s["DOSSIER_REDIS_URL"]))
    left = start(intake, who, app_id, "left.pdf", len(data)).json()
    assert put_part(intake, who, app_id, left["id"], 1, data[:PART_SIZE]).status_code == 200
    pending = pendings.get(left["id"])
    assert pending is not None
    assert sweep(store, pendings, now=time.time() + 25 * 3600) >= 1
    assert pendings.get(left["id"]) is None
    with pytest.raises(UploadNotFound):
        store.list_parts(pending.key, pending.s3_upload_id)

    # One whose record is lost (say Redis was restored from an old file) is found in the store.
    lost = start(intake, who, app_id, "lost.pdf", len(data)).json()
    record = pendings.get(lost["id"])
    assert record is not None
    pendings.drop(lost["id"])
    assert sweep_orphans(store, pendings, now=time.time() + 1000) == 0  # still young
    assert sweep_orphans(store, pendings, now=time.time() + 26 * 3600) >= 1
    assert record.s3_upload_id not in {p.upload_id for p in store.pending_multiparts()}


def test_a_submitted_packet_takes_no_more_parts(intake: Intake, upload_cycle: str) -> None:
    who, app_id = new_application(intake, upload_cycle)
    doc = intake.upload(who, app_id, "p.pdf", pdf_bytes(3000)).json()
    data = pdf_bytes(2000)
    up = start(intake, who, app_id, "late.pdf", len(data)).json()
    assert intake.publicity(who, app_id, doc["document_id"]).status_code == 200
    assert intake.submit(who, app_id).status_code == 200
    r = put_part(intake, who, app_id, up["id"], 1, data)
    assert r.status_code == 409 and r.json()["code"] == "application.not_draft"
    r = intake.call("POST", f"/applications/{app_id}/uploads/{up['id']}/complete", who)
    assert r.status_code == 409


# -- in Chromium --------------------------------------------------------------------------------

def _stored_sha(intake: Intake, who: dict[str, str], app_id: str, filename: str) -> str | None:
    for document in intake.detail(who, app_id)["documents"]:
        for version in document["versions"]:
            if version["filename"] == filename:
                return str(version["sha256"])
    return None


def test_three_files_dropped_at_once_one_of_200_mb_each_with_its_progress_bar(
        intake: Intake, upload_cycle: str, open_page: Callable[..., Any],
        tmp_path: Path) -> None:
    subject = f"drop-{uuid.uuid4().hex[:8]}"
    who, app_id = new_application(intake, upload_cycle, subject)
    big = tmp_path / "年度自评报告.pdf"
    files = {big.name: write_pdf(big, 200 * MiB)}
    for name, size in (("证书.pdf", 300_000), ("财务报表.pdf", 9 * MiB)):
        path = tmp_path / name
        files[name] = write_pdf(path, size)
    page = open_page("applicant", subject, "申报单位")
    page.goto(f"/intake/packets/{app_id}")
    page.select_option("#u-requirement", "evidence")
    page.set_input_files("#u-files", [str(tmp_path / n) for n in files])
    rows = page.locator("[data-upload-row]")
    assert rows.count() == 3
    # Each file has its own progress bar, and the large one is seen part-way.
    assert page.locator("[data-upload-row] progress").count() == 3
    poll(lambda: any(0 < float(v or 0) < 100 for v in page.eval_on_selector_all(
        "[data-upload-row] progress", "els => els.map(e => e.value / e.max * 100)")), 60,
        every=0.05)
    poll(lambda: page.locator("[data-upload-row][data-state=done]").count() == 3, 240)
    artifacts = Path(__file__).resolve().parents[2] / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "applicant-packet-uploaded-zh-CN.png"), full_page=True)
    for name, sha in files.items():
        assert _stored_sha(intake, who, app_id, name) == sha, name
    # The page now lists them, and offers them as the publicity proof, without a reload.
    poll(lambda: page.locator("#documents [data-filename]").count() == 3, 30)
    proof_options = page.locator("#f-document_id option").all_inner_texts()
    assert set(files) <= set(proof_options), proof_options


def test_an_upload_cut_at_half_resumes_without_resending_finished_parts(
        intake: Intake, upload_cycle: str, open_page: Callable[..., Any],
        tmp_path: Path) -> None:
    subject = f"cut-{uuid.uuid4().hex[:8]}"
    who, app_id = new_application(intake, upload_cycle, subject)
    path = tmp_path / "large.pdf"
    sha = write_pdf(path, 12 * PART_SIZE + 12345)  # 13 parts
    page = open_page("applicant", subject, "申报单位")
    sent: list[int] = []
    page.on("request", lambda req: sent.append(int(req.url.rsplit("/", 1)[1]))
            if "/parts/" in req.url and req.method == "PUT" else None)

    # The line drops after six parts: every later part request fails as on a dead network.
    let_through: list[int] = []

    def cut(route: Any) -> None:
        if len(let_through) < 6:
            let_through.append(int(route.request.url.rsplit("/", 1)[1]))
            route.continue_()
        else:
            route.abort("internetdisconnected")

    page.route("**/uploads/*/parts/*", cut)
    page.goto(f"/intake/packets/{app_id}")
    page.set_input_files("#u-files", str(path))
    row = page.locator("[data-upload-row]").first
    poll(lambda: row.get_attribute("data-state") == "paused", 120)
    page.unroute("**/uploads/*/parts/*")
    # What the store holds at the pause is what got through before the line dropped.
    upload_id = page.evaluate("Object.entries(localStorage)"
                              ".find(([k]) => k.startsWith('dossier-upload:'))[1]")
    status = intake.call("GET", f"/applications/{app_id}/uploads/{upload_id}", who).json()
    stored_before = {p["number"] for p in status["received"]}
    assert stored_before == set(let_through) and len(stored_before) == 6
    # The page reloads (as after a dropped connection) and the same file is chosen again.
    sent.clear()
    page.reload()
    page.set_input_files("#u-files", str(path))
    poll(lambda: page.locator("[data-upload-row][data-state=done]").count() == 1, 180)
    resent = sorted(set(sent))
    assert len(sent) == len(resent) == 7, sent  # each missing part once, nothing else
    assert not set(resent) & stored_before, (stored_before, resent)
    assert sorted(stored_before | set(resent)) == list(range(1, 14))
    assert _stored_sha(intake, who, app_id, path.name) == sha


def test_a_paused_upload_continues_by_itself_when_the_browser_is_back_online(
        intake: Intake, upload_cycle: str, open_page: Callable[..., Any],
        tmp_path: Path) -> None:
    subject = f"online-{uuid.uuid4().hex[:8]}"
    who, app_id = new_application(intake, upload_cycle, subject)
    path = tmp_path / "second.pdf"
    sha = write_pdf(path, 5 * PART_SIZE + 777)  # 6 parts
    page = open_page("applicant", subject, "申报单位", lang="en")
    sent: list[int] = []
    page.on("request", lambda req: sent.append(int(req.url.rsplit("/", 1)[1]))
            if "/parts/" in req.url and req.method == "PUT" else None)
    let_through: list[int] = []

    def cut(route: Any) -> None:
        if len(let_through) < 3:
            let_through.append(int(route.request.url.rsplit("/", 1)[1]))
            route.continue_()
        else:
            route.abort("internetdisconnected")

    page.route("**/uploads/*/parts/*", cut)
    page.goto(f"/intake/packets/{app_id}")
    page.set_input_files("#u-files", str(path))
    row = page.locator("[data-upload-row]").first
    poll(lambda: row.get_attribute("data-state") == "paused", 120)
    assert "Connection lost" in row.inner_text()
    page.unroute("**/uploads/*/parts/*")
    sent.clear()
    # The network comes back: the page's script resumes without a reload or a click.
    page.context.set_offline(True)
    page.context.set_offline(False)
    poll(lambda: row.get_attribute("data-state") == "done", 120)
    assert not set(sent) & set(let_through), (let_through, sent)
    assert sorted(set(let_through) | set(sent)) == list(range(1, 7))
    assert row.locator("progress").get_attribute("value") in ("100", "100.0")
    assert _stored_sha(intake, who, app_id, path.name) == sha


def test_files_dropped_on_the_drop_zone_are_uploaded(
        intake: Intake, upload_cycle: str, open_page: Callable[..., Any]) -> None:
    subject = f"dnd-{uuid.uuid4().hex[:8]}"
    who, app_id = new_application(intake, upload_cycle, subject)
    page = open_page("applicant", subject, "申报单位")
    page.goto(f"/intake/packets/{app_id}")
    # A real drop: a DataTransfer holding two files, dispatched on the drop zone.
    transfer = page.evaluate_handle("""() => {
        const dt = new DataTransfer();
        for (const name of ["拖放一.pdf", "拖放二.pdf"]) {
            const body = "%PDF-1.4\\n1 0 obj<</Type/Catalog>>endobj\\n" + name.repeat(5000)
                + "\\n%%EOF\\n";
            dt.items.add(new File([body], name, {type: "application/pdf"}));
        }
        return dt;
    }""")
    page.dispatch_event("#u-drop", "dragover", {"dataTransfer": transfer})
    assert "over" in (page.get_attribute("#u-drop", "class") or "")
    page.dispatch_event("#u-drop", "drop", {"dataTransfer": transfer})
    poll(lambda: page.locator("[data-upload-row][data-state=done]").count() == 2, 60)
    names = sorted(v["filename"] for d in intake.detail(who, app_id)["documents"]
                   for v in d["versions"])
    assert names == ["拖放一.pdf", "拖放二.pdf"]
