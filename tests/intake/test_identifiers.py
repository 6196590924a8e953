"""Check characters of unified social credit codes (GB 32100) and identity numbers (GB 11643)."""

from __future__ import annotations

import pytest

from services.intake.identifiers import is_valid_id_number, is_valid_uscc

# Published examples whose check characters are known to be right.
REAL_USCC = ("91350100M000100Y43", "91110000600037341L")


@pytest.mark.parametrize("code", REAL_USCC)
def test_a_real_credit_code_is_accepted(code: str) -> None:
    assert is_valid_uscc(code)
    assert is_valid_uscc(code.lower())  # people type them in lower case


@pytest.mark.parametrize("code", REAL_USCC)
def test_a_credit_code_with_any_other_check_character_is_refused(code: str) -> None:
    for other in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if other != code[-1]:
            assert not is_valid_uscc(code[:-1] + other)


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433",
                                  "91350100M00010OY43", "9135010OM000100Y43", "91350100M0001 0Y4"])
def test_a_credit_code_of_the_wrong_shape_or_alphabet_is_refused(code: str) -> None:
    assert not is_valid_uscc(code)


def test_an_identity_number_with_its_check_digit_is_accepted() -> None:
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("11010519491231002x")


def test_an_identity_number_with_a_wrong_check_digit_is_refused() -> None:
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("440524188001010014")  # born before 1900: a typo


@pytest.mark.parametrize("number", ["11010519491331002X", "110105194902300028",
                                    "1101051949123100", "11010519491231002Y",
                                    "110105299912310024"])
def test_an_identity_number_with_an_impossible_birth_date_or_shape_is_refused(
        number: str) -> None:
    assert not is_valid_id_number(number)
