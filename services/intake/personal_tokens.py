"""Personal API tokens: a signed-in person makes, names, lists and revokes their own.

A token is a signed bearer token (`shared.auth`) for the person's subject and role (a
recommender's unit comes from the account record on every request), marked personal and with its
own id (`jti`) and expiry. It is returned once; intake keeps only its SHA-256. Every service
honours it only while its id is among the account's live tokens, published with the account's
standing (`shared.account_states`): a revoke commits, the standing is rewritten, and the next
request on any service is refused.

Made only from a browser session or a sign-in token, never from another personal token: a
leaked token must not mint itself successors that outlive its revocation.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.intake.accounts import standing_changed
from services.intake.models import Account, PersonalToken
from shared.audit import AuditLog
from shared.auth import Principal, issue_token
from shared.errors import DossierError, Forbidden, NotFound
from shared.web.nav import N_

DEFAULT_DAYS = 90
MAX_DAYS = 365
# Live tokens per account: each one's id rides in the account's record in Redis, read on every
# request of every service, so the record must stay small.
MAX_LIVE = 20
NAME_LENGTH = 80


@dataclass(frozen=True)
class MadeToken:
    """A new token: `token` is shown once and never stored."""

    row: PersonalToken
    token: str


def _invalid(field_name: str, message: str) -> DossierError:
    return DossierError("validation.failed", errors={field_name: [message]})


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite: naive UTC


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_live(row: PersonalToken, at: datetime | None = None) -> bool:
    return row.revoked_at is None and _aware(row.expires_at) > (at or datetime.now(UTC))


def create(session: Session, audit: AuditLog, secret: str, who: Principal, name: str,
           days: int | None = None) -> MadeToken:
    """A new personal token for the caller's own account, valid for `days` (1 to 365)."""
    if who.personal:
        raise Forbidden("account.token_needs_sign_in",
                        zh="个人 API 令牌不能用来新建令牌，请先登录。",
                        en="A personal API token cannot create tokens; sign in first.")
    name = (name or "").strip()
    if not name or len(name) > NAME_LENGTH:
        raise _invalid("name", N_("Enter a name for the token (at most 80 characters)."))
    days = DEFAULT_DAYS if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise _invalid("days", N_("A token is valid for 1 to 365 days."))
    account = session.get(Account, who.subject)
    if account is None or not account.active:
        raise Forbidden("account.no_account",
                        zh="只有在本系统登记的有效账号才能新建个人 API 令牌。",
                        en="Only an active account of this system can create personal tokens.")
    at = datetime.now(UTC)
    live = session.execute(select(func.count()).select_from(PersonalToken).where(
        PersonalToken.subject == who.subject, PersonalToken.revoked_at.is_(None),
        PersonalToken.expires_at > at)).scalar_one()
    if live >= MAX_LIVE:
        raise DossierError("account.too_many_tokens", status=409,
                           zh="有效的个人 API 令牌已达 {limit} 个，请先撤销不再使用的令牌。",
                           en="You already have {limit} live personal tokens; revoke one you "
                              "no longer use first.", limit=MAX_LIVE)
    token_id = uuid.uuid4().hex
    token = issue_token(secret, subject=account.subject, role=account.role,
                        ttl_seconds=days * 86400, token_id=token_id, personal=True,
                        now=at.timestamp())
    row = PersonalToken(id=token_id, subject=account.subject, name=name, role=account.role,
                        token_hash=token_hash(token), created_at=at,
                        expires_at=at + timedelta(days=days))
    session.add(row)
    standing_changed(session, account)  # publishes the new id once this commits
    audit.append(session, actor=who.subject, role=who.role, action="account.token_created",
                 target=f"account:{account.subject}",
                 detail={"token": token_id, "name": name, "expires_at": row.expires_at.isoformat()})
    return MadeToken(row=row, token=token)


def mine(session: Session, who: Principal) -> list[PersonalToken]:
    """The caller's tokens, newest first (revoked and expired ones too, marked so)."""
    return list(session.execute(select(PersonalToken).where(
        PersonalToken.subject == who.subject).order_by(PersonalToken.created_at.desc())
    ).scalars())


def revoke(session: Session, audit: AuditLog, who: Principal, token_id: str) -> PersonalToken:
    """Revoke one of the caller's own tokens; refused by every service from the next request.
    Revoking a token already revoked or expired changes nothing and says so with 200."""
    row = session.get(PersonalToken, token_id)
    if row is None or row.subject != who.subject:
        raise NotFound()  # another person's token is none of the caller's business
    if row.revoked_at is not None:
        return row
    row.revoked_at = datetime.now(UTC)
    account = session.get(Account, who.subject)
    if account is not None:
        standing_changed(session, account)
    audit.append(session, actor=who.subject, role=who.role, action="account.token_revoked",
                 target=f"account:{who.subject}", detail={"token": token_id, "name": row.name})
    return row
