"""Sign-in, registration, set-password links, accounts and the start page.

Thin views over `services.intake.credentials` (passwords, throttle, links, registration) and
`services.intake.accounts`. Sessions live in the shared Redis store (`shared.web.sessions`), so a
sign-in here is good for every service's pages.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request
from sqlalchemy import func, select

from services.intake import accounts, credentials, personal_tokens
from services.intake.api import identities, units
from services.intake.models import Account, Credential
from shared.auth import ROLES
from shared.errors import DossierError, NotFound
from shared.http import current_principal, roles, service_context
from shared.textsearch import contains_text
from shared.web.blueprint import PageBlueprint, public
from shared.web.browser import browser_session, end_session, optional_principal, start_session
from shared.web.language import LANG_COOKIE, _, language
from shared.web.nav import HOME_PATH, N_, nav_for
from shared.web.rendering import done, field_errors, problem_text, render, safe_next
from shared.web.state import sessions

blp = PageBlueprint("intake_account_pages", __name__)
SIGNED_IN = tuple(ROLES)
MANAGERS = ("operator", "admin")
PER_PAGE = 50
TOKEN_DAYS = (30, 90, 180, 365)
ROLE_LABELS = {"applicant": N_("Applicant"), "recommender": N_("Recommending unit"),
               "expert": N_("Expert"), "operator": N_("Award office operator"),
               "supervisor": N_("Supervisor"), "admin": N_("Administrator")}


def throttle() -> credentials.Throttle:
    return credentials.Throttle(sessions().redis, service_context().settings.secret_key)


def link_form() -> credentials.LinkForm:
    """Set-password links on the one public origin (also what the e-mail quotes)."""
    return credentials.link_form(service_context().settings)


def _sign_in_response(account: Account, scope: dict[str, Any], to: str) -> Response:
    response: Response = redirect(to, code=303)  # type: ignore[assignment]
    start_session(response, subject=account.subject, role=account.role, name=account.name,
                  scope=scope)
    if not request.cookies.get(LANG_COOKIE):
        # The account's language applies unless this browser already chose one.
        response.set_cookie(LANG_COOKIE, account.language, max_age=365 * 24 * 3600, path="/",
                            samesite="Lax", httponly=True, secure=request.is_secure)
    return response


def _unit_options() -> list[tuple[str, str]]:
    en = language() == "en"
    return [(u.code, u.name_en if en else u.name) for u in units().units]


def _role_options() -> list[tuple[str, str]]:
    return [(r, _(ROLE_LABELS[r])) for r in credentials.STAFF_ROLES]


# -- start page -------------------------------------------------------------------------------

@blp.get("/")
@public
def start() -> Any:
    """What the system is and where to go next, per role."""
    who = optional_principal()
    sections = [link for link in nav_for(who.role if who else None, "", "")
                if not link.path.startswith("/review/public/")]
    return render("intake/account/start.html", sections=sections,
                  role_label=_(ROLE_LABELS.get(who.role, who.role)) if who else "")


# -- sign-in and sign-out -----------------------------------------------------------------------

@blp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in() -> Any:
    target = safe_next(request.values.get("next"), HOME_PATH)
    if request.method == "GET":
        return render("intake/account/sign_in.html", next=target, login="")
    login = (request.form.get("login") or "").strip()[:200]
    password = request.form.get("password") or ""
    ctx = service_context()
    with ctx.db.session() as session:
        outcome = credentials.attempt_sign_in(session, identities(), throttle(), ctx.audit,
                                              login, password, request.remote_addr or "-")
        account = outcome.account
    if outcome.refused == "throttled":
        minutes = max(1, (outcome.retry_after + 59) // 60)
        body, status = render("intake/account/sign_in.html", 429, next=target, login=login,
                              problem=_("Too many failed attempts. Try again in %(n)s minutes.",
                                        n=minutes))
        return Response(body, status=status, headers={"Retry-After": str(outcome.retry_after)},
                        mimetype="text/html")
    if outcome.refused == "disabled":
        return render("intake/account/sign_in.html", 403, next=target, login=login,
                      problem=_("This account is disabled. Contact the award office."))
    if account is None:
        return render("intake/account/sign_in.html", 401, next=target, login=login,
                      problem=_("The login name or the password is wrong."))
    return _sign_in_response(account, outcome.scope, target)


@blp.post("/sign-out")
@public
def sign_out() -> Any:
    response: Response = redirect(HOME_PATH, code=303)  # type: ignore[assignment]
    end_session(response)
    return response


# -- applicants register themselves ---------------------------------------------------------------

@blp.route("/register", methods=["GET", "POST"])
@public
def register() -> Any:
    kind = request.values.get("kind") or "organisation"
    if kind not in ("organisation", "individual"):
        kind = "organisation"
    if request.method == "GET":
        return render("intake/account/register.html", kind=kind, form={})
    form = {k: request.form.get(k, "") for k in ("name", "credit_code", "id_number", "email",
                                                  "password", "password_again")}
    ctx = service_context()
    try:
        account = credentials.register_throttled(
            ctx.db, ctx.outbox, ctx.audit, identities(), units(), throttle(),
            request.remote_addr or "-", {**form, "kind": kind, "language": language()})
    except DossierError as exc:
        return _register_error(kind, form, exc)
    scope = credentials.session_scope(account)
    response = _sign_in_response(account, scope, HOME_PATH)
    flash(_("Your account is ready; you are signed in."), "success")
    return response


def _register_error(kind: str, form: dict[str, str], exc: DossierError) -> Any:
    safe = {k: v for k, v in form.items() if not k.startswith("password")}
    return render("intake/account/register.html", exc.status, kind=kind, form=safe,
                  problem=problem_text(exc), errors=field_errors(exc))


# -- set-password links ---------------------------------------------------------------------------

@blp.route("/set-password", methods=["GET", "POST"])
@public
def set_password() -> Any:
    # The token comes in the link's query string and goes back in the form's body: access
    # logs record neither (the Referer is never sent: `Referrer-Policy: no-referrer`).
    ctx = service_context()
    if request.method == "GET":
        token = request.args.get("token") or ""
        with ctx.db.reader() as session:
            link = credentials.find_link(session, token)
            account = session.get(Account, link.subject)
            assert account is not None
            login = credentials.login_name(account)
        return render("intake/account/set_password.html", login=login, token=token)
    token = request.form.get("token") or ""
    password = request.form.get("password") or ""
    try:
        if password != (request.form.get("password_again") or ""):
            raise credentials.invalid("password_again", N_("The two passwords differ."))
        with ctx.db.session() as session:
            account = credentials.redeem_link(session, ctx.audit, token, password)
            scope = credentials.session_scope(account)
            login = credentials.login_name(account)
    except credentials.LinkInvalid:
        raise
    except DossierError as exc:
        with ctx.db.reader() as session:
            link = credentials.find_link(session, token)
            owner = session.get(Account, link.subject)
            login = credentials.login_name(owner) if owner else ""
        return render("intake/account/set_password.html", exc.status, login=login, token=token,
                      problem=problem_text(exc), errors=field_errors(exc))
    sessions().drop_all(account.subject)  # a reset ends whatever sessions there were
    response = _sign_in_response(account, scope, HOME_PATH)
    flash(_("Your password is set; you are signed in."), "success")
    return response


# -- forgotten passwords ----------------------------------------------------------------------

def reset_limiter() -> credentials.ResetLimiter:
    return credentials.ResetLimiter(sessions().redis, service_context().settings.secret_key)


@blp.route("/forgot-password", methods=["GET", "POST"])
@public
def forgot_password() -> Any:
    """Ask for a one-time link by e-mail; the answer is the same whatever was typed."""
    ctx = service_context()
    mail_on = ctx.settings.mail_enabled
    if request.method == "GET" or not mail_on:
        return render("intake/account/forgot_password.html", mail_on=mail_on, asked=False)
    credentials.request_reset(ctx.db, ctx.outbox, ctx.audit, identities(), reset_limiter(),
                              link_form(), request.form.get("login") or "",
                              request.remote_addr or "-", mail_on)
    return render("intake/account/forgot_password.html", mail_on=mail_on, asked=True)


# -- one's own account ----------------------------------------------------------------------------

def _my_account() -> tuple[Account | None, bool]:
    with service_context().db.reader() as session:
        account = session.get(Account, current_principal().subject)
        credential = session.get(Credential, current_principal().subject)
        has_password = credential is not None and credential.password_hash is not None
    return account, has_password


def _account_page(status: int = 200, **extra: Any) -> Any:
    account, has_password = _my_account()
    with service_context().db.reader() as session:
        tokens = personal_tokens.mine(session, current_principal())
    return render("intake/account/account.html", status, account=account,
                  has_password=has_password, tokens=tokens, is_live=personal_tokens.is_live,
                  token_days_options=[(str(d), _("%(n)s days", n=d)) for d in TOKEN_DAYS],
                  login=credentials.login_name(account) if account else "",
                  role_label=_(ROLE_LABELS.get(current_principal().role,
                                               current_principal().role)), **extra)


@blp.get("/account")
@roles(*SIGNED_IN)
def my_account() -> Any:
    return _account_page()


@blp.post("/account")
@roles(*SIGNED_IN)
def save_my_account() -> Any:
    ctx = service_context()
    who = current_principal()
    form = {"name": (request.form.get("name") or "").strip(),
            "email": (request.form.get("email") or "").strip() or None,
            "language": request.form.get("language") or "zh-CN"}
    try:
        if not form["name"]:
            raise credentials.invalid("name", N_("Enter the name."))
        if form["language"] not in ("zh-CN", "en"):
            raise credentials.invalid("language", N_("Choose one of the listed languages."))
        with ctx.db.session() as session:
            account = session.get(Account, who.subject)
            if account is None:
                raise NotFound()
            form["email"] = credentials._email(form["email"], required=False)
            accounts.save_account(session, ctx.outbox, ctx.audit, who, who.subject, units(), {
                "role": account.role, "unit": account.unit, "active": account.active, **form})
    except DossierError as exc:
        return _account_page(exc.status, problem=problem_text(exc), errors=field_errors(exc),
                             form=form)
    response = done(_("Your details are saved."), "/intake/account")
    response.set_cookie(LANG_COOKIE, str(form["language"]), max_age=365 * 24 * 3600, path="/",
                        samesite="Lax", httponly=True, secure=request.is_secure)
    return response


@blp.post("/account/password")
@roles(*SIGNED_IN)
def change_password() -> Any:
    ctx = service_context()
    who = current_principal()
    new = request.form.get("password") or ""
    try:
        if new != (request.form.get("password_again") or ""):
            raise credentials.invalid("password_again", N_("The two passwords differ."))
        with ctx.db.session() as session:
            account = credentials.change_password(session, ctx.audit, throttle(), who,
                                                  request.form.get("current") or "", new,
                                                  request.remote_addr or "-")
            scope = credentials.session_scope(account)
    except DossierError as exc:
        return _account_page(exc.status, problem=problem_text(exc), errors=field_errors(exc),
                             section="password")
    # Every other browser signed in as this account is signed out; this one gets a new session.
    sessions().drop_all(who.subject)
    response = _sign_in_response(account, scope, "/intake/account")
    flash(_("Your password is changed; other sessions were signed out."), "success")
    return response


@blp.post("/account/sign-out-everywhere")
@roles(*SIGNED_IN)
def sign_out_everywhere() -> Any:
    response: Response = redirect(HOME_PATH, code=303)  # type: ignore[assignment]
    ended = end_session(response, everywhere=True)
    ctx = service_context()
    session_info = browser_session()
    with ctx.db.session() as session:
        # Bearer tokens too, on every service: whatever began before now is void.
        accounts.sign_out_everywhere(session, current_principal().subject)
        ctx.audit.append(session, actor=current_principal().subject,
                         role=current_principal().role, action="account.signed_out_everywhere",
                         target=f"account:{current_principal().subject}",
                         detail={"sessions": ended,
                                 "session": session_info.public_id if session_info else ""})
    return response


@blp.post("/account/tokens")
@roles(*SIGNED_IN)
def create_token() -> Any:
    """A personal API token, shown on the answer page once (the same domain function as the
    API's `POST /api/me/tokens`)."""
    ctx = service_context()
    name = (request.form.get("token_name") or "").strip()
    try:
        days = int(request.form.get("token_days") or personal_tokens.DEFAULT_DAYS)
    except ValueError:
        days = 0  # refused with the field's message below
    try:
        with ctx.db.session() as session:
            made = personal_tokens.create(session, ctx.audit, ctx.settings.secret_key,
                                          current_principal(), name, days)
    except DossierError as exc:
        # The token form's fields carry a prefix: the details form on the same page has `name`.
        errors = {f"token_{k}": v for k, v in field_errors(exc).items()}
        return _account_page(exc.status, problem=problem_text(exc), errors=errors,
                             token_form={"name": name, "days": days})
    return _account_page(201, made=made.row, made_token=made.token)


@blp.post("/account/tokens/<token_id>/revoke")
@roles(*SIGNED_IN)
def revoke_token(token_id: str) -> Any:
    ctx = service_context()
    with ctx.db.session() as session:
        row = personal_tokens.revoke(session, ctx.audit, current_principal(), token_id)
        name = row.name
    return done(_("The token %(name)s is revoked; every service refuses it now.", name=name),
                "/intake/account")


# -- operators manage staff accounts ------------------------------------------------------------

@blp.get("/accounts")
@roles(*MANAGERS)
def list_accounts() -> Any:
    role = request.args.get("role") or ""
    active = request.args.get("active") or ""
    q = (request.args.get("q") or "").strip()
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    query = select(Account).order_by(Account.role, Account.subject)
    if role in accounts.ACCOUNT_ROLES:
        query = query.where(Account.role == role)
    if active in ("yes", "no"):
        query = query.where(Account.active.is_(active == "yes"))
    if q:
        query = query.where(contains_text(q, Account.name, Account.subject))
    with service_context().db.reader() as session:
        total = session.execute(select(func.count()).select_from(
            query.order_by(None).subquery())).scalar_one()
        rows = list(session.execute(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE))
                    .scalars())
        with_password = set(session.execute(select(Credential.subject).where(
            Credential.subject.in_([a.subject for a in rows]),
            Credential.password_hash.is_not(None))).scalars())
    unit_names = dict(_unit_options())
    role_options = [("", _("All roles"))] + [(r, _(ROLE_LABELS[r]))
                                             for r in accounts.ACCOUNT_ROLES]
    return render("intake/account/accounts.html", rows=rows, total=total, page=page,
                  pages=max(1, (total + PER_PAGE - 1) // PER_PAGE), with_password=with_password,
                  filters={"role": role, "active": active, "q": q}, role_options=role_options,
                  role_labels=ROLE_LABELS, unit_names=unit_names)


@blp.route("/accounts/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def new_account() -> Any:
    if request.method == "GET":
        return render("intake/account/account_new.html", form={"role": "recommender"},
                      roles=_role_options(), units=_unit_options())
    form = {k: (request.form.get(k) or "").strip()
            for k in ("subject", "role", "name", "email", "unit", "language")}
    ctx = service_context()
    try:
        with ctx.db.session() as session:
            account = credentials.create_staff(session, ctx.outbox, ctx.audit,
                                               current_principal(), units(), form)
            link, expires = credentials.issue_link(session, ctx.outbox, ctx.audit,
                                                   current_principal(), account, link_form())
            subject, name, email = account.subject, account.name, account.email
    except DossierError as exc:
        return render("intake/account/account_new.html", exc.status, form=form,
                      roles=_role_options(), units=_unit_options(), problem=problem_text(exc),
                      errors=field_errors(exc))
    return render("intake/account/link_issued.html", 201, subject=subject, name=name,
                  link=link, expires=expires, created=True, email=email,
                  mail_on=ctx.settings.mail_enabled)


def _load(session: Any, subject: str) -> Account:
    account = session.get(Account, subject)
    if account is None:
        raise NotFound()
    return account


@blp.get("/accounts/<subject>")
@roles(*MANAGERS)
def account_detail(subject: str) -> Any:
    return _detail_page(subject)


def _detail_page(subject: str, status: int = 200, **extra: Any) -> Any:
    with service_context().db.reader() as session:
        account = _load(session, subject)
        credential = session.get(Credential, subject)
        has_password = credential is not None and credential.password_hash is not None
    unit_names = dict(_unit_options())
    return render("intake/account/account_detail.html", status, account=account,
                  has_password=has_password, login=credentials.login_name(account),
                  role_label=_(ROLE_LABELS.get(account.role, account.role)),
                  unit_name=unit_names.get(account.unit or "", account.unit or ""),
                  units=_unit_options(), is_me=account.subject == current_principal().subject,
                  **extra)


@blp.post("/accounts/<subject>")
@roles(*MANAGERS)
def edit_account(subject: str) -> Any:
    """Name, e-mail, language and a recommender's unit; moving someone to another unit signs
    them out (their sessions carry the old unit)."""
    ctx = service_context()
    form = {k: (request.form.get(k) or "").strip() for k in ("name", "email", "unit",
                                                             "language")}
    try:
        with ctx.db.session() as session:
            account = _load(session, subject)
            changed = credentials.update_staff(session, ctx.outbox, ctx.audit,
                                               current_principal(), units(), account, form)
    except DossierError as exc:
        if exc.status == 404:
            raise
        return _detail_page(subject, exc.status, problem=problem_text(exc),
                            errors=field_errors(exc), form=form)
    if changed:
        sessions().drop_all(subject)
    return done(_("The account is saved."), f"/intake/accounts/{subject}")


@blp.post("/accounts/<subject>/active")
@roles(*MANAGERS)
def set_active(subject: str) -> Any:
    """Deactivate (signs the person out of every browser at once) or reactivate."""
    ctx = service_context()
    who = current_principal()
    active = request.form.get("active") == "yes"
    if subject == who.subject and not active:
        raise DossierError("account.self_disable", status=409,
                           zh="不能停用自己的账号。", en="You cannot disable your own account.")
    with ctx.db.session() as session:
        account = _load(session, subject)
        accounts.save_account(session, ctx.outbox, ctx.audit, who, subject, units(), {
            "role": account.role, "name": account.name, "email": account.email,
            "language": account.language, "unit": account.unit, "active": active})
    if not active:
        sessions().drop_all(subject)
    return done(_("The account is active again.") if active
                else _("The account is disabled and signed out everywhere."),
                f"/intake/accounts/{subject}")


@blp.post("/accounts/<subject>/link")
@roles(*MANAGERS)
def reissue_link(subject: str) -> Any:
    """A new one-time set-password link (the older ones stop working)."""
    ctx = service_context()
    with ctx.db.session() as session:
        account = _load(session, subject)
        if not account.active:
            raise DossierError("account.inactive", status=409,
                               zh="账号已停用，请先重新启用。",
                               en="The account is disabled; reactivate it first.")
        link, expires = credentials.issue_link(session, ctx.outbox, ctx.audit,
                                               current_principal(), account, link_form())
        name, email = account.name, account.email
    return render("intake/account/link_issued.html", subject=subject, name=name, link=link,
                  expires=expires, created=False, email=email,
                  mail_on=ctx.settings.mail_enabled)
