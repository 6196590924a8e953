"""Password hashing and rules of browser sign-in (pure functions of intake's credentials)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type

from services.intake.credentials import HASHER, check_password_rules, verify_password
from services.intake.models import Credential
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
        check_password_rules(password, "zhang.wei.01")
    assert raised.value.errors == {"password": [message]}
    check_password_rules("ten chars!", "zhang.wei.01")
