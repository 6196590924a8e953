"""The walking skeleton: upload → inspection → inbox, across real processes and servers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from award_cycle import ensure_open_cycle
from minio import Minio
from samples import blank_pdf, sha256
from waiting import poll

from dossier.localstack import AppStack


def create_application(http: requests.Session, stack: AppStack, headers: dict[str, str],
                       name: str = "忻州市示例机械有限公司") -> dict[str, Any]:
    ensure_open_cycle(stack.url("intake"), stack.secret_key)
    r = http.post(f"{stack.url('intake')}/api/applications", headers=headers,
                  json={"cycle": "2025", "kind": "organisation", "name": name})
    assert r.status_code == 201, r.text
    return r.json()


def upload(http: requests.Session, stack: AppStack, headers: dict[str, str], app_id: str,
           filename: str, data: bytes, **fields: str) -> requests.Response:
    form = {"requirement": "self-evaluation", "confidentiality": "internal", **fields}
    return http.post(f"{stack.url('intake')}/api/applications/{app_id}/documents",
                     headers=headers, data=form,
                     files={"file": (filename, data, "application/pdf")})


def test_uploaded_pdf_is_inspected_and_the_applicant_is_told_in_the_inbox(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]]) -> None:
    me = auth("applicant", "applicant-skeleton")
    app = create_application(http, stack, me)
    pdf = blank_pdf(7)
    filename = "自评报告（2025年）.pdf"

    r = upload(http, stack, {**me, "X-Request-ID": "trace-skeleton-1"}, app["id"], filename, pdf)
    assert r.status_code == 201, r.text
    assert r.headers["X-Request-ID"] == "trace-skeleton-1"
    version = r.json()
    assert version["sha256"] == sha256(pdf)
    assert version["size"] == len(pdf)
    assert version["filename"] == filename
    assert version["number"] == 1

    # The object in the store is byte-identical and carries its hash and classification.
    s3 = Minio(stack.backing.s3_endpoint, access_key=stack.backing.access_key,
               secret_key=stack.backing.secret_key, secure=False)
    app_detail = http.get(f"{stack.url('intake')}/api/applications/{app['id']}",
                          headers=me).json()
    [document] = app_detail["documents"]
    assert document["versions"][0]["id"] == version["id"]
    key = f"2025/{app['id']}/{document['id']}/v1"
    body = s3.get_object(stack.bucket, key)
    assert body.read() == pdf
    body.close()
    tags = s3.get_object_tags(stack.bucket, key)
    assert tags["sha256"] == sha256(pdf)
    assert tags["confidentiality"] == "internal"

    def inspected() -> dict[str, Any] | None:
        res = http.get(f"{stack.url('documents')}/api/inspections/{version['id']}", headers=me)
        return res.json() if res.status_code == 200 else None

    inspection = poll(inspected)
    assert inspection["ok"] is True
    assert inspection["pages"] == 7
    assert inspection["format"] == "pdf"

    def inbox_message() -> dict[str, Any] | None:
        res = http.get(f"{stack.url('notify')}/api/inbox", headers=me)
        assert res.status_code == 200, res.text
        # No message per file: one digest once the upload's inspections have settled.
        items = [m for m in res.json()["items"] if m["title"] == "上传的材料已检查完毕"]
        return {"inbox": res.json(), "message": items[0]} if items else None

    found = poll(inbox_message)
    assert found["inbox"]["unread"] >= 1
    assert found["message"]["body"].startswith("您上传的材料已全部检查完毕")
    english = http.get(f"{stack.url('notify')}/api/inbox", headers={**me,
                       "Accept-Language": "en"}).json()
    assert any(m["title"] == "Your uploads have been checked"
               and m["body"].startswith("Every file you uploaded has been checked")
               for m in english["items"])
    # One id traces the work through every service's logs.
    for log in ("documents-worker", "notify-worker"):
        assert b"[trace-skeleton-1]" in (stack.root / "logs" / f"{log}.log").read_bytes(), log


def test_another_applicant_sees_neither_the_application_nor_its_inbox(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]]) -> None:
    owner = auth("applicant", "applicant-owner")
    other = auth("applicant", "applicant-other")
    app = create_application(http, stack, owner)
    r = http.get(f"{stack.url('intake')}/api/applications/{app['id']}", headers=other)
    assert r.status_code == 404
    assert r.json()["code"] == "http.not_found"
    listed = http.get(f"{stack.url('intake')}/api/applications", headers=other).json()
    assert all(item["id"] != app["id"] for item in listed["items"])
    r = upload(http, stack, other, app["id"], "x.pdf", blank_pdf(1))
    assert r.status_code == 404
