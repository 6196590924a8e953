"""Accounts intake keeps (applicants, recommenders with their unit, experts, operators,
supervisors); their browser credentials are in `credentials.py`.

A recommender's jurisdiction is the unit on its account record, kept by operators, so moving or
disabling a person takes effect at once. A token may also carry `scope.unit`; when it does, it
must agree with the record, so an old token minted for another unit is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from services.intake.models import Account
from services.intake.units import UnitList
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
        if units.get(unit) is None:
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
    account.role = role
    account.name = fields["name"]
    account.email = fields.get("email")
    account.language = fields.get("language") or "zh-CN"
    account.unit = unit if role == "recommender" else None
    account.active = fields.get("active", True)
    account.updated_at = now
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
