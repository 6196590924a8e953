"""Chinese identifiers with check characters: USCC (GB 32100-2015), identity number (GB 11643)."""

from __future__ import annotations

import re
from datetime import date

from shared import clock

# GB 32100: 31 symbols, no I, O, Z, S, V (easily confused with digits).
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def normalise_uscc(code: str) -> str:
    return code.strip().upper()


def is_valid_uscc(code: str) -> bool:
    """True for an 18-character unified social credit code whose check character matches."""
    code = normalise_uscc(code)
    if not _USCC_SHAPE.match(code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalise_id_number(number: str) -> str:
    return number.strip().upper()


def is_valid_id_number(number: str) -> bool:
    """True for an 18-digit resident identity number with a real birth date and check digit."""
    number = normalise_id_number(number)
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > clock.today():
        return False
    return id_check_char(number[:17]) == number[17]
