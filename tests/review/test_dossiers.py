"""Dossier pull over the running stack: pledge, watermarks, recusal cutting access, 404s."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
import requests
from pypdf import PdfReader
from reviewstack import ReviewDriver
from samples import text_pdf

from services.review.watermark import FONT_CANDIDATES


def _zip(review: ReviewDriver, headers: dict[str, str], app_id: str) -> zipfile.ZipFile:
    r = review.http.get(f"{review.url}/dossiers/{app_id}/download", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(r.content))


def _pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_trade_secret_pdfs_are_watermarked_on_every_page_after_the_pledge_and_public_ones_not(
        review: ReviewDriver) -> None:
    review.cycle_saved()
    public = text_pdf(["public page one", "public page two"])
    secret = text_pdf([f"secret formula page {i}" for i in range(1, 5)])
    app_id = f"wm-{review.cycle}"
    docs = [review.document(app_id, "overview", "组织概述.pdf", public),
            review.document(app_id, "evidence", "工艺配方.pdf", secret,
                            confidentiality="trade-secret")]
    review.accept("忻州水印测试有限公司", credit_code="91140900WMARK0001", app_id=app_id,
                  documents=docs)
    review.wait_applications(1)
    expert = review.expert(f"exp-wm-{review.cycle}", "山西大学", name="刘评审")
    outsider = review.expert(f"exp-out-{review.cycle}", "太原理工大学")
    panel = review.panel("material", 1, 5, [expert["id"]])
    r = review.http.post(f"{review.url}/panels/{panel['id']}/assign", headers=review.operator)
    assert r.status_code == 201, r.text
    me = review.auth("expert", expert["subject"])

    # Before the pledge: public documents only, the trade secret held back and named.
    listed = review.http.get(f"{review.url}/my/dossiers", headers=me).json()
    [dossier] = [d for d in listed["items"] if d["application_id"] == app_id]
    assert dossier["acknowledged"] is False
    assert {d["filename"]: d["available"] for d in dossier["documents"]} == {
        "组织概述.pdf": True, "工艺配方.pdf": False}
    archive = _zip(review, me, app_id)
    assert [n for n in archive.namelist() if n.endswith(".pdf")] == ["overview/v1-组织概述.pdf"]
    assert "工艺配方.pdf" in archive.read("README.txt").decode()
    r = review.http.get(f"{review.url}/dossiers/{app_id}/documents/{docs[1]['document_id']}",
                        headers=me)
    assert r.status_code == 403
    assert r.json()["code"] == "dossier.confidentiality_not_acknowledged"

    r = review.http.post(f"{review.url}/dossiers/{app_id}/acknowledge", headers=me,
                         json={"accept": True})
    assert r.status_code == 200 and r.json()["acknowledged"] is True

    archive = _zip(review, me, app_id)
    stamped = _pages(archive.read("evidence/v1-工艺配方.pdf"))
    assert len(stamped) == 4
    for i, page in enumerate(stamped, start=1):
        assert f"secret formula page {i}" in page
        assert expert["subject"] in page and "刘评审" in page and "北京时间" in page
    if any(os.path.isfile(p) for p in FONT_CANDIDATES):
        # The name is drawn in an embedded CJK subset, not a font the viewer has to supply.
        for page in PdfReader(io.BytesIO(archive.read("evidence/v1-工艺配方.pdf"))).pages:
            descriptors = [d.get_object()["/FontDescriptor"] for f in
                           page["/Resources"]["/Font"].values()
                           for d in [f.get_object(), *f.get_object().get("/DescendantFonts", [])]
                           if "/FontDescriptor" in d.get_object()]
            assert any("/FontFile2" in d or "/FontFile3" in d for d in descriptors)
    assert archive.read("overview/v1-组织概述.pdf") == public  # untouched, byte for byte
    assert all(expert["subject"] not in page for page in _pages(public))

    single = review.http.get(
        f"{review.url}/dossiers/{app_id}/documents/{docs[1]['document_id']}", headers=me)
    assert single.status_code == 200
    assert all(expert["subject"] in p for p in _pages(single.content))

    # An expert not on this dossier learns nothing: 404, not 403.
    other = review.auth("expert", outsider["subject"])
    for path in (f"/dossiers/{app_id}", f"/dossiers/{app_id}/download",
                 f"/dossiers/{app_id}/documents/{docs[0]['document_id']}"):
        r = review.http.get(f"{review.url}{path}", headers=other)
        assert r.status_code == 404, path
    denials = review.stack.query(
        "review", "SELECT role, target FROM audit_log WHERE action = 'access.denied' "
        "AND actor = :a", a=outsider["subject"])
    assert [(row.role, row.target) for row in denials] == [("expert", f"application:{app_id}")] * 3

    # The supervision group reads every dossier, trade secrets stamped with its own name.
    archive = _zip(review, review.supervisor, app_id)
    assert all("sup-review" in p for p in _pages(archive.read("evidence/v1-工艺配方.pdf")))
    assert review.http.get(f"{review.url}/dossiers/{app_id}/download",
                           headers=review.operator).status_code == 403

    actions = [(actor, action) for actor, action, target in review.audit_actions()
               if target in {f"application:{app_id}", f"document:{docs[1]['document_id']}"}]
    assert (expert["subject"], "dossier.downloaded") in actions
    assert (expert["subject"], "dossier.acknowledged") in actions
    assert (expert["subject"], "document.downloaded") in actions
    assert ("sup-review", "dossier.downloaded") in actions


def test_recusal_ends_access_on_the_next_request_and_proposes_a_replacement_only_there(
        review: ReviewDriver) -> None:
    review.cycle_saved()
    pdf = text_pdf(["a", "b"])
    apps = []
    for i, name in enumerate(("忻州甲公司", "忻州乙公司")):
        app_id = f"rc{i}-{review.cycle}"
        docs = [review.document(app_id, "overview", "a.pdf", pdf),
                review.document(app_id, "evidence", "b.pdf", pdf)]
        apps.append(review.accept(name, app_id=app_id, documents=docs))
    review.wait_applications(2)
    experts = [review.expert(f"exp-rc{i}-{review.cycle}", f"评审单位{i}") for i in range(3)]
    panel = review.panel("material", 2, 2, [e["id"] for e in experts])
    r = review.http.post(f"{review.url}/panels/{panel['id']}/assign", headers=review.operator)
    assert r.status_code == 201, r.text
    before = {(a["application_id"], a["expert_subject"]) for a in r.json()["items"]}
    assert len(before) == 4

    leaving_app, leaving = sorted(before)[0]
    me = review.auth("expert", leaving)
    detail = review.http.get(f"{review.url}/dossiers/{leaving_app}", headers=me).json()
    first = review.http.get(f"{review.url}/dossiers/{leaving_app}/documents/"
                            f"{detail['documents'][0]['document_id']}", headers=me)
    assert first.status_code == 200

    # The expert declares a conflict mid-download: the very next request is refused.
    r = review.http.post(f"{review.url}/conflicts", headers=me, json={
        "application_id": leaving_app, "ground": "adviser", "reason": "去年为其提供过咨询"})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "expert"
    second = review.http.get(f"{review.url}/dossiers/{leaving_app}/documents/"
                             f"{detail['documents'][1]['document_id']}", headers=me)
    assert second.status_code == 404
    assert review.http.get(f"{review.url}/dossiers/{leaving_app}/download",
                           headers=me).status_code == 404
    listed = review.http.get(f"{review.url}/my/dossiers", headers=me).json()["items"]
    assert leaving_app not in {d["application_id"] for d in listed}

    rows = review.http.get(f"{review.url}/assignments", headers=review.operator,
                           params={"panel_id": panel["id"], "per_page": 50}).json()["items"]
    active = {(a["application_id"], a["expert_subject"]) for a in rows if a["status"] == "active"}
    assert active == before - {(leaving_app, leaving)}  # nobody else moved
    [proposal] = [a for a in rows if a["status"] == "proposed"]
    assert proposal["application_id"] == leaving_app
    assert proposal["expert_subject"] != leaving
    assert (leaving_app, proposal["expert_subject"]) not in before

    [recusal] = [p for p in review.outbox("recusal.recorded")
                 if p["application_id"] == leaving_app]
    assert recusal["expert"] == leaving and recusal["ground"] == "adviser"
    assert recusal["replacement"] == proposal["expert_subject"]

    newcomer = review.auth("expert", proposal["expert_subject"])
    assert review.http.get(f"{review.url}/dossiers/{leaving_app}",
                           headers=newcomer).status_code == 404  # not until confirmed
    r = review.http.post(f"{review.url}/assignments/{proposal['id']}/confirm",
                         headers=review.operator)
    assert r.status_code == 200, r.text
    assert review.http.get(f"{review.url}/dossiers/{leaving_app}",
                           headers=newcomer).status_code == 200


def test_a_zip_being_streamed_stops_at_the_next_file_once_the_expert_is_recused(
        review: ReviewDriver) -> None:
    review.cycle_saved()
    app_id = f"mid-{review.cycle}"
    size = 8 * 1024 * 1024
    # Incompressible files, larger together than any socket buffer, so the stream is still
    # running when the recusal lands.
    docs = [review.document(app_id, "evidence", f"scan-{i}.pdf", os.urandom(size))
            for i in range(6)]
    review.accept("忻州流式下载测试公司", app_id=app_id, documents=docs)
    review.wait_applications(1)
    expert = review.expert(f"exp-mid-{review.cycle}", "山西大学")
    panel = review.panel("material", 1, 5, [expert["id"]])
    assert review.http.post(f"{review.url}/panels/{panel['id']}/assign",
                            headers=review.operator).status_code == 201
    me = review.auth("expert", expert["subject"])

    with requests.get(f"{review.url}/dossiers/{app_id}/download", headers=me,
                      stream=True, timeout=60) as r:
        assert r.status_code == 200
        chunks = r.iter_content(256 * 1024)
        received = next(chunks)
        recusal = review.http.post(f"{review.url}/conflicts", headers=review.operator, json={
            "expert_id": expert["id"], "application_id": app_id, "ground": "ownership",
            "reason": "下载途中发现持有该公司股份"})
        assert recusal.status_code == 201, recusal.text
        cut = False
        try:
            for chunk in chunks:
                received += chunk
        except (requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ConnectionError):
            cut = True
    assert cut  # the server ended the stream instead of finishing the archive
    assert len(received) < 6 * size
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(received))
