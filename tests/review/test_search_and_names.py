"""What a person types or uploads, taken literally: search boxes and file names."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from inprocess import service_app

from dossier.localstack import BackingServers
from services.review.dossiers import entry_name
from services.review.models import Expert
from services.review.ziparchive import stream_zip
from shared.filenames import content_disposition, safe_filename

RLO = "\u202e"


def _expert(name: str, organisation: str) -> Expert:
    return Expert(id=str(uuid.uuid4()), subject=f"e-{uuid.uuid4().hex[:8]}", name=name,
                  organisation=organisation, fields=[], county=None, email=None,
                  created_at=datetime.now(UTC), language="zh-CN", active=True)


def test_a_percent_or_underscore_in_the_expert_search_matches_only_itself(
        backing: BackingServers, tmp_path: Path) -> None:
    review = service_app(backing, tmp_path, "review")
    with review.ctx.db.session() as session:
        session.add_all([_expert("王力", "太原理工大学"), _expert("李明", "50%检测中心"),
                         _expert("张_工", "山西省计量院")])
    staff = review.auth("operator", "op-1")

    def names(q: str) -> list[str]:
        r = review.client.get("/api/experts", query_string={"q": q}, headers=staff)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert r.get_json() is not None, (r.headers, r.get_data(as_text=True)[:300])
        return sorted(item["name"] for item in r.get_json()["items"])

    assert names("%") == ["李明"]
    assert names("_") == ["张_工"]
    assert names("理工") == ["王力"]


@pytest.mark.parametrize(("uploaded", "shown"), [
    (f"申报书{RLO}fdp.exe", "申报书fdp.exe"),
    ("报告\u2066exe.\u2069pdf", "报告exe.pdf"),
    ("第一行\r\nContent-Type: text/html", "第一行__Content-Type_ text_html"),
    ("..\\..\\etc\\passwd", "_.._etc_passwd"),
    ("零宽\u200b空格\ufeff.docx", "零宽空格.docx"),
])
def test_download_names_lose_bidi_and_control_characters_and_keep_chinese(
        uploaded: str, shown: str) -> None:
    assert safe_filename(uploaded) == shown
    header = content_disposition(uploaded)
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert "%E2%80%AE" not in header  # U+202E percent-encoded would come back in the browser
    assert header.startswith('attachment; filename="')
    assert "filename*=UTF-8''" in header


def test_the_rfc_5987_name_round_trips_chinese() -> None:
    from urllib.parse import unquote
    header = content_disposition("山西 示例(2026);版.pdf")
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert ";" not in encoded and " " not in encoded and "(" not in encoded
    assert unquote(encoded) == "山西 示例(2026);版.pdf"


def test_zip_entries_of_a_dossier_carry_no_bidi_override_or_path_tricks() -> None:
    name = entry_name({"requirement": f"app{RLO}lication", "number": 2,
                       "filename": f"简历{RLO}fdp.exe", "document_id": "d1"})
    assert name == "application/v2-简历fdp.exe"
    archive = b"".join(stream_zip([
        (name, lambda: [b"one"]),
        (f"../../outside{RLO}.txt", lambda: [b"two"]),
        ("/abs/\x07bell.txt", lambda: [b"three"]),
    ]))
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert z.namelist() == ["application/v2-简历fdp.exe", "outside.txt", "abs/_bell.txt"]
        assert z.read("outside.txt") == b"two"
