"""An OFD through the whole stack: intake accepts it, documents inspects it in the sandbox
(pages, text, classification marks, its SM2 seal) and the viewer shows its text; a WPS file is
refused at the door with how to export it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from documents.ofd_files import ofd_file
from intake.flows import Intake, unique
from waiting import poll

from dossier.localstack import AppStack

pytestmark = pytest.mark.stack

PAGES = [["忻州市示例机械有限公司营业执照", "统一社会信用代码见证照"], ["第二页 秘密★"]]


def test_an_ofd_is_accepted_inspected_and_its_text_shown(
        stack: AppStack, browser_login: Callable[..., Any]) -> None:
    with requests.Session() as http:
        intake = Intake(stack, http)
        cycle = str(intake.open_cycle()["id"])
        owner = unique("appl")
        me = intake.as_("applicant", owner)
        created = intake.create(me, cycle)
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]

        r = intake.upload(me, app_id, "营业执照.ofd", ofd_file(PAGES, signed=True),
                          requirement="application-form")
        assert r.status_code == 201, r.text
        version = r.json()
        assert version["content_type"] == "application/ofd"

        def inspected() -> dict[str, Any] | None:
            got = http.get(f"{stack.url('documents')}/api/inspections/{version['id']}",
                           headers=me)
            return got.json() if got.status_code == 200 else None

        inspection = poll(inspected, 90)
        assert (inspection["ok"], inspection["format"], inspection["pages"]) == \
            (True, "ofd", 2)
        assert inspection["text_layer"] is True
        assert inspection["classification_marks"] == ["秘密★"]
        [seal] = inspection["details"]["signatures"]
        assert (seal["format"], seal["state"], seal["reason"]) == \
            ("ofd", "unverifiable", "signature.sm2")
        assert seal["intact"] is True and seal["pages"] == [1]

        # The completeness checklist judges it like any accepted file (here: the mark).
        def judged() -> dict[str, Any] | None:
            got = http.get(f"{stack.url('documents')}/api/applications/{app_id}/completeness",
                           headers=me)
            if got.status_code != 200:
                return None
            items = {i["requirement"]: i for i in got.json()["items"]}
            form = items.get("application-form")
            return form if form and form["status"] != "pending" else None

        form = poll(judged, 60)
        assert form["status"] == "invalid"
        assert [r["code"] for r in form["reasons"]] == ["classified"]

        # Its pages cannot be drawn: the viewer shows the text the inspection read.
        page = browser_login("applicant", owner, "申报人").get(
            f"/documents/packets/{app_id}/documents/{version['document_id']}?lang=zh-CN")
        assert page.status_code == 200, page.text
        assert "data-preview" in page.text and PAGES[0][0] in page.text
        # Its seal is listed in words: found, not verifiable here, never "valid".
        assert "data-signatures" in page.text and "签名无法验证" in page.text
        assert "2026-11-30 17:30" in page.text  # the seal's time, in Beijing time

        refused = intake.upload(me, app_id, "申报书.wps", b"\xd0\xcf\x11\xe0" + b"\x00" * 600,
                                requirement="application-form")
        assert refused.status_code == 415
        problem = refused.json()
        assert problem["code"] == "upload.wps_format"
        assert "另存为" in problem["messages"]["zh-CN"]
