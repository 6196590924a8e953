"""Accounts intake keeps (applicants, recommenders with their unit, experts, operators,
supervisors); their browser credentials are in `credentials.py`.

A recommender's jurisdiction is the unit on its account record, kept by operators, so moving or
disabling a person takes effect at once. A token may also carry `scope.unit`; when it does, it
must agree with the record, so an old token minted for another unit is refused.

Every change to what tokens and sessions stand for (active, role, unit, signing out everywhere)
is also staged for Redis (`shared.account_states`), written once the transaction commits, so
every service's auth guard honours it within a request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.intake.models import Account, PersonalToken
from services.intake.units import UnitList
from shared import account_states
from shared.account_states import AccountState
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import DossierError, Forbidden
from shared.events import Outbox

# Experts sign in to review's pages with an intake account of the same subject as their record
# in review's expert registry.
ACCOUNT_ROLES = ("applicant", "recommender", "expert", "operator", "supervisor")


def save_account(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
                 subject: str, units: UnitList, fields: dict[str, Any]) -> Account:
    role = fields["role"]
    unit = fields.get("unit")
    if role == "recommender":
        # A deactivated unit stays on the accounts that already carry it (they can still be
        # edited or deactivated), but no account is newly given it.
        kept = (units.find(unit) is not None
                and getattr(session.get(Account, subject), "unit", None) == unit)
        if units.get(unit) is None and not kept:
            raise DossierError("account.unit_unknown", status=422,
                               zh="推荐单位代码 {unit} 不在单位名录中。",
                               en="Unit {unit} is not in the list of recommending units.",
                               unit=unit)
    elif unit:
        raise DossierError("account.unit_not_allowed", status=422,
                           zh="只有推荐单位账号可以设置所属单位。",
                           en="Only recommender accounts belong to a unit.")
    now = datetime.now(UTC)
    account = session.get(Account, subject)
    if account is None:
        account = Account(subject=subject, created_at=now)
        session.add(account)
    if account.role is not None and account.role != role:
        # A token made for the old role is refused anyway (`auth.account_changed`): say so on
        # the person's list.
        revoke_personal_tokens(session, subject, now)
    account.role = role
    account.name = fields["name"]
    account.email = fields.get("email")
    account.language = fields.get("language") or "zh-CN"
    account.unit = unit if role == "recommender" else None
    was_active = account.active
    account.active = fields.get("active", True)
    account.updated_at = now
    if was_active and not account.active:
        # Tokens and sessions from before a disable stay void if the account is enabled again.
        account.signed_out_at = now
        revoke_personal_tokens(session, subject, now)
    standing_changed(session, account)
    session.flush()
    outbox.emit(session, "account.saved", {
        "subject": account.subject, "role": account.role, "name": account.name,
        "email": account.email, "language": account.language, "unit": account.unit,
        "active": account.active, "audience": [{"subject": account.subject}]})
    audit.append(session, actor=who.subject, role=who.role, action="account.saved",
                 target=f"account:{subject}",
                 detail={"role": role, "unit": account.unit, "active": account.active})
    return account


def jurisdiction(session: Session, who: Principal) -> str:
    """The unit a recommender acts for; 403 when the account or the token does not say."""
    account = session.get(Account, who.subject)
    if account is None or not account.active or account.role != "recommender" or not account.unit:
        raise Forbidden("account.no_jurisdiction",
                        zh="该推荐单位账号未登记或已停用。",
                        en="This recommender account is not registered or not active.")
    scoped = who.scope.get("unit") if who.scope else None
    if scoped is not None and scoped != account.unit:
        raise Forbidden("account.scope_mismatch",
                        zh="令牌中的单位与账号登记的单位不一致，请重新登录。",
                        en="The token's unit does not match the account's unit; sign in again.")
    return account.unit


# -- standing: what every service checks tokens and sessions against ----------------------------

def scope_of(account: Account) -> dict[str, Any]:
    """The claims besides the role that tokens and sessions of this account carry: a
    recommender's unit, from the record."""
    return {"unit": account.unit} if account.role == "recommender" and account.unit else {}


def standing(account: Account, tokens: Iterable[str] = ()) -> AccountState:
    """`tokens`: the ids of the account's live personal API tokens."""
    signed_out = account.signed_out_at
    if signed_out is not None and signed_out.tzinfo is None:
        signed_out = signed_out.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return AccountState(subject=account.subject, role=account.role, active=bool(account.active),
                        scope=scope_of(account),
                        not_before=signed_out.timestamp() if signed_out else 0.0,
                        version=account.state_version or 0, tokens=tuple(sorted(tokens)))


def _live_tokens(session: Session, subjects: Iterable[str] | None = None
                 ) -> dict[str, list[str]]:
    query = select(PersonalToken.subject, PersonalToken.id).where(
        PersonalToken.revoked_at.is_(None), PersonalToken.expires_at > datetime.now(UTC))
    if subjects is not None:
        query = query.where(PersonalToken.subject.in_(list(subjects)))
    live: dict[str, list[str]] = defaultdict(list)
    for subject, token_id in session.execute(query):
        live[subject].append(token_id)
    return live


def standing_changed(session: Session, account: Account) -> None:
    """Count a change to the account's standing and publish it when the transaction commits."""
    account.state_version = (account.state_version or 0) + 1
    session.flush()  # so the live tokens read below include this transaction's changes
    tokens = _live_tokens(session, [account.subject]).get(account.subject, [])
    account_states.stage(session, standing(account, tokens))


def revoke_personal_tokens(session: Session, subject: str, at: datetime) -> None:
    """Mark every live personal token of the account revoked, so the account page lists what
    the standing already refuses (a sign-out everywhere, a password change, a disable)."""
    session.execute(update(PersonalToken).where(
        PersonalToken.subject == subject, PersonalToken.revoked_at.is_(None)
    ).values(revoked_at=at))


def sign_out_everywhere(session: Session, subject: str, at: datetime | None = None
                        ) -> Account | None:
    """Void every token and session of the account begun before now, on every service (the
    browser sessions themselves are deleted by the caller). None when there is no account."""
    account = session.get(Account, subject)
    if account is None:
        return None
    account.signed_out_at = at or datetime.now(UTC)
    revoke_personal_tokens(session, subject, account.signed_out_at)
    standing_changed(session, account)
    return account


def every_standing(session: Session) -> Iterator[AccountState]:
    """Every account's standing, for the full rewrite at start-up and every few seconds
    (expired personal tokens drop out of the records here)."""
    live = _live_tokens(session)
    for account in session.execute(select(Account).execution_options(yield_per=500)).scalars():
        yield standing(account, live.get(account.subject, ()))
