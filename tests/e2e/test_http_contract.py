"""Every failure is problem+json with a stable code and messages in both languages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import requests
from award_cycle import ensure_open_cycle
from samples import blank_pdf, sha256

from dossier.localstack import AppStack

SERVICES = ("intake", "documents", "review", "notify")


def assert_problem(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["messages"]["zh-CN"]
    assert body["messages"]["en"]
    assert body["messages"]["zh-CN"] != body["messages"]["en"]
    return body


def new_application(stack: AppStack, http: requests.Session, me: dict[str, str], kind: str,
                    name: str) -> dict[str, Any]:
    ensure_open_cycle(stack.url("intake"), stack.secret_key)
    r = http.post(f"{stack.url('intake')}/api/applications", headers=me,
                  json={"cycle": "2025", "kind": kind, "name": name})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.mark.parametrize("service", SERVICES)
def test_health_probes_answer_without_a_token(stack: AppStack, http: requests.Session,
                                              service: str) -> None:
    assert http.get(f"{stack.url(service)}/healthz").json()["status"] == "ok"
    ready = http.get(f"{stack.url(service)}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "object_store": "ok"}


@pytest.mark.parametrize("service", SERVICES)
def test_missing_token_is_401_on_every_service(stack: AppStack, http: requests.Session,
                                               service: str) -> None:
    r = http.get(f"{stack.url(service)}/openapi.json")
    assert_problem(r, 401, "auth.token_missing")


def test_a_forged_token_is_401(stack: AppStack, http: requests.Session,
                               token: Callable[..., str]) -> None:
    good = token("operator", "op")
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    r = http.get(f"{stack.url('intake')}/api/applications",
                 headers={"Authorization": f"Bearer {forged}"})
    assert_problem(r, 401, "auth.token_invalid")


def test_wrong_role_is_403(stack: AppStack, http: requests.Session,
                           auth: Callable[..., dict[str, str]]) -> None:
    r = http.post(f"{stack.url('intake')}/api/applications", headers=auth("expert", "e1"),
                  json={"cycle": "2025", "kind": "organisation", "name": "x"})
    body = assert_problem(r, 403, "auth.forbidden")
    assert body["title"] == body["messages"]["zh-CN"]  # zh-CN is the default language


def test_unknown_route_is_404(stack: AppStack, http: requests.Session,
                              auth: Callable[..., dict[str, str]]) -> None:
    r = http.get(f"{stack.url('review')}/api/no-such-thing", headers=auth("operator", "op"))
    assert_problem(r, 404, "http.not_found")


def test_wrong_method_is_405_with_allow(stack: AppStack, http: requests.Session,
                                        auth: Callable[..., dict[str, str]]) -> None:
    r = http.delete(f"{stack.url('notify')}/api/inbox", headers=auth("operator", "op"))
    assert_problem(r, 405, "http.method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_oversized_json_body_is_413(stack: AppStack, http: requests.Session,
                                    auth: Callable[..., dict[str, str]]) -> None:
    huge = json.dumps({"cycle": "2025", "kind": "organisation", "name": "x" * (2 * 1024**2)})
    r = http.post(f"{stack.url('intake')}/api/applications", data=huge,
                  headers={**auth("applicant", "a1"), "Content-Type": "application/json"})
    assert_problem(r, 413, "http.body_too_large")


def test_malformed_json_is_400(stack: AppStack, http: requests.Session,
                               auth: Callable[..., dict[str, str]]) -> None:
    r = http.post(f"{stack.url('intake')}/api/applications", data='{"cycle": "2025",',
                  headers={**auth("applicant", "a1"), "Content-Type": "application/json"})
    assert_problem(r, 400, "http.malformed_json")


def test_invalid_fields_are_422_with_the_fields_named_in_english_on_request(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]]) -> None:
    r = http.post(f"{stack.url('intake')}/api/applications",
                  headers={**auth("applicant", "a1"), "Accept-Language": "en"},
                  json={"cycle": "2025", "kind": "company"})
    body = assert_problem(r, 422, "validation.failed")
    assert set(body["errors"]["json"]) == {"kind", "name"}
    assert body["title"] == body["messages"]["en"]


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_document_describes_the_bearer_scheme(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]],
        service: str) -> None:
    spec = http.get(f"{stack.url(service)}/openapi.json", headers=auth("operator", "op")).json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert any(path.startswith("/api/") for path in spec["paths"])


def test_upload_refuses_an_executable_named_pdf_and_an_empty_file(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]]) -> None:
    me = auth("applicant", "a-upload-refusals")
    app = new_application(stack, http, me, "individual", "张三")
    url = f"{stack.url('intake')}/api/applications/{app['id']}/documents"
    form = {"requirement": "application-form"}
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 4096
    r = http.post(url, headers=me, data=form, files={"file": ("申报表.pdf", elf)})
    assert_problem(r, 415, "upload.type_not_allowed")
    r = http.post(url, headers=me, data=form, files={"file": ("empty.pdf", b"")})
    assert_problem(r, 422, "upload.empty")
    r = http.post(url, headers=me, data=form, files={"file": ("report.docx", b"%PDF-1.7\n%%EOF")})
    assert_problem(r, 415, "upload.type_mismatch")
    detail = http.get(f"{stack.url('intake')}/api/applications/{app['id']}", headers=me).json()
    assert detail["documents"] == []  # nothing half-stored


@pytest.mark.parametrize("service", SERVICES)
def test_each_worker_keeps_its_heartbeat_fresh_for_the_container_health_check(
        stack: AppStack, service: str) -> None:
    env = {**os.environ, "TMPDIR": stack.env()["TMPDIR"]}
    check = [sys.executable, "-m", "dossier.cli", "healthcheck", "worker", service,
             "--max-age", "10"]
    deadline = time.monotonic() + 20
    while subprocess.run(check, env=env, check=False).returncode != 0:
        assert time.monotonic() < deadline, f"{service} worker heartbeat never fresh"
        time.sleep(0.5)
    stale = subprocess.run([*check[:-1], "0"], env=env, check=False)
    assert stale.returncode == 1


def test_a_raw_upload_named_by_content_disposition_is_stored_once_per_idempotency_key(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]]) -> None:
    me = auth("applicant", "a-idempotent")
    app = new_application(stack, http, me, "organisation", "幂等测试公司")
    url = f"{stack.url('intake')}/api/applications/{app['id']}/documents?requirement=commitment"
    pdf = blank_pdf(1)
    sent = {**me, "Content-Type": "application/pdf", "Idempotency-Key": "k-123",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote('真实性承诺书.pdf')}"}
    first = http.post(url, headers=sent, data=pdf)
    assert first.status_code == 201, first.text
    assert first.json()["filename"] == "真实性承诺书.pdf"
    assert first.json()["sha256"] == sha256(pdf)
    retried = http.post(url, headers=sent, data=pdf)
    assert retried.status_code == 200
    assert retried.json()["id"] == first.json()["id"]
    detail = http.get(f"{stack.url('intake')}/api/applications/{app['id']}", headers=me).json()
    assert [len(d["versions"]) for d in detail["documents"]] == [1]
