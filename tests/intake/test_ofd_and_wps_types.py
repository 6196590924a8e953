"""OFD uploads are accepted like DOCX; WPS Office files are refused with how to export them."""

from __future__ import annotations

import pytest

from services.intake.filetypes import OFD, check_upload, type_label
from services.intake.resumable import content_type_for
from shared.errors import DossierError

# An OFD package as writers lay it out: OFD.xml first.
OFD_HEAD = b"PK\x03\x04" + b"\x14\x00" * 8 + b"OFD.xml" + b"\x00" * 200
# One whose first entry is a resource: only its name says what it is (documents checks it).
RESOURCE_FIRST = b"PK\x03\x04" + b"\x14\x00" * 8 + b"Doc_0/Res/image_1.png" + b"\x00" * 200


@pytest.mark.parametrize(("name", "head"), [("电子证照.ofd", OFD_HEAD), ("无扩展名", OFD_HEAD),
                                            ("电子发票.OFD", RESOURCE_FIRST)])
def test_an_ofd_upload_is_accepted(name: str, head: bytes) -> None:
    assert check_upload(name, head) == OFD
    assert type_label(OFD) == "OFD document"


def test_an_ofd_named_as_a_pdf_is_refused_as_a_mismatch() -> None:
    with pytest.raises(DossierError) as caught:
        check_upload("申报表.pdf", OFD_HEAD)
    assert caught.value.code == "upload.type_mismatch"


def test_a_resumable_upload_of_an_ofd_is_created_with_its_type() -> None:
    assert content_type_for("电子证照.ofd") == OFD


@pytest.mark.parametrize("name", ["申报书.wps", "财务报表.ET", "汇报.dps", "模板.wpt"])
def test_a_wps_file_is_refused_with_how_to_export_it_whatever_its_content(name: str) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    for refuse in (lambda: check_upload(name, ole), lambda: check_upload(name, b"%PDF-1.7\n"),
                   lambda: content_type_for(name)):
        with pytest.raises(DossierError) as caught:
            refuse()
        error = caught.value
        assert error.code == "upload.wps_format"
        assert error.status == 415
        assert "另存为" in error.zh and "PDF 或 DOCX" in error.zh
        assert "Save As" in error.en and "PDF or DOCX" in error.en
