"""Forwarded headers are believed only from the proxy (in-process: the WSGI middleware alone;
tests/web/test_proxy.py shows the same through nginx and the services)."""

from __future__ import annotations

from typing import Any

from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from shared.web.forwarded import PROXY_HEADER, TrustedProxyFix, proxy_secret

KEY = "a secret key for this test"
FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Prefix": "/intake",
             "X-Forwarded-Proto": "https"}


def _seen(environ: dict[str, Any], start_response: Any) -> Any:
    request = Request(environ)
    body = "|".join([request.remote_addr or "", request.script_root, request.scheme,
                     str(environ.get("HTTP_" + PROXY_HEADER.upper().replace("-", "_")))])
    return Response(body)(environ, start_response)


def seen(headers: dict[str, str]) -> list[str]:
    client = Client(TrustedProxyFix(_seen, KEY))
    return client.get("/", headers=headers,
                      environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_data(as_text=True).split("|")


def test_forwarded_headers_with_the_proxy_secret_are_believed() -> None:
    assert seen({**FORWARDED, PROXY_HEADER: proxy_secret(KEY)}) == \
        ["203.0.113.9", "/intake", "https", "None"]


def test_forwarded_headers_without_the_secret_are_ignored() -> None:
    assert seen(FORWARDED) == ["127.0.0.1", "", "http", "None"]


def test_a_wrong_secret_is_the_same_as_none() -> None:
    for wrong in (proxy_secret("another key"), proxy_secret(KEY)[:-1], KEY, ""):
        assert seen({**FORWARDED, PROXY_HEADER: wrong}) == ["127.0.0.1", "", "http", "None"]
