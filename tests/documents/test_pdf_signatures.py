"""PDF digital signatures, read in the sandboxed inspection: valid, invalid, or unverifiable."""

from __future__ import annotations

from typing import Any

import builders as b
import signed_files as sf
from conftest import Inspect

from services.documents.signatures import printed, words


def only(verdict: dict[str, Any]) -> dict[str, Any]:
    assert verdict["ok"] is True, verdict["error"]
    [signature] = verdict["signatures"]
    return signature


def test_a_pdf_signed_by_a_known_key_is_valid_with_signer_page_and_time(
        inspect: Inspect) -> None:
    signature = only(inspect(sf.signed_pdf(page=2, pages=3)))
    assert signature["state"] == "valid"
    assert signature["reason"] == "signature.intact"
    assert signature["pages"] == [2]
    assert signature["covers_whole_file"] is True
    assert signature["changed_after_signing"] is False
    assert signature["intact"] is True
    assert sf.SIGNER_NAME in signature["signer"]
    assert signature["signing_time"]
    # No trust list: a valid signature never claims a trusted chain, and says so in words.
    assert signature["trusted"] is False
    assert "证书未经信任链验证" in words(signature)


def test_a_signed_pdf_changed_in_place_afterwards_is_invalid(inspect: Inspect) -> None:
    signature = only(inspect(sf.tampered(sf.signed_pdf())))
    assert signature["state"] == "invalid"
    assert signature["reason"] == "signature.digest_mismatch"
    assert signature["intact"] is False
    assert "证书未经信任链验证" not in words(signature)


def test_a_signed_pdf_whose_page_was_replaced_by_a_later_update_is_invalid(
        inspect: Inspect) -> None:
    signature = only(inspect(sf.modified_after_signing(sf.signed_pdf())))
    assert signature["state"] == "invalid"
    assert signature["reason"] == "signature.modified_after"
    assert signature["covers_whole_file"] is False
    assert signature["changed_after_signing"] is True


def test_a_second_signature_added_later_leaves_the_first_valid(inspect: Inspect) -> None:
    twice = sf.signed_pdf(page=1, base=sf.signed_pdf(page=2), field="第二签章")
    first, second = inspect(twice)["signatures"]
    assert (first["state"], first["reason"]) == ("valid", "signature.later_signatures")
    assert first["covers_whole_file"] is False
    assert (second["state"], second["reason"]) == ("valid", "signature.intact")
    assert (first["pages"], second["pages"]) == ([2], [1])


def test_an_unsigned_pdf_has_no_signatures(inspect: Inspect) -> None:
    verdict = inspect(b.report_pdf())
    assert verdict["ok"] is True
    assert verdict["signatures"] == []
    assert printed(verdict["signatures"]) == ["无数字签名"]


def test_an_sm2_seal_is_reported_as_one_we_cannot_verify_never_as_valid(
        inspect: Inspect) -> None:
    signature = only(inspect(sf.gm_signed_pdf()))
    assert signature["state"] == "unverifiable"
    assert signature["reason"] == "signature.sm2"
    assert signature["pages"] == [1]
    assert "无法验证" in words(signature)
    assert "cannot verify" in words(signature, "en")


def test_an_encrypted_pdf_says_its_signatures_were_not_checked(inspect: Inspect) -> None:
    verdict = inspect(b.encrypted_pdf(""))
    assert verdict["ok"] is True and verdict["encrypted"] is True
    assert "pdf.signatures_not_read" in verdict["warnings"]
