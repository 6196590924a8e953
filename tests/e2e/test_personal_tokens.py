"""An API client on the running stack, through the proxy and without any server secret:
registers, signs in, makes itself a personal token that every service honours, and once the
token is revoked every service refuses it within a request (the live token ids travel with the
account's standing in Redis, `shared.account_states`)."""

from __future__ import annotations

import requests
from intake.flows import new_uscc
from waiting import poll

from dossier.localstack import AppStack

SERVICES = ("intake", "documents", "review", "notify")
PASSWORD = "Qz7!river-lantern-93"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def answers(stack: AppStack, http: requests.Session, token: str) -> dict[str, tuple[int, str]]:
    """Each service's answer to the token (status and problem code, "" on success): intake's
    `/api/me` and the API document of the others, which needs a valid token whatever the role."""
    out = {}
    for service in SERVICES:
        path = "/api/me" if service == "intake" else "/openapi.json"
        r = http.get(f"{stack.public_url}/{service}{path}", headers=bearer(token), timeout=10)
        out[service] = (r.status_code, "" if r.ok else r.json()["code"])
    return out


def test_a_revoked_personal_token_is_refused_by_every_service(
        stack: AppStack, http: requests.Session) -> None:
    api = f"{stack.public_url}/intake/api"
    code = new_uscc()
    r = http.post(f"{api}/register", timeout=10, json={
        "kind": "organisation", "name": "忻州示范材料有限公司", "credit_code": code,
        "email": "client@example.org", "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = http.post(f"{api}/sign-in", json={"login": code, "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    signed_in = r.json()["token"]

    r = http.post(f"{api}/me/tokens", headers=bearer(signed_in), timeout=10,
                  json={"name": "本单位申报系统", "days": 7})
    assert r.status_code == 201, r.text
    personal, token_id = r.json()["token"], r.json()["id"]
    assert answers(stack, http, personal) == {s: (200, "") for s in SERVICES}
    me = http.get(f"{api}/me", headers=bearer(personal), timeout=10).json()
    assert (me["subject"], me["personal_token"]) == (f"org-{code}", token_id)

    r = http.delete(f"{api}/me/tokens/{token_id}", headers=bearer(signed_in), timeout=10)
    assert r.status_code == 200 and r.json()["live"] is False
    refused = {s: (401, "auth.personal_token_revoked") for s in SERVICES}
    seen: dict[str, dict[str, tuple[int, str]]] = {}

    def check() -> bool:
        seen["last"] = answers(stack, http, personal)
        return seen["last"] == refused

    try:  # the standing is written when the revoke commits: expected at the first look
        poll(check, 10, every=0.2)
    except AssertionError:
        raise AssertionError(f"after 10 s: {seen.get('last')}") from None
    # The sign-in token of the same account is untouched.
    assert answers(stack, http, signed_in) == {s: (200, "") for s in SERVICES}
