"""Password hashing and rules of browser sign-in (pure functions of intake's credentials)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from services.intake import password_strength
from services.intake.credentials import (
    HASHER,
    check_password_rules,
    personal_details,
    set_password,
    verify_password,
)
from services.intake.models import Account, Credential
from shared.errors import DossierError


def test_hashes_are_argon2id_and_older_parameters_are_rehashed_at_sign_in() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    credential = Credential(subject="s", login_key="s", password_hash=old.hash("a long secret"))
    assert verify_password(credential, "a long secret")
    assert credential.password_hash is not None
    assert credential.password_hash.startswith("$argon2id$")
    assert not HASHER.check_needs_rehash(credential.password_hash)
    assert not verify_password(credential, "a wrong secret")


def test_an_account_without_a_password_never_matches() -> None:
    assert not verify_password(Credential(subject="s", login_key="s"), "")
    assert not verify_password(None, "anything at all")


@pytest.mark.parametrize(("password", "message"), [
    ("short", "The password needs at least 10 characters."),
    ("Zhang.Wei.01", "The password must not be the same as the login name."),
    ("x" * 257, "The password may have at most 256 characters."),
])
def test_password_rules(password: str, message: str) -> None:
    with pytest.raises(DossierError) as raised:
        check_password_rules(password, ["zhang.wei.01"])
    assert raised.value.errors == {"password": [message]}
    check_password_rules("ten chars!", ["zhang.wei.01"])



# -- how guessable (ASVS 2.1.7): zxcvbn's lists, the Chinese-users list, the person's details ----

@pytest.mark.parametrize("password", [
    "1234567890", "password12", "qwertyuiop", "1qaz2wsx3edc", "P@ssw0rd2024", "abc123456789",
    "woaini1314", "Woaini1314!", "5201314abc", "zhangwei123", "aaaaaaaaaaaa", "12121212121212",
])
def test_common_and_breached_passwords_are_refused_with_a_reason_in_words(password: str) -> None:
    with pytest.raises(DossierError) as raised:
        check_password_rules(password, ["org-91140000MA0K00000X"])
    reason, advice = raised.value.errors["password"]  # type: ignore[index]
    assert reason.startswith("This password is too easy to guess")
    assert advice == password_strength.ADVICE


@pytest.mark.parametrize("password", [
    "91140000MA0K1234XY!", "shanxi.quality.2026", "Zhang.Wei@2026",
])
def test_a_password_made_of_the_persons_own_details_is_refused(password: str) -> None:
    details = ["山西示例质量有限公司", "zhang.wei@example.cn", "140902", "shanxi.quality"]
    with pytest.raises(DossierError) as raised:
        check_password_rules(password, ["91140000MA0K1234XY"], details)
    assert raised.value.errors == {"password": [
        password_strength.PERSONAL, password_strength.ADVICE]}


@pytest.mark.parametrize("password", [
    "correct horse 42", "journey passphrase 42", "a new passphrase 7", "红烧狮子头配米饭和青菜汤",
    "Plum-Ginkgo-Harbour-91",
])
def test_passphrases_pass(password: str) -> None:
    check_password_rules(password, ["zhang.wei.01"], ["张伟", "zhang.wei@example.cn"])


def test_setting_a_password_checks_it_against_the_accounts_own_record() -> None:
    account = Account(subject="li.ming", role="expert", name="李明", email="li.ming@uni.example",
                      unit=None, active=True, language="zh-CN")
    credential = Credential(subject="li.ming", login_key="li.ming")
    assert "uni.example" in personal_details(account)[3]
    with pytest.raises(DossierError) as raised:
        set_password(credential, account, "uni.example2026", datetime.now(UTC))
    assert raised.value.errors == {"password": [
        password_strength.PERSONAL, password_strength.ADVICE]}
    assert credential.password_hash is None


def test_every_reason_has_its_chinese_translation() -> None:
    catalogue = (Path(password_strength.__file__).parent / "web" / "translations" / "zh_Hans_CN"
                 / "LC_MESSAGES" / "messages.po").read_text("utf-8")
    for message in (*password_strength.REASONS, password_strength.ADVICE):
        assert f'msgid "{message}"' in catalogue
