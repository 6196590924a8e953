"""A sealed set-password link: kept as a placeholder, opened only for the message that leaves."""

from __future__ import annotations

import pytest

from services.notify.messages import render
from services.notify.sealed import HIDDEN, CannotOpen, for_rendering, redact, reveal
from shared.config import load_settings
from shared.crypto import FieldCipher
from shared.messages.intake import INVITATION_LINK_PURPOSE

LINK = "http://127.0.0.1:8000/intake/set-password?token=Zm9vYmFyYmF6cXV4cXV1eHF1dXo"
ENV = {"DOSSIER_SECRET_KEY": "k" * 40, "DOSSIER_S3_ACCESS_KEY": "a", "DOSSIER_S3_SECRET_KEY": "b"}


def invited(link: str = LINK, key: str = "k" * 40) -> dict[str, str]:
    sealed = FieldCipher(load_settings({**ENV, "DOSSIER_SECRET_KEY": key}).field_key(),
                         INVITATION_LINK_PURPOSE).encrypt(link)
    return {"subject": "zhang.wei", "name": "张伟", "link_sealed": sealed,
            "expires_at": "2026-11-28T12:05:00+08:00"}


def test_the_kept_message_shows_a_placeholder_and_the_sent_one_the_link() -> None:
    visible, sealed = for_rendering("account.invited", invited())
    assert sealed is not None and "link_sealed" not in visible
    kept = redact(render("account.invited", visible))  # type: ignore[arg-type]
    for lang in ("zh-CN", "en"):
        assert HIDDEN[lang] in kept.body[lang] and "token=" not in kept.body[lang]
        assert sealed not in kept.body[lang]
    settings = load_settings(ENV)
    title, body = reveal(settings, "account.invited", sealed, "zh-CN", kept.title["zh-CN"],
                         kept.body["zh-CN"])
    assert LINK in body and HIDDEN["zh-CN"] not in body and title == kept.title["zh-CN"]
    [body_en] = reveal(settings, "account.invited", sealed, "en", kept.body["en"])
    assert LINK in body_en


def test_a_link_sealed_with_another_key_is_not_opened() -> None:
    _, sealed = for_rendering("account.invited", invited(key="x" * 40))
    with pytest.raises(CannotOpen):
        reveal(load_settings(ENV), "account.invited", sealed, "zh-CN", "text")


def test_events_without_a_sealed_field_pass_unchanged() -> None:
    payload = {"cycle": "2026", "link": "http://example.org/x"}
    assert for_rendering("packet.checked", payload) == (payload, None)
    assert reveal(load_settings(ENV), "packet.checked", None, "en", "a", "b") == ["a", "b"]
