"""Requests whose bytes break a parser are the caller's fault: 400 with a stable code, never 500
(through the running service, where gunicorn and the real request parsing are)."""

from __future__ import annotations

import pytest

from .flows import Intake, unique
from .test_applications import problem

BOUNDARY = "dossier-probe"


def multipart(field: bytes, filename: bytes = "报告.pdf".encode()) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"requirement\"\r\n\r\n"
            .encode() + field + f"\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; "
            "name=\"file\"; filename=\"".encode() + filename +
            f"\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n\r\n--{BOUNDARY}--\r\n"
            .encode())


def test_a_multipart_field_that_is_not_utf8_is_400(intake: Intake, cycle: str) -> None:
    me = intake.as_("applicant", unique("a"))
    r = intake.create(me, cycle)
    assert r.status_code == 201, r.text
    form = {**me, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    r = intake.call("POST", f"/applications/{r.json()['id']}/documents", form,
                    data=multipart(b"self-\xff\xfeevaluation"))
    body = problem(r, 400, "http.bad_encoding")
    assert "UTF-8" in body["messages"]["en"]


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
], ids=["array", "object"])
def test_json_nested_100000_deep_is_400(intake: Intake, body: bytes) -> None:
    me = intake.as_("applicant", unique("a"))
    r = intake.call("POST", "/applications", {**me, "Content-Type": "application/json"},
                    data=body)
    problem(r, 400, "http.json_too_deep")
