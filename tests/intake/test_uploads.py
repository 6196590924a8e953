"""Streaming uploads on a stack of intake alone (its events go to a queue nobody reads, so a
1 GiB body is not inspected by the shared stack's documents worker)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from minio import Minio
from samples import blank_pdf, sha256
from waiting import poll

from dossier.localstack import AppStack, BackingServers, Proc, free_port_block, web_argv

from .flows import Intake, unique
from .test_applications import problem

MiB = 1024 * 1024
GiB = 1024 * MiB


@pytest.fixture(scope="module")
def upload_stack(backing: BackingServers, workdir: Path) -> Iterator[AppStack]:
    apps = AppStack(backing, workdir / "intake-uploads", redis_db=5)
    try:
        yield apps.start(("intake",))
    finally:
        apps.stop()


@pytest.fixture(scope="module")
def small_limits(upload_stack: AppStack) -> Iterator[str]:
    """A second intake web process on the same data with tight per-file and packet limits."""
    port = free_port_block(1)
    env = {**upload_stack.env(), "DOSSIER_MAX_UPLOAD_BYTES": "1M",
           "DOSSIER_INTAKE_MAX_PACKET_BYTES": "2500K"}
    proc = Proc("intake-small-web", web_argv("intake", port),
                upload_stack.root / "logs" / "intake-small-web.log", env=env).start()
    url = f"http://127.0.0.1:{port}"
    try:
        poll(lambda: _healthy(url), 60)
        yield url
    finally:
        proc.stop()


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def client(upload_stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(upload_stack, http)


@pytest.fixture(scope="module")
def draft(upload_stack: AppStack) -> tuple[dict[str, str], str, str]:
    """(applicant headers, cycle, application id) on the upload stack."""
    with requests.Session() as http:
        intake = Intake(upload_stack, http)
        cycle = intake.open_cycle()["id"]
        me = intake.as_("applicant", unique("up"))
        r = intake.create(me, cycle)
        assert r.status_code == 201, r.text
        return me, cycle, r.json()["id"]


class GeneratedPdf:
    """A body of `size` bytes made on the fly as 1 MiB blocks, sent with its Content-Length
    (requests streams an iterable that has a length); hashed as it is sent."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sha = hashlib.sha256()
        self.block = b"%PDF-1.7\n" + os.urandom(MiB - 9)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        for i in range(self.size // MiB):
            block = self.block[:8] + i.to_bytes(8, "big") + self.block[16:]
            self.sha.update(block)
            yield block


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _gunicorn_worker(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def raw(intake: Intake, me: dict[str, str], app_id: str, body: Any, filename: str,
        headers: dict[str, str] | None = None, url: str | None = None,
        **params: str) -> requests.Response:
    return intake.http.post(
        f"{url or intake.url}/api/applications/{app_id}/documents",
        params={"requirement": "evidence", **params},
        headers={**me, "Content-Type": "application/pdf",
                 "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                 **(headers or {})}, data=body)


def test_a_1_gib_upload_streams_through_with_intake_memory_growing_under_64_mib(
        client: Intake, upload_stack: AppStack, draft: tuple[dict[str, str], str, str]) -> None:
    me, _, app_id = draft
    worker = _gunicorn_worker(upload_stack.procs["intake-web"].pid)
    assert raw(client, me, app_id, blank_pdf(1), "预热.pdf").status_code == 201  # warm up
    baseline = _rss_kib(worker)
    peak = [baseline]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_kib(worker))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    body = GeneratedPdf(GiB)
    try:
        r = raw(client, me, app_id, body, "大文件（1GiB）.pdf")
    finally:
        done.set()
        watcher.join()
    assert r.status_code == 201, r.text
    assert r.json()["size"] == GiB
    assert r.json()["sha256"] == body.sha.hexdigest()
    growth_mib = (peak[0] - baseline) / 1024
    print(f"intake worker RSS: baseline {baseline / 1024:.0f} MiB, growth {growth_mib:.1f} MiB")
    assert growth_mib < 64


def _send_partial(intake: Intake, me: dict[str, str], app_id: str, headers: dict[str, str],
                  declared: int, body: bytes) -> None:
    """Send a request whose body stops short of its Content-Length, then hang up."""
    host, port = intake.url.removeprefix("http://").split(":")
    lines = [f"POST /api/applications/{app_id}/documents?requirement=evidence HTTP/1.1",
             f"Host: {host}:{port}", f"Content-Length: {declared}",
             *(f"{k}: {v}" for k, v in {**me, **headers}.items()), "", ""]
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1"))
        sock.sendall(body)


def _request_finished(stack: AppStack, app_id: str, count: int) -> bool:
    log = (stack.root / "logs" / "intake-web.log").read_text(errors="replace")
    return log.count(f"POST /api/applications/{app_id}/documents") >= count


@pytest.mark.parametrize("shape", ["raw", "multipart"])
def test_an_interrupted_upload_leaves_no_half_record(
        client: Intake, upload_stack: AppStack, shape: str) -> None:
    cycle = client.open_cycle()["id"]
    me = client.as_("applicant", unique("cut"))
    app_id = client.create(me, cycle).json()["id"]
    data = b"%PDF-1.7\n" + os.urandom(12 * MiB)  # past the store's first part (PART_SIZE)
    if shape == "raw":
        headers = {"Content-Type": "application/pdf",
                   "Content-Disposition": "attachment; filename=cut.pdf"}
        _send_partial(client, me, app_id, headers, len(data) + MiB, data)
    else:
        boundary = "----cut-boundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"cut.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
        body = head + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        _send_partial(client, me, app_id, headers, len(body), body[:len(head) + 10 * MiB])
    poll(lambda: _request_finished(upload_stack, app_id, 1), 60)
    assert client.detail(me, app_id)["documents"] == []
    s3 = Minio(upload_stack.backing.s3_endpoint, access_key=upload_stack.backing.access_key,
               secret_key=upload_stack.backing.secret_key, secure=False)
    prefix = f"{cycle}/{app_id}/"
    assert list(s3.list_objects(upload_stack.bucket, prefix=prefix, recursive=True,
                                include_version=True)) == []
    # The application still works: the same upload, complete this time, goes through.
    r = raw(client, me, app_id, data, "cut.pdf")
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == sha256(data)


def test_a_retried_upload_with_the_same_key_makes_one_version(
        client: Intake, draft: tuple[dict[str, str], str, str]) -> None:
    me, _, app_id = draft
    pdf = blank_pdf(2)
    key = {"Idempotency-Key": unique("k")}
    first = raw(client, me, app_id, pdf, "承诺书.pdf", key, requirement="commitment")
    assert first.status_code == 201, first.text
    again = raw(client, me, app_id, pdf, "承诺书.pdf", key, requirement="commitment")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    documents = [d for d in client.detail(me, app_id)["documents"]
                 if d["requirement"] == "commitment"]
    assert [len(d["versions"]) for d in documents] == [1]


def test_concurrent_retries_with_one_key_still_make_one_version(
        client: Intake, draft: tuple[dict[str, str], str, str]) -> None:
    me, _, app_id = draft
    pdf = blank_pdf(2)
    key = {"Idempotency-Key": unique("k")}
    results: list[requests.Response] = []

    def send() -> None:
        with requests.Session() as http:
            results.append(raw(Intake(client.stack, http), me, app_id, pdf, "并发.pdf", key,
                               requirement="overview"))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results).count(201) == 1, [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    documents = [d for d in client.detail(me, app_id)["documents"]
                 if d["requirement"] == "overview"]
    assert [len(d["versions"]) for d in documents] == [1]


@pytest.mark.parametrize(("name", "content", "code"), [
    ("申报表.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 4096, "upload.type_not_allowed"),
    ("自评报告.docx", b"MZ\x90\x00\x03" + b"\x00" * 4096, "upload.type_not_allowed"),
    ("营业执照.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "upload.type_mismatch"),
])
def test_a_renamed_executable_or_disguised_file_is_refused(
        client: Intake, draft: tuple[dict[str, str], str, str], name: str, content: bytes,
        code: str) -> None:
    me, _, app_id = draft
    before = client.detail(me, app_id)["documents"]
    problem(client.upload(me, app_id, name, content), 415, code)
    assert client.detail(me, app_id)["documents"] == before


def test_a_zero_byte_file_is_refused(client: Intake,
                                     draft: tuple[dict[str, str], str, str]) -> None:
    me, _, app_id = draft
    problem(client.upload(me, app_id, "空文件.pdf", b""), 422, "upload.empty")
    problem(raw(client, me, app_id, b"", "空文件.pdf"), 422, "upload.empty")


def test_files_and_packets_over_their_limits_are_413(
        client: Intake, small_limits: str) -> None:
    cycle = client.open_cycle()["id"]
    me = client.as_("applicant", unique("big"))
    app_id = client.create(me, cycle).json()["id"]
    one = b"%PDF-1.7\n" + os.urandom(900 * 1024)
    problem(raw(client, me, app_id, one + os.urandom(200 * 1024), "太大.pdf", url=small_limits),
            413, "upload.too_large")
    for i in range(2):
        assert raw(client, me, app_id, one, f"附件{i}.pdf", url=small_limits).status_code == 201
    problem(raw(client, me, app_id, one, "附件2.pdf", url=small_limits), 413,
            "upload.packet_too_large")
    assert len(client.detail(me, app_id)["documents"]) == 2


def test_a_new_version_keeps_the_old_and_the_exact_chinese_name(
        client: Intake, draft: tuple[dict[str, str], str, str]) -> None:
    me, _, app_id = draft
    name = "忻州·质量《自评报告》（第2版）～终稿 .pdf"
    first = client.upload(me, app_id, "自评报告.pdf", blank_pdf(1), requirement="self-evaluation")
    document_id = first.json()["document_id"]
    second = client.upload(me, app_id, name, blank_pdf(2), requirement="self-evaluation",
                           document_id=document_id)
    assert second.status_code == 201, second.text
    assert (second.json()["number"], second.json()["filename"]) == (2, name)
    [document] = [d for d in client.detail(me, app_id)["documents"] if d["id"] == document_id]
    assert [v["number"] for v in document["versions"]] == [1, 2]
    problem(client.upload(me, app_id, "x.pdf", blank_pdf(1), requirement="overview",
                          document_id=document_id), 422, "document.requirement_mismatch")


def test_confidentiality_and_secret_pages_are_tagged_and_changeable_until_submission(
        client: Intake, upload_stack: AppStack, draft: tuple[dict[str, str], str, str]) -> None:
    me, cycle, app_id = draft
    r = client.upload(me, app_id, "技术秘密.pdf", blank_pdf(5), requirement="evidence",
                      confidentiality="trade-secret", secret_pages="2-3,5")
    assert r.status_code == 201, r.text
    version = r.json()
    assert version["secret_pages"] == [[2, 3], [5, 5]]
    s3 = Minio(upload_stack.backing.s3_endpoint, access_key=upload_stack.backing.access_key,
               secret_key=upload_stack.backing.secret_key, secure=False)
    key = f"{cycle}/{app_id}/{version['document_id']}/v1"
    tags = s3.get_object_tags(upload_stack.bucket, key)
    assert (tags["confidentiality"], tags["secret-pages"]) == ("trade-secret", "2-3 5-5")
    r = client.call("PATCH", f"/applications/{app_id}/documents/{version['document_id']}", me,
                    json={"confidentiality": "public"})
    assert r.status_code == 200, r.text
    assert s3.get_object_tags(upload_stack.bucket, key)["confidentiality"] == "public"
    assert "secret-pages" not in s3.get_object_tags(upload_stack.bucket, key)
    problem(client.call("PATCH", f"/applications/{app_id}/documents/{version['document_id']}",
                        me, json={"confidentiality": "internal", "secret_pages": "1-2"}), 422,
            "document.secret_pages_need_trade_secret")
    problem(client.upload(me, app_id, "x.pdf", blank_pdf(1), confidentiality="trade-secret",
                          secret_pages="3-1"), 422, "document.secret_pages_invalid")


def test_documents_are_deleted_only_while_in_draft(client: Intake,
                                                   upload_stack: AppStack) -> None:
    cycle = client.open_cycle()["id"]
    me = client.as_("applicant", unique("del"))
    app_id = client.create(me, cycle).json()["id"]
    doomed = client.upload(me, app_id, "多余.pdf", blank_pdf(1)).json()
    r = client.call("DELETE", f"/applications/{app_id}/documents/{doomed['document_id']}", me)
    assert r.status_code == 204, r.text
    assert client.detail(me, app_id)["documents"] == []
    s3 = Minio(upload_stack.backing.s3_endpoint, access_key=upload_stack.backing.access_key,
               secret_key=upload_stack.backing.secret_key, secure=False)
    assert list(s3.list_objects(upload_stack.bucket, prefix=f"{cycle}/{app_id}/",
                                recursive=True)) == []
    kept = client.upload(me, app_id, "公示.pdf", blank_pdf(1), requirement="publicity-proof")
    assert client.publicity(me, app_id, kept.json()["document_id"]).status_code == 200
    assert client.submit(me, app_id).status_code == 200
    problem(client.call("DELETE", f"/applications/{app_id}/documents/"
                        f"{kept.json()['document_id']}", me), 409, "document.delete_not_draft")
    problem(client.upload(me, app_id, "晚了.pdf", blank_pdf(1)), 409, "application.not_draft")
