"""The shared web layer through the real proxy: sessions, CSRF, language, errors, audit page."""

from __future__ import annotations

from collections.abc import Callable

import requests

from dossier.localstack import AppStack


def test_proxy_routes_every_service_by_prefix(stack: AppStack) -> None:
    for svc in ("intake", "documents", "review", "notify"):
        r = requests.get(f"{stack.public_url}/{svc}/healthz", timeout=10)
        assert r.status_code == 200 and r.json()["service"] == svc
    r = requests.get(f"{stack.public_url}/", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].endswith("/intake/")


def test_signed_out_page_redirects_to_sign_in_and_comes_back(stack: AppStack) -> None:
    r = requests.get(f"{stack.public_url}/review/audit?actor=x", allow_redirects=False,
                     timeout=10)
    assert r.status_code == 303
    assert r.headers["Location"] == "/intake/sign-in?next=/review/audit%3Factor%3Dx"


def test_audit_page_in_chinese_then_english_remembered(
        stack: AppStack, browser_login: Callable[..., object]) -> None:
    who = browser_login("supervisor", "sup-foundation", "监督员")
    r = who.get("/intake/audit")  # type: ignore[attr-defined]
    assert r.status_code == 200
    assert 'lang="zh-CN"' in r.text and "哈希链完整" in r.text and "[[untranslated" not in r.text
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    r = who.get("/review/audit?lang=en")  # type: ignore[attr-defined]
    assert "Hash chain intact" in r.text and 'lang="en"' in r.text
    assert "lang=en" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    r = who.get("/notify/audit")  # type: ignore[attr-defined]  # the cookie carries the choice
    assert 'lang="en"' in r.text and "[[untranslated" not in r.text


def test_role_outside_the_page_gets_a_page_not_json(
        browser_login: Callable[..., object]) -> None:
    who = browser_login("applicant", "app-foundation")
    r = who.get("/review/audit")  # type: ignore[attr-defined]
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("text/html") and "无权访问" in r.text


def test_cookie_session_needs_csrf_for_writes_bearer_does_not(
        stack: AppStack, browser_login: Callable[..., object],
        auth: Callable[[str, str], dict[str, str]]) -> None:
    who = browser_login("operator", "op-foundation")
    url = f"{stack.public_url}/intake/api/cycles/2031"
    body = {"programme": "quality-award", "title": "x", "opens_on": "2031-01-05",
            "closes_on": "2031-03-01"}
    r = who.http.put(url, json=body, timeout=10)  # type: ignore[attr-defined]
    assert r.status_code == 403 and r.json()["code"] == "auth.csrf"
    r = who.http.put(url, json=body, timeout=10,  # type: ignore[attr-defined]
                     headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403 and r.json()["code"] == "auth.csrf"
    r = who.http.get(f"{stack.public_url}/intake/api/cycles", timeout=10)  # type: ignore[attr-defined]
    assert r.status_code == 200  # reads need no token
    r = requests.get(f"{stack.public_url}/intake/api/cycles", timeout=10,
                     headers=auth("operator", "op-foundation"))
    assert r.status_code == 200


def test_sign_out_everywhere_ends_every_browser(
        stack: AppStack, browser_login: Callable[..., object]) -> None:
    import redis

    from shared.web.sessions import SessionStore

    first = browser_login("supervisor", "sup-everywhere")
    second = browser_login("supervisor", "sup-everywhere")
    assert first.get("/intake/audit").status_code == 200  # type: ignore[attr-defined]
    client = redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"], decode_responses=True)
    assert SessionStore(client, 60, 60).drop_all("sup-everywhere") == 2
    for who in (first, second):
        assert who.get("/intake/audit").status_code == 303  # type: ignore[attr-defined]
