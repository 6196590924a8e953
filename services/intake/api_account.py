"""Intake's API for one's own account: register, sign in, who am I, personal API tokens.

Thin views over `credentials` (registration and sign-in, with the same throttle and lockout as
the pages) and `personal_tokens`. A client needs no server secret: it registers, signs in for a
short-lived bearer token, and makes itself a named personal token that lasts.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Response, after_this_request, request
from flask_smorest import Blueprint
from sqlalchemy import select

from services.intake import credentials, personal_tokens
from services.intake.api import identities, units
from services.intake.models import Account, PersonalToken
from services.intake.schemas import (
    MeOut,
    RegisterIn,
    SignInIn,
    SignInOut,
    TokenIn,
    TokenMade,
    TokenOut,
)
from shared.auth import ROLES, issue_token
from shared.errors import DossierError
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, page_schema, paginate
from shared.web.blueprint import public
from shared.web.state import sessions

blp = Blueprint("intake_account", __name__, url_prefix="/api",
                description="One's own account: registration, sign-in, personal API tokens")
TokenPage = page_schema(TokenOut, "TokenPage")
SIGNED_IN = tuple(ROLES)


def throttle() -> credentials.Throttle:
    """The pages' throttle (same Redis keys): a lockout earned on the page holds on the API."""
    return credentials.Throttle(sessions().redis, service_context().settings.secret_key)


def _address() -> str:
    return request.remote_addr or "-"


def _say_when(exc: credentials.Throttled) -> None:
    """A lockout answers 429 with Retry-After, as the page does."""
    seconds = exc.retry_after

    def add(response: Response) -> Response:
        response.headers["Retry-After"] = str(seconds)
        return response

    after_this_request(add)


def _signed_in(account: Account, scope: dict[str, Any]) -> dict[str, Any]:
    settings = service_context().settings
    token = issue_token(settings.secret_key, subject=account.subject, role=account.role,
                        ttl_seconds=settings.token_ttl, scope=scope or None)
    return {"token": token, "token_type": "Bearer", "expires_in": settings.token_ttl,
            "subject": account.subject, "role": account.role}


@blp.post("/register")
@blp.arguments(RegisterIn)
@blp.response(201, SignInOut)
@public
def register(body: dict[str, Any]) -> dict[str, Any]:
    """An organisation (credit code) or an individual (identity number) opens an applicant
    account, as on the registration page, and is signed in: the answer carries a bearer token
    and the account's subject."""
    ctx = service_context()
    try:
        account = credentials.register_throttled(
            ctx.db, ctx.outbox, ctx.audit, identities(), units(), throttle(), _address(),
            {**body, "password_again": body["password"]})
    except credentials.Throttled as exc:
        _say_when(exc)
        raise
    return _signed_in(account, credentials.session_scope(account))


@blp.post("/sign-in")
@blp.arguments(SignInIn)
@blp.response(200, SignInOut)
@public
def sign_in(body: dict[str, Any]) -> dict[str, Any]:
    """Sign in with the login name the page takes (credit code, identity number or staff
    login) for a bearer token of `DOSSIER_TOKEN_TTL` seconds. Failures count toward the same
    lockout as the page's (429 with Retry-After)."""
    ctx = service_context()
    with ctx.db.session() as session:
        outcome = credentials.attempt_sign_in(session, identities(), throttle(), ctx.audit,
                                              body["login"].strip(), body["password"],
                                              _address())
    if outcome.refused == "throttled":
        locked = credentials.Throttled(outcome.retry_after)
        _say_when(locked)
        raise locked
    if outcome.refused == "disabled":
        raise DossierError("auth.account_disabled")
    if outcome.account is None:
        raise DossierError("account.signin_failed", status=401,
                           zh="登录名或密码错误。", en="The login name or the password is wrong.")
    return _signed_in(outcome.account, outcome.scope)


@blp.get("/me")
@blp.response(200, MeOut)
@roles(*SIGNED_IN)
def me() -> dict[str, Any]:
    """Who the caller is: subject, role, name, an applicant's kind, a recommender's unit."""
    who = current_principal()
    with service_context().db.reader() as session:
        account = session.get(Account, who.subject)
    answer: dict[str, Any] = {"subject": who.subject, "role": who.role,
                              "personal_token": who.token_id if who.personal else None}
    if account is None:  # a scripting identity minted with `dossier token`
        return answer
    unit = units().get(account.unit) if account.unit else None
    return {**answer, "name": account.name, "kind": account.kind, "unit": account.unit,
            "unit_name": unit.name if unit else None, "login": credentials.login_name(account),
            "email": account.email, "language": account.language}


@blp.get("/me/tokens")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, TokenPage)
@roles(*SIGNED_IN)
def list_tokens(page: int, per_page: int) -> dict[str, Any]:
    """The caller's personal tokens, newest first; never the tokens themselves."""
    query = select(PersonalToken).where(PersonalToken.subject == current_principal().subject
                                        ).order_by(PersonalToken.created_at.desc())
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)


@blp.post("/me/tokens")
@blp.arguments(TokenIn)
@blp.response(201, TokenMade)
@roles(*SIGNED_IN)
def create_token(body: dict[str, Any]) -> SimpleNamespace:
    """A named personal token valid for `days` (default 90, at most 365), for the caller's
    subject and role. The token is in this answer only; store it like a password."""
    ctx = service_context()
    with ctx.db.session() as session:
        made = personal_tokens.create(session, ctx.audit, ctx.settings.secret_key,
                                      current_principal(), body["name"], body["days"])
    row = made.row
    return SimpleNamespace(id=row.id, name=row.name, role=row.role, created_at=row.created_at,
                           expires_at=row.expires_at, revoked_at=row.revoked_at,
                           token=made.token)


@blp.delete("/me/tokens/<token_id>")
@blp.response(200, TokenOut)
@roles(*SIGNED_IN)
def revoke_token(token_id: str) -> PersonalToken:
    """Revoke one of the caller's tokens: every service refuses it from the next request."""
    ctx = service_context()
    with ctx.db.session() as session:
        return personal_tokens.revoke(session, ctx.audit, current_principal(), token_id)
