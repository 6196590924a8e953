"""A dependency down answers 503 with a stable code and Retry-After (API and pages), never a 500,
and a dossier ZIP is never a 200 of placeholders: each test stops a server of its own."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from award_cycle import ensure_open_cycle
from review.reviewstack import ReviewDriver
from samples import blank_pdf

from dossier.localstack import AppStack, BackingServers
from shared.auth import issue_token
from shared.web.sessions import COOKIE, SessionStore

pytestmark = pytest.mark.stack


@pytest.fixture
def own_servers(backing: BackingServers, workdir: Path,
                request: pytest.FixtureRequest) -> Iterator[BackingServers]:
    servers = BackingServers(root=workdir / f"outage-{request.node.name[:40]}",
                             access_key=backing.access_key, secret_key=backing.secret_key)
    try:
        servers.start_redis()
        servers.start_s3()
        yield servers
    finally:
        servers.stop()


@pytest.fixture
def apps(own_servers: BackingServers, workdir: Path,
         request: pytest.FixtureRequest) -> Iterator[AppStack]:
    stack = AppStack(own_servers, workdir / f"outage-apps-{request.node.name[:40]}",
                     database="sqlite", with_proxy=False)
    try:
        stack.start(("intake", "review"))
        yield stack
    finally:
        stack.stop()


def auth(stack: AppStack, role: str, subject: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_token(stack.secret_key, subject=subject, role=role,
                                                     ttl_seconds=3600)}


def stop_s3(servers: BackingServers) -> None:
    servers.procs.pop("s3").stop()


def assert_unavailable(r: requests.Response, code: str) -> None:
    assert r.status_code == 503, r.text
    assert r.json()["code"] == code
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["messages"]["zh-CN"] and r.json()["messages"]["en"]


def test_an_upload_while_the_object_store_is_down_answers_503_with_retry_after(
        own_servers: BackingServers, apps: AppStack) -> None:
    ensure_open_cycle(apps.url("intake"), apps.secret_key)
    me = auth(apps, "applicant", "applicant-s3-down")
    r = requests.post(f"{apps.url('intake')}/api/applications", headers=me, timeout=30,
                      json={"cycle": "2025", "kind": "organisation", "name": "存储故障测试公司"})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    stop_s3(own_servers)

    r = requests.post(f"{apps.url('intake')}/api/applications/{app_id}/documents",
                      headers=me, data={"requirement": "overview"}, timeout=120,
                      files={"file": ("概述.pdf", blank_pdf(1), "application/pdf")})
    assert_unavailable(r, "dependency.object_store_unavailable")
    assert "文件存储暂时无法访问" in r.json()["title"]


def test_with_redis_down_the_api_and_the_pages_answer_503_in_words(
        own_servers: BackingServers, apps: AppStack) -> None:
    ensure_open_cycle(apps.url("intake"), apps.secret_key)
    me = auth(apps, "applicant", "applicant-redis-down")
    r = requests.post(f"{apps.url('intake')}/api/applications", headers=me, timeout=30,
                      json={"cycle": "2025", "kind": "organisation", "name": "消息故障测试公司"})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    client = redis.Redis.from_url(apps.env()["DOSSIER_REDIS_URL"])
    session = SessionStore(client, idle=3600, absolute=7200).create(
        subject="applicant-redis-down", role="applicant", name="消息故障测试公司", scope=None)
    client.close()
    own_servers.stop_redis()

    # A resumable upload keeps its state in Redis.
    r = requests.post(f"{apps.url('intake')}/api/applications/{app_id}/uploads", headers=me,
                      json={"filename": "概述.pdf", "size": 1000, "requirement": "overview"},
                      timeout=60)
    assert_unavailable(r, "dependency.broker_unavailable")
    # A signed-in page: the browser session lives in Redis.
    page = requests.get(f"{apps.url('intake')}/", cookies={COOKIE: session.sid}, timeout=60)
    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert int(page.headers["Retry-After"]) > 0
    assert "系统的消息服务暂时无法访问" in page.text


def _zip_ready(stack: AppStack, files: list[bytes]) -> tuple[ReviewDriver, str, dict[str, str]]:
    review = ReviewDriver(stack, lambda role, subject: auth(stack, role, subject),
                          requests.Session())
    review.cycle_saved()
    app_id = f"zip-{review.cycle}"
    docs = [review.document(app_id, "evidence", f"证据-{i}.pdf", data)
            for i, data in enumerate(files)]
    review.accept("忻州故障下载测试公司", app_id=app_id, documents=docs)
    review.wait_applications(1)
    expert = review.expert(f"exp-zip-{review.cycle}", "山西大学")
    panel = review.panel("material", 1, 5, [expert["id"]])
    assert review.http.post(f"{review.url}/panels/{panel['id']}/assign",
                            headers=review.operator).status_code == 201
    return review, app_id, review.auth("expert", expert["subject"])


def downloads(stack: AppStack, app_id: str) -> list[dict[str, Any]]:
    rows = stack.query("review", "SELECT detail FROM audit_log WHERE action = "
                       "'dossier.downloaded' AND target = :t ORDER BY seq",
                       t=f"application:{app_id}")
    return [json.loads(row.detail) if isinstance(row.detail, str) else row.detail
            for row in rows]


def test_a_dossier_zip_with_the_store_down_is_refused_and_a_broken_one_audits_what_left(
        own_servers: BackingServers, apps: AppStack) -> None:
    size = 8 * 1024 * 1024
    review, app_id, expert = _zip_ready(apps, [os.urandom(size) for _ in range(6)])
    url = f"{review.url}/dossiers/{app_id}/download"
    try:
        # Down before the request: 503 before the first byte, nothing recorded as handed over.
        stop_s3(own_servers)
        assert_unavailable(requests.get(url, headers=expert, timeout=120),
                           "dependency.object_store_unavailable")
        assert downloads(apps, app_id) == []

        # Down in the middle of the stream: the archive breaks, no placeholder, and the audit
        # names only the files that went out.
        own_servers.start_s3()
        with requests.get(url, headers=expert, stream=True, timeout=120) as r:
            assert r.status_code == 200
            chunks = r.iter_content(256 * 1024)
            received = next(chunks)
            stop_s3(own_servers)
            try:
                for chunk in chunks:
                    received += chunk
            except (requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ConnectionError):
                pass
        assert b".unavailable.txt" not in received
        with pytest.raises(zipfile.BadZipFile):
            zipfile.ZipFile(io.BytesIO(received))
        [broken] = downloads(apps, app_id)
        assert broken["complete"] is False
        assert len(broken["documents"]) < 6
        assert len(broken["documents"]) + len(broken["not_delivered"]) == 6

        # Back up: the whole archive, and the audit says all six went out.
        own_servers.start_s3()
        r = requests.get(url, headers=expert, timeout=120)
        assert r.status_code == 200
        assert len(zipfile.ZipFile(io.BytesIO(r.content)).namelist()) == 7  # README + 6
        assert downloads(apps, app_id)[-1]["complete"] is True
        assert len(downloads(apps, app_id)[-1]["documents"]) == 6
    finally:
        review.sender.close()
        review.http.close()
