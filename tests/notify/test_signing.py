"""Webhook signatures verify only for the untampered body, the right secret, a fresh time."""

from __future__ import annotations

import time

from services.notify.signing import new_secret, signature, verify


def test_a_signature_verifies_for_the_exact_body_and_secret() -> None:
    secret, body = new_secret(), '{"title":"申报已受理"}'.encode()
    header = signature(secret, int(time.time()), body)
    assert verify(secret, header, body)
    assert not verify(secret, header, body + b" ")
    assert not verify(new_secret(), header, body)


def test_an_old_signature_is_refused_as_a_replay() -> None:
    secret, body = new_secret(), b"{}"
    header = signature(secret, int(time.time()) - 3600, body)
    assert not verify(secret, header, body)
    assert verify(secret, header, body, tolerance=7200)


def test_a_malformed_header_is_refused() -> None:
    assert not verify(new_secret(), "v1=abc", b"{}")
    assert not verify(new_secret(), "t=notanumber,v1=abc", b"{}")
