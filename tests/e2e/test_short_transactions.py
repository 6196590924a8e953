"""No transaction spans slow work, in any service: representative flows run on a stack whose
processes record every network call, child process and object-store call made inside a writer
transaction (`DOSSIER_TXN_GUARD`, shared/txnguard.py); none may be recorded."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from intake.flows import Intake, unique
from notify.notify_support import MailSink
from review.reviewstack import ReviewDriver
from samples import blank_pdf, text_pdf
from waiting import poll

from dossier.localstack import AppStack, BackingServers, free_port_block
from services.intake import invitations
from shared.auth import issue_token
from shared.config import load_settings
from shared.web.sessions import COOKIE, SessionStore

pytestmark = pytest.mark.stack


@pytest.fixture
def guarded(backing: BackingServers, workdir: Path) -> Iterator[tuple[AppStack, MailSink]]:
    sink = MailSink(port=free_port_block(1))
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    # SQLite, where a writer transaction holds the whole file's write lock.
    apps = AppStack(backing, workdir / "guarded", database="sqlite", redis_db=10,
                    with_proxy=False, extra_env={
                        "DOSSIER_NOTIFY_SMTP_HOST": "127.0.0.1",
                        "DOSSIER_NOTIFY_SMTP_PORT": str(sink.port),
                        "DOSSIER_OUTBOX_POLL_SECONDS": "0.1"})
    try:
        assert apps.env()["DOSSIER_TXN_GUARD"] == "true"
        apps.start()
        yield apps, sink
    finally:
        apps.stop()
        controller.stop()


def violations(stack: AppStack) -> list[dict[str, Any]]:
    report = stack.root / "txn-guard.jsonl"
    if not report.exists():
        return []
    return [json.loads(line) for line in report.read_text().splitlines() if line.strip()]


def test_uploads_inspections_reports_mail_and_dossier_zips_hold_no_transaction_over_slow_work(
        guarded: tuple[AppStack, MailSink]) -> None:
    stack, mail = guarded
    with requests.Session() as http:
        intake = Intake(stack, http)
        cycle = intake.open_cycle()["id"]
        intake.requirements(cycle)

        # Upload → documents downloads and inspects it (the inbox's slow step) → report read.
        me = intake.as_("applicant", unique("a"))
        r = intake.create(me, cycle)
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        r = intake.upload(me, app_id, "自评报告.pdf", text_pdf(["self evaluation"] * 3))
        assert r.status_code == 201, r.text
        version = r.json()
        documents = stack.url("documents")
        inspected = poll(lambda: http.get(f"{documents}/api/inspections/{version['id']}",
                                          headers=me).status_code == 200, 90)
        assert inspected
        r = http.get(f"{documents}/api/applications/{app_id}/completeness", headers=me)
        assert r.status_code == 200, r.text
        # Re-tagging and deleting talk to the store outside the writing transaction.
        r = intake.call("PATCH", f"/applications/{app_id}/documents/{version['document_id']}",
                        me, json={"confidentiality": "trade-secret"})
        assert r.status_code == 200, r.text
        r = intake.upload(me, app_id, "多余.pdf", blank_pdf(1), requirement="evidence")
        assert r.status_code == 201, r.text
        r = intake.call("DELETE", f"/applications/{app_id}/documents/{r.json()['document_id']}",
                        me)
        assert r.status_code == 204, r.text
        # Submission freezes the objects (S3 retention) before its transaction.
        r = intake.upload(me, app_id, "内部公示证明.pdf", blank_pdf(1),
                          requirement="publicity-proof")
        assert r.status_code == 201, r.text
        assert intake.publicity(me, app_id, r.json()["document_id"]).status_code == 200
        r = intake.submit(me, app_id)
        assert r.status_code == 200, r.text

        # An invitation e-mail: intake's event, notify's SMTP delivery.
        address = f"{unique('inv')}@example.org"
        invitations.invite(load_settings(stack.env()), role="expert", subject=unique("exp"),
                           name="王专家", email=address)
        assert poll(lambda: mail.to(address), 90)

        # A dossier ZIP streamed from the store.
        def auth(role: str, subject: str) -> dict[str, str]:
            return {"Authorization": "Bearer " + issue_token(
                stack.secret_key, subject=subject, role=role, ttl_seconds=3600)}

        review = ReviewDriver(stack, auth, http)
        try:
            review.cycle_saved()
            zipped_app = f"zip-{review.cycle}"
            docs = [review.document(zipped_app, "overview", "组织概述.pdf", blank_pdf(2))]
            review.accept("忻州事务测试有限公司", app_id=zipped_app, documents=docs)
            review.wait_applications(1)
            expert = review.expert(f"exp-txn-{review.cycle}", "太原理工大学")
            panel = review.panel("material", 1, 5, [expert["id"]])
            assert http.post(f"{review.url}/panels/{panel['id']}/assign",
                             headers=review.operator).status_code == 201
            r = http.get(f"{review.url}/dossiers/{zipped_app}/download",
                         headers=review.auth("expert", expert["subject"]))
            assert r.status_code == 200, r.text
            assert len(zipfile.ZipFile(io.BytesIO(r.content)).namelist()) == 2
            # The expert's dossier page (it counts pages from the stored PDF) and a page drawn.
            me = review.auth("expert", expert["subject"])
            assert http.post(f"{review.url}/dossiers/{zipped_app}/acknowledge", headers=me,
                             json={"accept": True}).status_code == 200
            client = redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"])
            session = SessionStore(client, idle=3600, absolute=7200).create(
                subject=expert["subject"], role="expert", name="专家", scope=None)
            client.close()
            page = http.get(f"{stack.url('review')}/dossiers/{zipped_app}",
                            cookies={COOKIE: session.sid})
            assert page.status_code == 200, page.text[:300]
            document_id = docs[0]["document_id"]
            png = http.get(f"{stack.url('review')}/dossiers/{zipped_app}/documents/"
                           f"{document_id}/pages/1.png", cookies={COOKIE: session.sid})
            assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
        finally:
            review.sender.close()

    found = violations(stack)
    assert found == [], "\n\n".join(f"{v['what']}\n{v['stack']}" for v in found[:5])
