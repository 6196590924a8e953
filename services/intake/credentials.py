"""Browser sign-in for the accounts intake keeps: passwords, throttling, set-password links and
applicants' self-registration. Plain functions over a session (and Redis for the throttle); the
pages in `pages_account.py` are a thin layer over them.

- Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile)
  and re-hashed at the next sign-in when those parameters change. A password never reaches a
  log, an audit record, an event or an error message.
- Login names: staff sign in with their subject; organisations with their unified social credit
  code; individuals with their identity number, found through its blind index so the number is
  never stored in clear (`Credential.login_key`).
- Set-password links carry a random token of which only the SHA-256 is stored; a link works
  once, expires after `LINK_TTL`, and a newer link for the same account replaces older ones.
  The token rides in the query string (`?token=`), which access logs leave out, never in the
  path; `account.invited` carries the link sealed for notify, so the outbox, the broker's
  append-only file and notify's tables never hold it usable.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from marshmallow import ValidationError
from marshmallow.validate import Email
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.intake.accounts import save_account, scope_of, sign_out_everywhere
from services.intake.applications import Identities
from services.intake.identifiers import (
    is_valid_id_number,
    is_valid_uscc,
    normalise_id_number,
    normalise_uscc,
)
from services.intake.models import Account, Credential, PasswordLink
from services.intake.password_strength import weaknesses
from services.intake.units import UnitList
from shared import clock
from shared.audit import AuditLog
from shared.auth import Principal
from shared.config import Settings
from shared.crypto import FieldCipher, mask
from shared.db import Database
from shared.errors import DossierError
from shared.events import Outbox
from shared.messages.intake import INVITATION_LINK_PURPOSE
from shared.web.nav import N_

HASHER = PasswordHasher()  # argon2id
MIN_LENGTH = 10
MAX_LENGTH = 256  # hashing megabytes of "password" would be a cheap denial of service
LINK_TTL = timedelta(hours=72)
RESET_TTL = timedelta(hours=2)  # a link one asked for oneself is used at once or not at all
# Throttle: failures counted in a fixed window per client address; a success clears the
# account's count from that address.
WINDOW_SECONDS = 15 * 60
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
STAFF_ROLES = ("recommender", "expert", "operator", "supervisor")
SUBJECT_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,59}$")
SYSTEM = Principal(subject="system", role="admin")
# Verified against when the login name is unknown, so both cases take the same time.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
_THROTTLE = "dossier:signin:"


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def invalid(field_name: str, message: str) -> DossierError:
    return DossierError("validation.failed", errors={field_name: [message]})


# -- passwords ------------------------------------------------------------------------------

def check_password_rules(password: str, logins: Iterable[str | None],
                         details: Iterable[str | None] = ()) -> None:
    """At least 10 characters, not the login name (or another identifier of the account), and
    not easy to guess from common-password lists or the person's own `details`."""
    if len(password) < MIN_LENGTH:
        raise invalid("password", N_("The password needs at least 10 characters."))
    if len(password) > MAX_LENGTH:
        raise invalid("password", N_("The password may have at most 256 characters."))
    names = [v for v in logins if v]
    lowered = password.strip().lower()
    if any(lowered == v.strip().lower() for v in names):
        raise invalid("password", N_("The password must not be the same as the login name."))
    weak = weaknesses(password, [*names, *details])
    if weak:
        raise DossierError("validation.failed", errors={"password": weak})


def personal_details(account: Account) -> list[str | None]:
    """What a guesser may know of the person: fed to the strength check as its user inputs."""
    return [account.subject, login_name(account), account.name, account.email, account.unit,
            account.credit_code, account.id_masked]


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(credential: Credential | None, password: str) -> bool:
    """True when the password matches; re-hashes in place when the parameters changed."""
    stored = credential.password_hash if credential is not None else None
    try:
        HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if stored is None or credential is None:
        return False
    if HASHER.check_needs_rehash(stored):
        credential.password_hash = HASHER.hash(password)
    return True


def set_password(credential: Credential, account: Account, password: str, at: datetime
                 ) -> None:
    check_password_rules(password, [login_name(account), credential.subject],
                         personal_details(account))
    credential.password_hash = hash_password(password)
    credential.password_changed_at = at


# -- login names ----------------------------------------------------------------------------

def plain_key(login: str) -> str:
    return login.strip().lower()


def identity_key(ids: Identities, number: str) -> str:
    return "id:" + ids.index.blind_index(normalise_id_number(number))


def login_keys(ids: Identities, login: str) -> list[str]:
    """Every credential a typed login name may mean: the name itself, or an identity number."""
    keys = [plain_key(login)]
    if is_valid_id_number(login):
        keys.append(identity_key(ids, login))
    return keys


def login_name(account: Account) -> str:
    """What the person types to sign in (shown on the account page)."""
    if account.kind == "organisation" and account.credit_code:
        return account.credit_code
    if account.kind == "individual" and account.id_masked:
        return account.id_masked
    return account.subject


def ensure_credential(session: Session, account: Account, at: datetime) -> Credential:
    credential = session.get(Credential, account.subject)
    if credential is None:
        credential = Credential(subject=account.subject, login_key=plain_key(account.subject),
                                created_at=at)
        session.add(credential)
        session.flush()
    return credential


# -- throttle -------------------------------------------------------------------------------

@dataclass
class Throttle:
    """Failed sign-ins counted in Redis, always per client address (the one nginx saw; see
    shared/web/forwarded.py): per account from that address, and for all accounts from that
    address. So a stranger's failures hold back only the stranger's own address: neither an
    account nor every account can be locked for users signing in from elsewhere."""

    client: redis.Redis
    secret: str
    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window: int = WINDOW_SECONDS

    def _account(self, who: str, address: str) -> str:
        # Keyed by an HMAC: a login name may be an identity number, which Redis must not hold.
        digest = hmac.new(self.secret.encode(), b"signin:" + who.encode() + b"\0"
                          + address.encode(), hashlib.sha256)
        return f"{_THROTTLE}account:{digest.hexdigest()[:32]}"

    def _address(self, address: str) -> str:
        return f"{_THROTTLE}address:{address}"

    def _keys(self, who: str | None, address: str) -> list[tuple[str, int]]:
        keys = [(self._address(address), self.address_limit)]
        if who is not None:
            keys.insert(0, (self._account(who, address), self.account_limit))
        return keys

    def blocked_for(self, who: str | None, address: str) -> int:
        """Seconds until this account (None: any) may try again from this address (0: now)."""
        waits = []
        for key, limit in self._keys(who, address):
            count = self.client.get(key)
            if count is not None and int(count) >= limit:
                waits.append(max(1, int(self.client.ttl(key))))
        return max(waits, default=0)

    def failed(self, who: str | None, address: str) -> bool:
        """Count a failure; True when this one reached a limit (a lockout begins)."""
        reached = False
        for key, limit in self._keys(who, address):
            with self.client.pipeline() as pipe:
                pipe.incr(key)
                pipe.ttl(key)
                count, ttl = (int(v) for v in pipe.execute())
            if ttl < 0:  # the window starts at the first failure
                self.client.expire(key, self.window)
            reached = reached or count == limit
        return reached

    def succeeded(self, who: str, address: str) -> None:
        self.client.delete(self._account(who, address))


# -- sign-in --------------------------------------------------------------------------------

@dataclass
class SignInOutcome:
    """What one attempt came to; the caller commits the audit records first, then answers."""

    account: Account | None = None
    refused: str | None = None  # "wrong" | "disabled" | "throttled"
    retry_after: int = 0
    scope: dict[str, Any] = field(default_factory=dict)


def attempt_sign_in(session: Session, ids: Identities, throttle: Throttle, audit: AuditLog,
                    login: str, password: str, address: str) -> SignInOutcome:
    keys = login_keys(ids, login)
    credential = session.execute(select(Credential).where(Credential.login_key.in_(keys))
                                 .order_by(Credential.login_key)).scalars().first()
    account = session.get(Account, credential.subject) if credential is not None else None
    who = account.subject if account is not None else keys[0]
    target = f"account:{account.subject}" if account is not None else "account:?"
    actor = account.subject if account is not None else "anonymous"
    role = account.role if account is not None else "visitor"
    detail: dict[str, Any] = {"address": address}
    if account is None:
        detail["login"] = mask(login.strip(), 2, 2)  # enough to spot a pattern, not a number
    wait = throttle.blocked_for(who, address)
    if wait:
        audit.append(session, actor=actor, role=role, action="account.signin_throttled",
                     target=target, detail={**detail, "retry_after": wait})
        return SignInOutcome(refused="throttled", retry_after=wait)
    if not verify_password(credential, password):
        locked = throttle.failed(who, address)
        audit.append(session, actor=actor, role=role, action="account.signin_failed",
                     target=target, detail=detail)
        if locked:
            audit.append(session, actor=actor, role=role, action="account.signin_locked",
                         target=target, detail={**detail, "minutes": throttle.window // 60})
        return SignInOutcome(refused="wrong")
    assert account is not None
    if not account.active:
        audit.append(session, actor=actor, role=role, action="account.signin_refused",
                     target=target, detail={**detail, "reason": "disabled"})
        return SignInOutcome(refused="disabled")
    throttle.succeeded(who, address)
    audit.append(session, actor=actor, role=role, action="account.signed_in", target=target,
                 detail=detail)
    return SignInOutcome(account=account, scope=session_scope(account))


def session_scope(account: Account) -> dict[str, Any]:
    """The claims a session carries besides the role: a recommender's unit, from the record
    (the same scope every service's guard expects, `accounts.scope_of`)."""
    return scope_of(account)


class Throttled(DossierError):
    code = "account.throttled"
    status = 429
    zh = "失败次数过多，请 {minutes} 分钟后再试。"
    en = "Too many failed attempts; try again in {minutes} minutes."

    def __init__(self, seconds: int) -> None:
        super().__init__(minutes=max(1, (seconds + 59) // 60))
        self.retry_after = seconds


def change_password(session: Session, audit: AuditLog, throttle: Throttle, who: Principal,
                    current: str, new: str, address: str) -> Account:
    """A wrong current password counts like a failed sign-in: a stolen session cannot be used
    to guess the password."""
    wait = throttle.blocked_for(who.subject, address)
    if wait:
        raise Throttled(wait)
    account = session.get(Account, who.subject)
    credential = session.get(Credential, who.subject)
    if account is None or credential is None or not verify_password(credential, current):
        throttle.failed(who.subject, address)
        raise invalid("current", N_("The current password is not correct."))
    set_password(credential, account, new, now())
    # A stolen token or session must not outlive the password it was obtained with.
    sign_out_everywhere(session, account.subject)
    audit.append(session, actor=who.subject, role=who.role, action="account.password_changed",
                 target=f"account:{who.subject}", detail={})
    return account


# -- set-password links ---------------------------------------------------------------------

class LinkInvalid(DossierError):
    code = "account.link_invalid"
    status = 410
    zh = "该设置密码链接无效、已使用或已过期，请联系管理人员重新发送。"
    en = ("This set-password link is not valid, was already used or has expired; ask the "
          "award office for a new one.")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LinkForm:
    """Where set-password links point and how they travel to notify."""

    prefix: str  # the public origin's set-password page
    cipher: FieldCipher  # seals the link inside `account.invited`

    def url(self, token: str) -> str:
        return f"{self.prefix}?token={token}"


def link_form(settings: Settings) -> LinkForm:
    return LinkForm(f"{settings.public_url.rstrip('/')}/intake/set-password",
                    FieldCipher(settings.field_key(), INVITATION_LINK_PURPOSE))


def issue_link(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
               account: Account, links: LinkForm) -> tuple[str, datetime]:
    """A new one-time link for `account` (older unused ones stop working); e-mailed through
    notify (`account.invited`, sealed) and returned once for the operator to pass on."""
    link, expires = _issue(session, outbox, account, links, issued_by=who.subject, reset=False)
    audit.append(session, actor=who.subject, role=who.role, action="account.invited",
                 target=f"account:{account.subject}",
                 detail={"expires_at": expires.isoformat()})
    return link, expires


# -- forgotten passwords ----------------------------------------------------------------------

RESET_LOGIN_LIMIT = 3  # requests per login name per window, from anywhere: no mail bombing
RESET_ADDRESS_LIMIT = 10  # requests per client address per window: no probing in bulk
RESET_WINDOW = 60 * 60
_RESET = "dossier:reset:"


@dataclass
class ResetLimiter(Throttle):
    """Requests for a set-password link, counted like failed sign-ins but apart from them (a
    request never locks anyone's sign-in), per login name whatever the address."""

    account_limit: int = RESET_LOGIN_LIMIT
    address_limit: int = RESET_ADDRESS_LIMIT
    window: int = RESET_WINDOW

    def _account(self, who: str, address: str) -> str:
        digest = hmac.new(self.secret.encode(), b"reset:" + who.encode(), hashlib.sha256)
        return f"{_RESET}account:{digest.hexdigest()[:32]}"

    def _address(self, address: str) -> str:
        return f"{_RESET}address:{address}"


def _account_for_reset(session: Session, ids: Identities, login: str) -> Account | None:
    """The account a typed login name or e-mail address means, if exactly one does."""
    keys = login_keys(ids, login)
    credential = session.execute(select(Credential).where(Credential.login_key.in_(keys))
                                 .order_by(Credential.login_key)).scalars().first()
    if credential is not None:
        return session.get(Account, credential.subject)
    if "@" not in login:
        return None
    found = list(session.execute(select(Account).where(
        func.lower(Account.email) == login.strip().lower())).scalars().all())
    return found[0] if len(found) == 1 else None  # a shared address names nobody


def request_reset(db: Database, outbox: Outbox, audit: AuditLog, ids: Identities,
                  limiter: ResetLimiter, links: LinkForm, login: str, address: str,
                  mail_on: bool) -> None:
    """Someone forgot a password: e-mail the account a one-time link, sealed as invitations
    are. Says nothing back — the same answer whether the account exists, has an address, or
    the request was held back — and audits each request. With e-mail off nothing is sent:
    the page tells the person to ask the award office instead. Redis is asked between two
    short transactions, never inside one."""
    login = login.strip()[:200]
    with db.reader() as session:
        account = _account_for_reset(session, ids, login) if login else None
        subject = account.subject if account is not None else None
        role = account.role if account is not None else "visitor"
        reachable = bool(account is not None and account.active and account.email)
    who = subject or plain_key(login)
    detail: dict[str, Any] = {"address": address}
    if subject is None:
        detail["login"] = mask(login, 2, 2)
    wait = limiter.blocked_for(who, address)
    if not wait:
        limiter.failed(who, address)  # every request counts, answered or not
    sent = bool(mail_on and reachable and not wait)

    def record(session: Session) -> None:
        target = f"account:{subject}" if subject else "account:?"
        if wait:
            audit.append(session, actor=subject or "anonymous", role=role,
                         action="account.reset_throttled", target=target,
                         detail={**detail, "retry_after": wait})
            return
        audit.append(session, actor=subject or "anonymous", role=role,
                     action="account.reset_requested", target=target,
                     detail={**detail, "sent": sent})
        if sent:
            found = session.get(Account, subject)
            if found is not None and found.active:
                _issue(session, outbox, found, links, issued_by=found.subject, reset=True)

    db.transact(record)


def _issue(session: Session, outbox: Outbox, account: Account, links: LinkForm, *,
           issued_by: str, reset: bool) -> tuple[str, datetime]:
    """A new one-time link for `account`, its event sealed for notify; older unused links of
    the account stop working."""
    at = now()
    ensure_credential(session, account, at)
    session.execute(update(PasswordLink).where(
        PasswordLink.subject == account.subject, PasswordLink.used_at.is_(None),
        PasswordLink.revoked_at.is_(None)).values(revoked_at=at))
    token = secrets.token_urlsafe(32)
    expires = at + (RESET_TTL if reset else LINK_TTL)
    shown = expires.astimezone(clock.current().zone).isoformat()  # what the e-mail quotes
    session.add(PasswordLink(token_hash=_token_hash(token), subject=account.subject,
                             issued_by=issued_by, created_at=at, expires_at=expires))
    link = links.url(token)
    outbox.emit(session, "account.invited", {
        "subject": account.subject, "name": account.name,
        "link_sealed": links.cipher.encrypt(link), "expires_at": shown, "reset": reset,
        "audience": [{"subject": account.subject}]})
    return link, expires


def find_link(session: Session, token: str, lock: bool = False) -> PasswordLink:
    if not token or len(token) > 200:
        raise LinkInvalid()
    query = select(PasswordLink).where(PasswordLink.token_hash == _token_hash(token))
    if lock:
        query = query.with_for_update()
    link = session.execute(query).scalar_one_or_none()
    if (link is None or link.used_at is not None or link.revoked_at is not None
            or _aware(link.expires_at) <= now()):
        raise LinkInvalid()
    account = session.get(Account, link.subject)
    if account is None or not account.active:
        raise LinkInvalid()
    return link


def redeem_link(session: Session, audit: AuditLog, token: str, password: str) -> Account:
    """Set the password through a link, which is then spent."""
    link = find_link(session, token, lock=True)
    account = session.get(Account, link.subject)
    assert account is not None
    credential = ensure_credential(session, account, now())
    set_password(credential, account, password, now())
    sign_out_everywhere(session, account.subject)
    link.used_at = now()
    audit.append(session, actor=account.subject, role=account.role,
                 action="account.password_set", target=f"account:{account.subject}",
                 detail={"via": "link"})
    return account


# -- staff accounts -------------------------------------------------------------------------

def create_staff(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
                 units: UnitList, fields: dict[str, Any]) -> Account:
    subject = (fields.get("subject") or "").strip()
    if not SUBJECT_SHAPE.match(subject):
        raise invalid("subject", N_("3 to 60 letters, digits, dots, hyphens or underscores, "
                                    "starting with a letter or digit."))
    if session.get(Account, subject) is not None or session.execute(
            select(Credential).where(Credential.login_key == plain_key(subject))).first():
        raise invalid("subject", N_("This login name is already taken."))
    role = fields.get("role")
    if role not in STAFF_ROLES:
        raise invalid("role", N_("Choose one of the listed roles."))
    name = (fields.get("name") or "").strip()
    if not name:
        raise invalid("name", N_("Enter the name."))
    email = _email(fields.get("email"), required=False)
    unit = (fields.get("unit") or "").strip() or None
    if role == "recommender" and unit is None:
        raise invalid("unit", N_("A recommender account needs its unit."))
    try:
        account = save_account(session, outbox, audit, who, subject, units, {
            "role": role, "name": name, "email": email, "unit": unit if role == "recommender"
            else None, "language": fields.get("language") or "zh-CN", "active": True})
    except DossierError as exc:
        if exc.code == "account.unit_unknown":
            raise invalid("unit", N_("This unit is not in the list of recommending units.")
                          ) from exc
        raise
    ensure_credential(session, account, now())
    return account


def update_staff(session: Session, outbox: Outbox, audit: AuditLog, who: Principal,
                 units: UnitList, account: Account, fields: dict[str, Any]) -> bool:
    """Change a person's name, e-mail, language or (recommenders) unit; True when the claims
    their sessions carry changed, so those sessions must end."""
    name = (fields.get("name") or "").strip()
    if not name or len(name) > 200:
        raise invalid("name", N_("Enter the name (at most 200 characters)."))
    email = _email(fields.get("email"), required=False)
    language = fields.get("language") or account.language
    if language not in ("zh-CN", "en"):
        raise invalid("language", N_("Choose one of the listed languages."))
    unit = account.unit
    if account.role == "recommender":
        unit = (fields.get("unit") or "").strip() or None
        if unit is None:
            raise invalid("unit", N_("A recommender account needs its unit."))
        if units.get(unit) is None and unit != account.unit:
            raise invalid("unit", N_("This unit is not in the list of recommending units."))
    changed = unit != account.unit
    save_account(session, outbox, audit, who, account.subject, units, {
        "role": account.role, "name": name, "email": email, "language": language,
        "unit": unit, "active": account.active})
    return changed


def _email(value: Any, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise invalid("email", N_("Enter an e-mail address."))
        return None
    try:
        Email()(text)
    except ValidationError:
        raise invalid("email", N_("Not a valid e-mail address.")) from None
    if len(text) > 200:
        raise invalid("email", N_("Not a valid e-mail address."))
    return text


# -- applicants' self-registration ------------------------------------------------------------

class AlreadyRegistered(DossierError):
    code = "account.already_registered"
    status = 409
    zh = "该{what}已注册账号，请直接登录；忘记密码请联系管理人员。"
    en = "An account for this {what_en} already exists; sign in, or ask the award office to " \
         "reset the password."


def register_applicant(session: Session, outbox: Outbox, audit: AuditLog, ids: Identities,
                       units: UnitList, fields: dict[str, Any]) -> Account:
    """An organisation (credit code) or an individual (identity number) opens an account."""
    kind = fields.get("kind")
    if kind not in ("organisation", "individual"):
        raise invalid("kind", N_("Choose organisation or individual."))
    name = (fields.get("name") or "").strip()
    if not name or len(name) > 200:
        raise invalid("name", N_("Enter the name (at most 200 characters)."))
    errors: dict[str, list[str]] = {}
    if kind == "organisation":
        code = normalise_uscc(fields.get("credit_code") or "")
        if not is_valid_uscc(code):
            errors["credit_code"] = [N_("Not a valid unified social credit code: 18 characters "
                                        "whose last one is the check character.")]
        login, key, subject = code, plain_key(code), f"org-{code}"
    else:
        number = normalise_id_number(fields.get("id_number") or "")
        if not is_valid_id_number(number):
            errors["id_number"] = [N_("Not a valid identity number: 18 characters with a real "
                                      "birth date and the check digit of GB 11643.")]
        # The subject travels in events and URLs: never derived from the identity number.
        login, key, subject = number, (identity_key(ids, number) if not errors else ""), \
            f"person-{uuid.uuid4().hex[:16]}"
    try:
        email = _email(fields.get("email"), required=True)
    except DossierError as exc:
        errors.update(exc.errors or {})
    password = fields.get("password") or ""
    try:
        check_password_rules(password, [login, subject], [
            name, fields.get("email"), fields.get("credit_code"), fields.get("id_number")])
        if password != (fields.get("password_again") or ""):
            raise invalid("password_again", N_("The two passwords differ."))
    except DossierError as exc:
        errors.update(exc.errors or {})
    if errors:
        raise DossierError("validation.failed", errors=errors)
    taken = session.execute(select(Credential).where(Credential.login_key == key)).first()
    if taken is not None or session.get(Account, subject) is not None:
        if kind == "organisation":
            raise AlreadyRegistered(what="统一社会信用代码", what_en="credit code",
                                    errors={"credit_code": [N_("Already registered.")]})
        raise AlreadyRegistered(what="身份证号码", what_en="identity number",
                                errors={"id_number": [N_("Already registered.")]})
    me = Principal(subject=subject, role="applicant")
    account = save_account(session, outbox, audit, me, subject, units, {
        "role": "applicant", "name": name, "email": email,
        "language": fields.get("language") or "zh-CN", "active": True})
    account.kind = kind
    if kind == "organisation":
        account.credit_code = login
    else:
        account.id_number_cipher = ids.cipher.encrypt(login)
        account.id_masked = mask(login)
    at = now()
    session.add(Credential(subject=subject, login_key=key, password_hash=hash_password(password),
                           password_changed_at=at, created_at=at))
    session.flush()
    audit.append(session, actor=subject, role="applicant", action="account.registered",
                 target=f"account:{subject}", detail={"kind": kind})
    return account


def register_throttled(db: Database, outbox: Outbox, audit: AuditLog, ids: Identities,
                       units: UnitList, throttle: Throttle, address: str,
                       fields: dict[str, Any]) -> Account:
    """Registration as the page and the API offer it: `register_applicant` in its own
    transaction, behind the sign-in throttle of the client's address. "Already registered"
    tells whether an identity number has an account: those answers count against the address
    like failed sign-ins, so nobody can test numbers in bulk."""
    wait = throttle.blocked_for(None, address)
    if wait:
        raise Throttled(wait)
    try:
        with db.session() as session:
            return register_applicant(session, outbox, audit, ids, units, fields)
    except IntegrityError:
        # Two registrations for the same code at once: the other one won.
        throttle.failed(None, address)
        raise AlreadyRegistered(what="账号", what_en="login name") from None
    except AlreadyRegistered:
        throttle.failed(None, address)
        raise


# -- the first operator on a fresh installation ----------------------------------------------

def first_operator_link(session: Session, outbox: Outbox, audit: AuditLog, units: UnitList,
                        links: LinkForm) -> str | None:
    """While no active operator has a password, (re)create account `operator` and return a fresh
    one-time link for it; None once someone has signed up as operator."""
    has_password = session.execute(
        select(Credential.subject).join(Account, Account.subject == Credential.subject)
        .where(Account.role == "operator", Account.active.is_(True),
               Credential.password_hash.is_not(None)).limit(1)).first()
    if has_password is not None:
        return None
    account = session.get(Account, "operator")
    if account is None or account.role != "operator" or not account.active:
        account = save_account(session, outbox, audit, SYSTEM, "operator", units, {
            "role": "operator", "name": "operator", "email": None, "language": "zh-CN",
            "active": True})
    link, _expires = issue_link(session, outbox, audit, SYSTEM, account, links)
    return link
