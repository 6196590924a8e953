"""A bearer token answers to its account, on every service of the running stack: disabling the
account, signing it out everywhere or changing its role ends the token (and the account's
browser sessions) within seconds, not when the token expires."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import requests
from waiting import poll

from dossier.localstack import AppStack
from shared.auth import issue_token

SERVICES = ("intake", "documents", "review", "notify")
UNIT = "140902"
DEADLINE = 10  # seconds: the guard reads the standing on every request, so it is at once


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bearer(stack: AppStack, role: str, subject: str, **scope: str) -> dict[str, str]:
    token = issue_token(stack.secret_key, subject=subject, role=role, ttl_seconds=12 * 3600,
                        scope=scope or None)
    return {"Authorization": f"Bearer {token}"}


def save_account(stack: AppStack, http: requests.Session, subject: str, **fields: Any) -> None:
    operator = bearer(stack, "operator", "operator-standing")
    body = {"role": "recommender", "name": "忻府区市场监督管理局", "unit": UNIT, **fields}
    r = http.put(f"{stack.url('intake')}/api/accounts/{subject}", headers=operator, json=body)
    assert r.status_code == 200, r.text


def answers(stack: AppStack, http: requests.Session, headers: dict[str, str]
            ) -> dict[str, tuple[int, str]]:
    """Each service's answer to the token: status and problem code ("" on success). The API
    document needs a valid token on every service, whatever the role."""
    out = {}
    for service in SERVICES:
        r = http.get(f"{stack.url(service)}/openapi.json", headers=headers)
        out[service] = (r.status_code, "" if r.ok else r.json()["code"])
    return out


def refused_everywhere(stack: AppStack, http: requests.Session, headers: dict[str, str],
                       code: str) -> dict[str, tuple[int, str]]:
    expected = {service: (401, code) for service in SERVICES}
    seen: dict[str, dict[str, tuple[int, str]]] = {}

    def check() -> bool:
        seen["last"] = answers(stack, http, headers)
        return seen["last"] == expected

    try:
        poll(check, DEADLINE, every=0.2)
    except AssertionError:
        raise AssertionError(f"after {DEADLINE}s: {seen.get('last')}") from None
    return seen["last"]


def accepted_everywhere(stack: AppStack, http: requests.Session, headers: dict[str, str]
                        ) -> None:
    assert answers(stack, http, headers) == {service: (200, "") for service in SERVICES}


def test_a_disabled_accounts_token_and_session_are_refused_by_every_service_within_seconds(
        stack: AppStack, http: requests.Session, browser_login: Callable[..., Any]) -> None:
    subject = unique("rec-off")
    save_account(stack, http, subject)
    token = bearer(stack, "recommender", subject)
    accepted_everywhere(stack, http, token)
    browser = browser_login("recommender", subject, scope={"unit": UNIT})
    assert browser.get("/intake/account").status_code == 200

    save_account(stack, http, subject, active=False)

    refused_everywhere(stack, http, token, "auth.account_disabled")
    # Also a token minted after the disable (the account, not the token, decides).
    refused_everywhere(stack, http, bearer(stack, "recommender", subject),
                       "auth.account_disabled")
    page = browser.get("/intake/account")
    assert page.status_code == 303 and "/intake/sign-in" in page.headers["Location"]

    save_account(stack, http, subject, active=True)
    # Enabled again: tokens from before the disable stay void, new ones work.
    refused_everywhere(stack, http, token, "auth.token_revoked")
    poll(lambda: answers(stack, http, bearer(stack, "recommender", subject)) == {
        service: (200, "") for service in SERVICES}, DEADLINE)


def test_a_token_issued_before_sign_out_everywhere_is_refused_by_every_service(
        stack: AppStack, http: requests.Session, browser_login: Callable[..., Any]) -> None:
    subject = unique("rec-out")
    save_account(stack, http, subject)
    before = bearer(stack, "recommender", subject)
    accepted_everywhere(stack, http, before)
    browser = browser_login("recommender", subject, scope={"unit": UNIT})

    r = browser.post("/intake/account/sign-out-everywhere")
    assert r.status_code == 303, r.text

    refused_everywhere(stack, http, before, "auth.token_revoked")
    # A token issued afterwards is good (from the next whole second: `iat` counts seconds).
    poll(lambda: answers(stack, http, bearer(stack, "recommender", subject)) == {
        service: (200, "") for service in SERVICES}, DEADLINE)


def test_a_role_change_ends_the_old_roles_token_on_every_service(
        stack: AppStack, http: requests.Session) -> None:
    subject = unique("rec-role")
    save_account(stack, http, subject)
    as_recommender = bearer(stack, "recommender", subject)
    accepted_everywhere(stack, http, as_recommender)

    save_account(stack, http, subject, role="expert", unit=None)

    refused_everywhere(stack, http, as_recommender, "auth.account_changed")
    accepted_everywhere(stack, http, bearer(stack, "expert", subject))


def test_a_unit_change_ends_tokens_minted_for_the_old_unit_and_sessions_with_it(
        stack: AppStack, http: requests.Session, browser_login: Callable[..., Any]) -> None:
    subject = unique("rec-move")
    save_account(stack, http, subject)
    for_old_unit = bearer(stack, "recommender", subject, unit=UNIT)
    accepted_everywhere(stack, http, for_old_unit)
    browser = browser_login("recommender", subject, scope={"unit": UNIT})
    assert browser.get("/intake/account").status_code == 200

    save_account(stack, http, subject, unit="140981")

    refused_everywhere(stack, http, for_old_unit, "auth.account_changed")
    accepted_everywhere(stack, http, bearer(stack, "recommender", subject))
    page = browser.get("/intake/account")
    assert page.status_code == 303 and "/intake/sign-in" in page.headers["Location"]
