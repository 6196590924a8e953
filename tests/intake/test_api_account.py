"""An API client acts without the server's secrets: it registers and signs in through the API,
learns who it is (`/api/me`), and makes, lists and revokes personal tokens, which are shown
once, kept only as a hash, and refused once revoked (in process; across services in
tests/e2e/test_personal_tokens.py)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from inprocess import InProcess, service_app
from sqlalchemy import text

from dossier.localstack import BackingServers
from intake.flows import new_id_number, new_uscc
from shared.web.sessions import COOKIE, SessionStore

PASSWORD = "Qz7!river-lantern-93"


@pytest.fixture
def intake(backing: BackingServers, tmp_path: Path) -> InProcess:
    return service_app(backing, tmp_path, "intake")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _register_org(intake: InProcess, code: str | None = None) -> tuple[str, dict[str, Any]]:
    code = code or new_uscc()
    answer = intake.client.post("/api/register", json={
        "kind": "organisation", "name": "太原示范科技有限公司", "credit_code": code,
        "email": "org@example.org", "password": PASSWORD})
    assert answer.status_code == 201, answer.get_json()
    return code, answer.get_json()


def _audit(intake: InProcess, action: str) -> list[dict[str, Any]]:
    with intake.ctx.db.reader() as session:
        rows = session.execute(text("SELECT detail FROM audit_log WHERE action = :a"),
                               {"a": action}).scalars()
        return [json.loads(r) if isinstance(r, str) else r for r in rows]


def test_an_organisation_registers_and_signs_in_through_the_api(intake: InProcess) -> None:
    code, registered = _register_org(intake)
    assert registered["role"] == "applicant" and registered["subject"] == f"org-{code}"
    me = intake.client.get("/api/me", headers=_bearer(registered["token"])).get_json()
    assert me["subject"] == f"org-{code}" and me["kind"] == "organisation"
    assert me["name"] == "太原示范科技有限公司" and me["login"] == code

    signed = intake.client.post("/api/sign-in", json={"login": code, "password": PASSWORD})
    assert signed.status_code == 200
    body = signed.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert intake.client.get("/api/me", headers=_bearer(body["token"])).status_code == 200

    again = intake.client.post("/api/register", json={
        "kind": "organisation", "name": "另一家", "credit_code": code,
        "email": "x@example.org", "password": PASSWORD})
    assert again.status_code == 409
    assert again.get_json()["code"] == "account.already_registered"


def test_an_individual_learns_its_own_account_id_from_me(intake: InProcess) -> None:
    number = new_id_number()
    answer = intake.client.post("/api/register", json={
        "kind": "individual", "name": "李明", "id_number": number, "email": "li@example.org",
        "password": PASSWORD})
    assert answer.status_code == 201, answer.get_json()
    signed = intake.client.post("/api/sign-in", json={"login": number, "password": PASSWORD})
    me = intake.client.get("/api/me", headers=_bearer(signed.get_json()["token"])).get_json()
    assert me["subject"].startswith("person-") and me["subject"] == answer.get_json()["subject"]
    assert me["kind"] == "individual" and me["name"] == "李明"
    assert number not in json.dumps(me) and me["login"].endswith(number[-4:])


def test_api_sign_in_locks_out_like_the_page(intake: InProcess) -> None:
    code, _registered = _register_org(intake)
    statuses = [intake.client.post("/api/sign-in", json={"login": code, "password": "wrong"
                                                          + str(i) * 10}).status_code
                for i in range(5)]
    assert statuses == [401] * 5
    locked = intake.client.post("/api/sign-in", json={"login": code, "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.get_json()["code"] == "account.throttled"
    # The page shares the count: the right password there is refused too.
    page = intake.app.test_client()
    form = page.get("/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None
    on_page = page.post("/sign-in", data={"csrf_token": csrf.group(1), "login": code,
                                          "password": PASSWORD})
    assert on_page.status_code == 429
    assert _audit(intake, "account.signin_locked")


def test_personal_tokens_are_shown_once_kept_hashed_listed_and_revoked(
        intake: InProcess) -> None:
    code, registered = _register_org(intake)
    signed_in = _bearer(registered["token"])
    made = intake.client.post("/api/me/tokens", json={"name": "申报脚本", "days": 30},
                              headers=signed_in)
    assert made.status_code == 201, made.get_json()
    token, token_id = made.get_json()["token"], made.get_json()["id"]
    assert made.get_json()["live"] is True and made.get_json()["name"] == "申报脚本"

    listed = intake.client.get("/api/me/tokens", headers=signed_in).get_json()
    assert [t["id"] for t in listed["items"]] == [token_id]
    assert "token" not in listed["items"][0] and token not in json.dumps(listed)
    with intake.ctx.db.reader() as session:
        row = session.execute(text("SELECT * FROM personal_tokens")).mappings().one()
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps({k: str(v) for k, v in row.items()})
    assert token not in json.dumps(_audit(intake, "account.token_created"))
    assert _audit(intake, "account.token_created")[0]["token"] == token_id

    me = intake.client.get("/api/me", headers=_bearer(token)).get_json()
    assert me["subject"] == f"org-{code}" and me["personal_token"] == token_id
    # A leaked personal token cannot mint successors that outlive its revocation.
    refused = intake.client.post("/api/me/tokens", json={"name": "x"}, headers=_bearer(token))
    assert refused.status_code == 403
    assert refused.get_json()["code"] == "account.token_needs_sign_in"

    revoked = intake.client.delete(f"/api/me/tokens/{token_id}", headers=signed_in)
    assert revoked.status_code == 200 and revoked.get_json()["live"] is False
    after = intake.client.get("/api/me", headers=_bearer(token))
    assert after.status_code == 401
    assert after.get_json()["code"] == "auth.personal_token_revoked"
    assert intake.client.get("/api/me", headers=signed_in).status_code == 200
    assert _audit(intake, "account.token_revoked")[0]["token"] == token_id
    # Another person cannot see or revoke it.
    _other_code, other = _register_org(intake)
    assert intake.client.delete(f"/api/me/tokens/{token_id}",
                                headers=_bearer(other["token"])).status_code == 404


def test_a_full_standing_rewrite_keeps_live_tokens_and_drops_revoked_ones(
        intake: InProcess) -> None:
    from services.intake import standing

    _code, registered = _register_org(intake)
    signed_in = _bearer(registered["token"])
    keep = intake.client.post("/api/me/tokens", json={"name": "留用"}, headers=signed_in)
    drop = intake.client.post("/api/me/tokens", json={"name": "作废"}, headers=signed_in)
    intake.client.delete(f"/api/me/tokens/{drop.get_json()['id']}", headers=signed_in)
    client = redis.Redis.from_url(intake.ctx.settings.redis_url)
    client.delete(f"dossier:account:{registered['subject']}")
    standing.publish_all(intake.ctx)
    assert intake.client.get("/api/me", headers=_bearer(keep.get_json()["token"])
                             ).status_code == 200
    assert intake.client.get("/api/me", headers=_bearer(drop.get_json()["token"])
                             ).status_code == 401


def test_signing_out_everywhere_revokes_personal_tokens_on_the_list(intake: InProcess) -> None:
    _code, registered = _register_org(intake)
    signed_in = _bearer(registered["token"])
    made = intake.client.post("/api/me/tokens", json={"name": "脚本"}, headers=signed_in)
    store = SessionStore(redis.Redis.from_url(intake.ctx.settings.redis_url,
                                              decode_responses=True), idle=3600, absolute=7200)
    session = store.create(subject=registered["subject"], role="applicant", name="示范")
    page = intake.app.test_client()
    page.set_cookie(COOKIE, session.sid)
    answer = page.post("/account/sign-out-everywhere", data={"csrf_token": session.csrf})
    assert answer.status_code == 303
    assert intake.client.get("/api/me", headers=_bearer(made.get_json()["token"])
                             ).status_code == 401
    with intake.ctx.db.reader() as db:
        revoked_at = db.execute(text("SELECT revoked_at FROM personal_tokens")).scalar_one()
    assert revoked_at is not None


def test_the_account_page_makes_shows_once_and_revokes_a_token(intake: InProcess) -> None:
    _code, registered = _register_org(intake)
    store = SessionStore(redis.Redis.from_url(intake.ctx.settings.redis_url,
                                              decode_responses=True), idle=3600, absolute=7200)
    session = store.create(subject=registered["subject"], role="applicant", name="示范")
    page = intake.app.test_client()
    page.set_cookie(COOKIE, session.sid)
    page.set_cookie("lang", "zh-CN")
    made = page.post("/account/tokens", data={"csrf_token": session.csrf,
                                              "token_name": "对接系统", "token_days": "30"})
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    with intake.ctx.db.reader() as db:
        token_id, token_hash = db.execute(text("SELECT id, token_hash FROM personal_tokens")
                                          ).one()
    field = re.search(r'id="new-token" type="text" value="([^"]+)"', html)
    assert field is not None and html.count(field.group(1)) == 1
    token = field.group(1)
    assert hashlib.sha256(token.encode()).hexdigest() == token_hash
    listing = page.get("/account").get_data(as_text=True)
    assert "对接系统" in listing and token not in listing  # shown once only
    assert intake.client.get("/api/me", headers=_bearer(token)).status_code == 200
    revoked = page.post(f"/account/tokens/{token_id}/revoke",
                        data={"csrf_token": session.csrf})
    assert revoked.status_code == 303
    assert intake.client.get("/api/me", headers=_bearer(token)).status_code == 401
    assert "已撤销" in page.get("/account").get_data(as_text=True)


@pytest.mark.parametrize("change", [{"active": False}, {"role": "supervisor"}])
def test_disabling_or_changing_the_role_ends_personal_tokens_on_the_list(
        intake: InProcess, change: dict[str, Any]) -> None:
    office = intake.auth("operator", "op-tokens")
    subject = f"expert-{uuid.uuid4().hex[:8]}"
    body = {"role": "expert", "name": "王力", "email": None, "language": "zh-CN"}
    assert intake.client.put(f"/api/accounts/{subject}", json=body,
                             headers=office).status_code == 200
    made = intake.client.post("/api/me/tokens", json={"name": "评审脚本"},
                              headers=intake.auth("expert", subject))
    assert made.status_code == 201, made.get_json()
    personal = _bearer(made.get_json()["token"])
    assert intake.client.get("/api/me", headers=personal).status_code == 200
    assert intake.client.put(f"/api/accounts/{subject}", json={**body, **change},
                             headers=office).status_code == 200
    assert intake.client.get("/api/me", headers=personal).status_code == 401
    with intake.ctx.db.reader() as session:
        revoked_at = session.execute(text("SELECT revoked_at FROM personal_tokens")).scalar_one()
    assert revoked_at is not None
