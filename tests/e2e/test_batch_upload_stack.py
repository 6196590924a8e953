"""A batch upload through the one origin (nginx streams the route to intake) reaches the
documents service file by file: each recorded version is announced, inspected there, and the
verdict comes back to intake. A refused batch announces nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from intake.flows import Intake
from samples import blank_pdf, sha256
from waiting import poll

from dossier.localstack import AppStack

Parts = list[tuple[str, tuple[str | None, bytes | str, str] | tuple[None, str]]]


def batch(stack: AppStack, http: requests.Session, who: dict[str, str], app_id: str,
          parts: Parts) -> requests.Response:
    # A list of parts: requests sends them in this order (fields before their own file).
    return http.post(f"{stack.public_url}/intake/api/applications/{app_id}/documents/batch",
                     headers=who, files=parts, timeout=120)


def part(requirement: str, filename: str, data: bytes, **fields: str) -> Parts:
    out: Parts = [("requirement", (None, requirement))]
    out += [(k, (None, v)) for k, v in fields.items()]
    return [*out, ("file", (filename, data, "application/pdf"))]


def test_a_batch_through_the_proxy_is_inspected_file_by_file_by_the_documents_service(
        stack: AppStack, http: requests.Session,
        auth: Callable[..., dict[str, str]]) -> None:
    intake = Intake(stack, http)
    cycle = intake.open_cycle()["id"]
    me = auth("applicant", "applicant-batch-stack")
    r = intake.create(me, cycle)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    files = {"自评报告.pdf": blank_pdf(3), "营业执照.pdf": blank_pdf(1),
             "证明材料.pdf": blank_pdf(5)}
    parts = (part("self-evaluation", "自评报告.pdf", files["自评报告.pdf"],
                  confidentiality="trade-secret", secret_pages="2")
             + part("business-licence", "营业执照.pdf", files["营业执照.pdf"])
             + part("evidence", "证明材料.pdf", files["证明材料.pdf"]))

    # A refused batch first: its good files were stored and are gone; nothing is announced.
    refused = batch(stack, http, me, app_id,
                    parts[:4] + part("evidence", "说明.pdf", b"plain words, not a PDF"))
    assert refused.status_code == 422, refused.text
    assert [(e["index"], e["code"]) for e in refused.json()["errors"]] == [
        (1, "upload.type_not_allowed")]
    assert not [e for e in stack.outbox("intake", "document.uploaded")
                if e.payload["payload"]["application_id"] == app_id]
    assert intake.detail(me, app_id)["documents"] == []

    r = batch(stack, http, me, app_id, parts)
    assert r.status_code == 201, r.text
    versions = r.json()["versions"]
    assert [(v["filename"], v["sha256"]) for v in versions] == [
        (name, sha256(data)) for name, data in files.items()]
    assert versions[0]["secret_pages"] == [[2, 2]]

    def inspected(version: dict[str, Any]) -> Callable[[], dict[str, Any] | None]:
        def fetch() -> dict[str, Any] | None:
            res = http.get(f"{stack.public_url}/documents/api/inspections/{version['id']}",
                           headers=me)
            return res.json() if res.status_code == 200 else None
        return fetch

    # The documents service received each version's event and inspected that very file.
    pages = [poll(inspected(v), 120)["pages"] for v in versions]
    assert pages == [3, 1, 5]

    # Its verdicts came back to intake (document.inspected), one per version.
    def verdicts() -> list[dict[str, Any]] | None:
        documents = intake.detail(me, app_id)["documents"]
        found = {d["versions"][0]["id"]: d["versions"][0]["inspection"] for d in documents}
        return [found[v["id"]] for v in versions] if all(found.values()) else None

    assert [v["pages"] for v in poll(verdicts, 120)] == [3, 1, 5]
