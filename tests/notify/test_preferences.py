"""Webhook addresses that point back into the network are refused unless allowed."""

from __future__ import annotations

import pytest

from services.notify.preferences import WebhookUrlRefused, check_webhook_url


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8001/api/ops/dead-letters", "http://localhost/hook",
    "http://10.0.0.5/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/hook",
    "http://192.168.1.20:8080/x"])
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(WebhookUrlRefused) as caught:
        check_webhook_url(url, allow_private=False)
    assert caught.value.code == "notify.webhook_url_refused"
    assert caught.value.zh.startswith("Webhook 地址不可用") and "address" in caught.value.en


def test_an_operator_may_allow_internal_office_systems() -> None:
    check_webhook_url("http://10.0.0.5/hook", allow_private=True)


@pytest.mark.parametrize("url", ["http://user:pw@example.org/hook", "ftp://example.org/x"])
def test_credentials_and_other_schemes_are_refused_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        check_webhook_url(url, allow_private=True)
