"""Signed bearer tokens carrying who the caller is (subject) and what they act as (role).

Pure logic: issuing and verifying tokens. The Flask guard that applies them to every request is
in `shared.http`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from shared.errors import DossierError

ROLES: tuple[str, ...] = ("applicant", "recommender", "operator", "expert", "supervisor", "admin")
_ALGORITHM = "HS256"
_ISSUER = "dossier"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `scope` holds role-specific claims (e.g. a jurisdiction)."""

    subject: str
    role: str
    token_id: str = ""
    scope: Mapping[str, Any] = field(default_factory=dict)
    # When the token was issued or the browser session began (epoch seconds): an account's
    # "sign out everywhere" refuses whatever began before it (`shared.account_states`).
    issued_at: float = 0.0
    # A personal API token a person made on their account page: honoured only while its id is
    # among the account's live tokens (`shared.account_states`), so revoking it takes effect on
    # every service at once.
    personal: bool = False

    def is_(self, *roles: str) -> bool:
        return self.role in roles


def issue_token(
    secret: str,
    *,
    subject: str,
    role: str,
    ttl_seconds: int,
    scope: Mapping[str, Any] | None = None,
    now: float | None = None,
    token_id: str | None = None,
    personal: bool = False,
) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not subject:
        raise ValueError("subject must not be empty")
    issued = now if now is not None else time.time()
    claims: dict[str, Any] = {
        "iss": _ISSUER,
        "sub": subject,
        "role": role,
        # To the microsecond, as an account's "not before" is (RFC 7519 allows a fraction): a
        # whole-second `iat` made a sign-in within a second of setting the password look older
        # than the password, and the new token was refused as revoked.
        "iat": issued,
        "exp": int(issued) + ttl_seconds,
        "jti": token_id or uuid.uuid4().hex,
    }
    if personal:
        claims["pat"] = True
    if scope:
        claims["scope"] = dict(scope)
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],  # pinned: never let the token choose its algorithm
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        # Stable codes only: the library's own wording is neither translated nor a contract.
        raise DossierError("auth.token_expired") from exc
    except jwt.PyJWTError as exc:
        raise DossierError("auth.token_invalid") from exc
    role = claims.get("role")
    if role not in ROLES:
        raise DossierError("auth.token_invalid")
    return Principal(
        subject=str(claims["sub"]),
        role=str(role),
        token_id=str(claims.get("jti", "")),
        scope=claims.get("scope") or {},
        issued_at=float(claims["iat"]),
        personal=claims.get("pat") is True,
    )
