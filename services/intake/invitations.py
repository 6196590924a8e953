"""Set-password links from the command line: the first operator of a fresh installation
(`make run`) and `dossier invite`. Works on intake's database directly, before or beside the
running service; the e-mail goes out when intake's worker relays `account.invited`."""

from __future__ import annotations

from services.intake import credentials, standing
from services.intake.accounts import save_account
from services.intake.models import Account, metadata
from services.intake.units import current as current_units
from shared.config import Settings
from shared.errors import DossierError
from shared.service import ServiceContext


def _context(settings: Settings) -> ServiceContext:
    ctx = ServiceContext.create("intake", metadata, settings)
    standing.install(ctx)  # a reactivated account stands again at once, not at the next rewrite
    return ctx


def first_operator_link(settings: Settings) -> str | None:
    """A one-time link for account `operator` while no operator has a password yet."""
    ctx = _context(settings)
    try:
        with ctx.db.session() as session:
            return credentials.first_operator_link(
                session, ctx.outbox, ctx.audit, current_units(session, settings.intake_units_file),
                credentials.link_form(settings))
    finally:
        ctx.db.engine.dispose()


def invite(settings: Settings, *, role: str, subject: str, name: str,
           unit: str | None = None, email: str | None = None) -> str:
    """Create the staff account if it is new (an existing one must have the same role), then
    issue a fresh one-time link for it."""
    ctx = _context(settings)
    try:
        with ctx.db.session() as session:
            units = current_units(session, settings.intake_units_file)
            account = session.get(Account, subject)
            if account is None:
                account = credentials.create_staff(
                    session, ctx.outbox, ctx.audit, credentials.SYSTEM, units,
                    {"subject": subject, "role": role, "name": name, "unit": unit,
                     "email": email})
            elif account.role != role:
                raise DossierError("account.role_differs", status=409,
                                   zh="账号 {subject} 已存在，角色为 {role}。",
                                   en="Account {subject} exists with role {role}.",
                                   subject=subject, role=account.role)
            elif not account.active:
                account = save_account(session, ctx.outbox, ctx.audit, credentials.SYSTEM,
                                       subject, units, {
                                           "role": account.role, "name": account.name,
                                           "email": account.email, "unit": account.unit,
                                           "language": account.language, "active": True})
            link, _expires = credentials.issue_link(session, ctx.outbox, ctx.audit,
                                                    credentials.SYSTEM, account,
                                                    credentials.link_form(settings))
            return link
    finally:
        ctx.db.engine.dispose()
