"""How guessable a new password is (OWASP ASVS 2.1.7): zxcvbn, offline, over its own frequency
lists (common passwords, words, names) plus a list of passwords common among Chinese users, and
the person's own details.

The bar is zxcvbn's score 3, about 10^8 guesses or more: with argon2id at tens of milliseconds a
guess that is years of one core per account for someone holding a stolen hash, and online the
sign-in throttle allows five tries in fifteen minutes. Score 2 (10^6 to 10^8) still lets through
passwords such as `woaini1314`. A password refused is explained by what made it weak, in words,
not by the score.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from zxcvbn import zxcvbn
from zxcvbn.matching import RANKED_DICTIONARIES, add_frequency_lists

from shared.web.nav import N_

MIN_SCORE = 3
COMMON_LIST = Path(__file__).parent / "data" / "common_passwords_zh.txt"
_LIST_NAME = "dossier_common_zh"
# zxcvbn's run time grows with length; the part past this still counts towards the length rule,
# and 100 characters of anything not repeated score 4 anyway.
_SCORED_CHARACTERS = 100

TOO_COMMON = N_("This password is too easy to guess: it is on lists of common or leaked "
                "passwords.")
PERSONAL = N_("This password is too easy to guess: it contains your own details (login name, "
              "name, e-mail, unit or identity number).")
KEYBOARD = N_("This password is too easy to guess: it follows rows of keys on the keyboard.")
REPEATS = N_("This password is too easy to guess: it repeats the same characters or words.")
SEQUENCE = N_("This password is too easy to guess: it is a sequence such as abc or 6543.")
DATES = N_("This password is too easy to guess: it contains a date or a year.")
WORDS = N_("This password is too easy to guess: it is a common word or name with little "
           "added.")
GENERIC = N_("This password is too easy to guess.")
ADVICE = N_("Use a longer passphrase of several uncommon words; a capital letter, a digit or a "
            "symbol added to a common word helps little.")


@cache
def common_passwords() -> tuple[str, ...]:
    """The Chinese-users list, most common first; registered with zxcvbn once per process."""
    words = tuple(line.strip().lower() for line in COMMON_LIST.read_text("utf-8").splitlines()
                  if line.strip() and not line.startswith("#"))
    if _LIST_NAME not in RANKED_DICTIONARIES:
        add_frequency_lists({_LIST_NAME: list(words)})
    return words


def _reason(match: dict[str, Any]) -> str | None:
    pattern = match.get("pattern")
    if pattern == "dictionary":
        source = match.get("dictionary_name")
        if source == "user_inputs":
            return PERSONAL
        if source in ("passwords", _LIST_NAME):
            return TOO_COMMON
        return WORDS
    return {"spatial": KEYBOARD, "repeat": REPEATS, "sequence": SEQUENCE, "date": DATES,
            "regex": DATES}.get(str(pattern))


# The first that applies is the one shown: one clear reason reads better than a list.
REASONS = (PERSONAL, TOO_COMMON, KEYBOARD, REPEATS, SEQUENCE, DATES, WORDS, GENERIC)


def personal_inputs(details: Iterable[str | None]) -> list[str]:
    """The person's details as zxcvbn's user inputs: each whole, an e-mail's two halves, and
    each joined and cut at separators (`zhang.wei@example.cn` also gives `zhang.wei`,
    `zhangweiexamplecn`, `zhang`, `wei`, `example`); pieces under 3 characters are left out."""
    inputs: set[str] = set()
    for detail in details:
        text = (detail or "").strip().lower()
        if not text:
            continue
        inputs.update({text, *text.split("@")})
        for sep in "@.-_ *":
            text = text.replace(sep, " ")
        inputs.add(text.replace(" ", ""))
        inputs.update(part for part in text.split() if len(part) >= 3)
    return sorted(inputs)


def weaknesses(password: str, details: Iterable[str | None] = ()) -> list[str]:
    """Empty when the password is strong enough; otherwise why it is not, and what to do."""
    common = common_passwords()
    if password.strip().lower() in common:
        return [TOO_COMMON, ADVICE]
    result = zxcvbn(password[:_SCORED_CHARACTERS], user_inputs=personal_inputs(details))
    if result["score"] >= MIN_SCORE:
        return []
    found = {_reason(m) for m in result["sequence"]}
    reason = next((r for r in REASONS if r in found), GENERIC)
    return [reason, ADVICE]
