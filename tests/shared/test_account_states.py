"""The auth guard checks every token against its account's standing (`shared.account_states`):
the rule itself, the records in the real Redis, and the guard of a real app on a test client."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_smorest import Blueprint

from dossier.localstack import BackingServers
from shared.account_states import AccountState, AccountStates, Unavailable, admit
from shared.app import make_app
from shared.auth import Principal, issue_token, verify_token
from shared.config import load_settings
from shared.db import service_metadata
from shared.errors import DossierError
from shared.http import current_principal, roles
from shared.outages import dependency_outage
from shared.service import ServiceContext

SECRET = "a-secret-for-the-guard-tests-0123456789"
REDIS_DB = 11


def state(**overrides: Any) -> AccountState:
    values: dict[str, Any] = {"subject": "rec-1", "role": "recommender", "active": True,
                              "scope": {"unit": "140902"}, "not_before": 0.0, "version": 1}
    values.update(overrides)
    return AccountState(**values)


def token_of(role: str = "recommender", issued: float = 1000.0, **scope: str) -> Principal:
    return Principal(subject="rec-1", role=role, scope=scope, issued_at=issued)


def refusal(who: Principal, standing: AccountState | None, session: bool = False) -> str:
    with pytest.raises(DossierError) as refused:
        admit(who, standing, session=session)
    assert refused.value.status == 401
    assert refused.value.zh and refused.value.en and refused.value.zh != refused.value.en
    return refused.value.code


# -- the rule --------------------------------------------------------------------------------

def test_a_disabled_account_is_refused() -> None:
    assert refusal(token_of(), state(active=False)) == "auth.account_disabled"


def test_a_token_of_another_role_than_the_accounts_is_refused() -> None:
    assert refusal(token_of("operator"), state()) == "auth.account_changed"


def test_a_token_issued_before_sign_out_everywhere_is_refused_and_one_after_is_not() -> None:
    assert refusal(token_of(issued=999.0), state(not_before=999.5)) == "auth.token_revoked"
    assert admit(token_of(issued=1000.0), state(not_before=999.5)).subject == "rec-1"


def test_a_sign_in_in_the_same_second_as_the_password_change_is_admitted() -> None:
    """A token made 0.3 s after the password was set is newer than the change, and one made
    0.3 s before it is older, though both fall in the same second."""
    changed = 1_700_000_000.5
    for delta, admitted in ((0.3, True), (-0.3, False)):
        token = issue_token(SECRET, subject="rec-1", role="recommender", now=changed + delta,
                            ttl_seconds=10**10)
        who = verify_token(SECRET, token)
        if admitted:
            assert admit(who, state(not_before=changed)).subject == "rec-1"
        else:
            assert refusal(who, state(not_before=changed)) == "auth.token_revoked"


def test_the_unit_comes_from_the_account_never_from_the_token() -> None:
    assert admit(token_of(), state()).scope == {"unit": "140902"}
    assert admit(token_of(unit="140902"), state()).scope == {"unit": "140902"}
    assert refusal(token_of(unit="140981"), state()) == "auth.account_changed"
    assert refusal(token_of(unit="140981"), state(scope={})) == "auth.account_changed"


def test_a_browser_session_must_carry_the_accounts_scope() -> None:
    assert refusal(token_of(), state(), session=True) == "auth.account_changed"
    assert admit(token_of(unit="140902"), state(), session=True).scope == {"unit": "140902"}


def test_a_subject_without_an_account_keeps_its_own_claims() -> None:
    who = token_of("admin", unit="140981")
    assert admit(who, None) is who



def test_a_personal_token_is_honoured_only_while_its_id_is_among_the_live_ones() -> None:
    from dataclasses import replace

    who = replace(token_of(), token_id="t-1", personal=True)
    assert admit(who, state(tokens=("t-1", "t-2"))).subject == "rec-1"
    for standing in (state(tokens=("t-2",)), state(), None):  # revoked, none live, no account
        with pytest.raises(DossierError) as refused:
            admit(who, standing)
        assert refused.value.code == "auth.personal_token_revoked"
    # A sign-in token with the same id is not personal: the list does not concern it.
    assert admit(replace(who, personal=False), state()).subject == "rec-1"


def test_the_personal_mark_and_the_id_survive_signing_and_the_record_round_trips() -> None:
    token = issue_token(SECRET, subject="rec-1", role="recommender", ttl_seconds=60,
                        token_id="t-9", personal=True)
    who = verify_token(SECRET, token)
    assert (who.personal, who.token_id) == (True, "t-9")
    assert verify_token(SECRET, issue_token(SECRET, subject="rec-1", role="recommender",
                                            ttl_seconds=60)).personal is False
    record = state(tokens=("t-9", "t-3"))
    assert AccountState.from_json("rec-1", record.to_json()).tokens == ("t-3", "t-9")

# -- the records in Redis ----------------------------------------------------------------------

@pytest.fixture
def client(backing: BackingServers) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(backing.redis_url_for(REDIS_DB))
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_records_are_read_back_and_unpublished_records_fail_closed(client: redis.Redis) -> None:
    states = AccountStates(client)
    with pytest.raises(Unavailable):
        states.read("rec-1")  # intake never wrote them: nothing can be checked
    states.publish([state()], complete=True)
    assert states.read("rec-1") == state()
    assert states.read("nobody") is None


def test_an_older_record_never_overwrites_a_newer_one(client: redis.Redis) -> None:
    states = AccountStates(client)
    states.publish([state(active=False, version=5)], complete=True)
    states.publish([state(active=True, version=4)])  # a full rewrite that read before the change
    assert states.read("rec-1") == state(active=False, version=5)
    states.publish([state(active=True, version=6)])
    assert states.read("rec-1").active  # type: ignore[union-attr]


def test_an_unreachable_redis_fails_closed() -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=1)
    with pytest.raises(redis.ConnectionError) as refused:
        AccountStates(dead).read("rec-1")
    assert dependency_outage(refused.value) is not None  # answered 503 by every service


# -- the guard of a real app -------------------------------------------------------------------

def guarded_app(redis_url: str) -> Flask:
    settings = load_settings({"DOSSIER_SECRET_KEY": SECRET, "DOSSIER_S3_ACCESS_KEY": "k",
                              "DOSSIER_S3_SECRET_KEY": "s", "DOSSIER_REDIS_URL": redis_url})
    blp = Blueprint("probe", __name__, url_prefix="/api")

    @blp.get("/me")
    @roles("recommender", "operator")
    def me() -> dict[str, Any]:
        who = current_principal()
        return {"subject": who.subject, "role": who.role, "scope": dict(who.scope)}

    ctx = ServiceContext.create("documents", service_metadata(), settings)
    return make_app(ctx, "guard test", [blp])


@pytest.fixture
def app_client(backing: BackingServers, client: redis.Redis) -> FlaskClient:
    # No `with`: the client then keeps no request context open across calls.
    return guarded_app(backing.redis_url_for(REDIS_DB)).test_client()


def bearer(role: str = "recommender", subject: str = "rec-1", now: float | None = None,
           **scope: str) -> dict[str, str]:
    token = issue_token(SECRET, subject=subject, role=role, ttl_seconds=600, scope=scope or None,
                        now=now)
    return {"Authorization": f"Bearer {token}"}


def test_the_guard_refuses_what_the_account_no_longer_allows(
        app_client: FlaskClient, client: redis.Redis) -> None:
    states = AccountStates(client)
    states.publish([state(scope={"unit": "140902"})], complete=True)
    ok = app_client.get("/api/me", headers=bearer(unit="140902"))
    assert ok.status_code == 200 and ok.json["scope"] == {"unit": "140902"}  # type: ignore[index]

    states.publish([state(scope={"unit": "140981"}, version=2)])  # moved to another unit
    moved = app_client.get("/api/me", headers=bearer())
    assert moved.json["scope"] == {"unit": "140981"}  # type: ignore[index]
    assert app_client.get("/api/me", headers=bearer(unit="140902")).json[  # type: ignore[index]
        "code"] == "auth.account_changed"

    earlier = bearer(now=time.time() - 5)
    states.publish([state(scope={"unit": "140981"}, not_before=time.time() - 1, version=3)])
    revoked = app_client.get("/api/me", headers=earlier)
    assert revoked.status_code == 401 and revoked.json["code"] == "auth.token_revoked"  # type: ignore[index]
    assert app_client.get("/api/me", headers=bearer()).status_code == 200

    states.publish([state(active=False, version=4)])
    disabled = app_client.get("/api/me", headers=bearer(), query_string={"lang": "en"})
    assert disabled.status_code == 401
    assert disabled.json["code"] == "auth.account_disabled"  # type: ignore[index]
    assert disabled.json["title"] == "This account is disabled; contact the award office."  # type: ignore[index]

    states.publish([state(role="operator", scope={}, version=5)])
    assert app_client.get("/api/me", headers=bearer()).json[  # type: ignore[index]
        "code"] == "auth.account_changed"
    assert app_client.get("/api/me", headers=bearer("operator")).status_code == 200


def test_the_guard_answers_503_with_a_code_when_standing_cannot_be_checked(
        app_client: FlaskClient, client: redis.Redis) -> None:
    unpublished = app_client.get("/api/me", headers=bearer())
    assert unpublished.status_code == 503
    assert unpublished.json["code"] == "auth.accounts_unavailable"  # type: ignore[index]
    assert int(unpublished.headers["Retry-After"]) > 0

    down = guarded_app("redis://127.0.0.1:1/0").test_client()  # nothing listens there
    r = down.get("/api/me", headers=bearer())
    assert r.status_code == 503 and r.json["code"] == "dependency.broker_unavailable"  # type: ignore[index]
    assert int(r.headers["Retry-After"]) > 0


def test_token_errors_carry_stable_codes_and_no_library_text(
        app_client: FlaskClient, client: redis.Redis) -> None:
    AccountStates(client).publish([], complete=True)
    expired = app_client.get("/api/me", headers=bearer(now=time.time() - 3600))
    assert expired.status_code == 401 and expired.json["code"] == "auth.token_expired"  # type: ignore[index]
    garbage = app_client.get("/api/me",
                             headers={"Authorization": "Bearer x." + secrets.token_hex(8)})
    assert garbage.status_code == 401 and garbage.json["code"] == "auth.token_invalid"  # type: ignore[index]
    for body in (expired.json, garbage.json):
        assert "detail" not in body  # type: ignore[operator]
        assert set(body["messages"]) == {"zh-CN", "en"}  # type: ignore[index]
