"""What an upload is, from its first bytes: the cases real files bring."""

from __future__ import annotations

import pytest

from services.intake.filetypes import ALLOWED_ZIP, check_upload
from shared.errors import DossierError

# A ZIP whose first member is a thumbnail, as some office suites write it: the Word parts
# come later than the bytes the sniffer sees.
THUMB_FIRST_ZIP = b"PK\x03\x04" + b"\x14\x00" * 8 + b"docProps/thumbnail.jpeg" + b"\x00" * 8000


@pytest.mark.parametrize(("name", "head", "expected"), [
    ("申报表.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
    ("扫描件.pdf", b"\xef\xbb\xbf\r\n" * 20 + b"%PDF-1.4\n", "application/pdf"),  # junk first
    ("自评报告.docx", b"PK\x03\x04....[Content_Types].xml", ALLOWED_ZIP),
    ("自评报告.docx", THUMB_FIRST_ZIP, ALLOWED_ZIP),
    ("营业执照.tif", b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    ("营业执照.TIFF", b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    ("照片.JPG", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    ("无扩展名", b"\x89PNG\r\n\x1a\n", "image/png"),
])
def test_accepted_types_are_judged_by_content(name: str, head: bytes, expected: str) -> None:
    assert check_upload(name, head) == expected


@pytest.mark.parametrize(("name", "head", "code"), [
    ("资料.zip", THUMB_FIRST_ZIP, "upload.type_not_allowed"),  # a bare ZIP is no document
    ("申报表.pdf", THUMB_FIRST_ZIP, "upload.type_not_allowed"),
    ("申报表.pdf", b"II*\x00\x08\x00\x00\x00", "upload.type_mismatch"),
    ("申报表.pdf", b"%!PS-Adobe-3.0", "upload.type_not_allowed"),
    ("申报表.pdf", b"", "upload.empty"),
])
def test_other_content_is_refused_with_its_own_code(name: str, head: bytes, code: str) -> None:
    with pytest.raises(DossierError) as caught:
        check_upload(name, head)
    assert caught.value.code == code
