"""Accounts tell the truth about set-password links (issue 15, point 9 a–c), in process: the
new-account page says whether the link was e-mailed, shows the whole link once with a copy
button, and a person who forgot the password asks for a sealed link by e-mail — the same answer
whatever was typed, rate-limited, audited — or, with e-mail off, is told to ask the office."""

from __future__ import annotations

import html
import re
import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from inprocess import InProcess, service_app
from sqlalchemy import select

from dossier.localstack import BackingServers
from services.intake import credentials, standing
from services.intake.models import Account
from shared.crypto import FieldCipher
from shared.messages.intake import INVITATION_LINK_PURPOSE

from .flows import new_uscc

PASSWORD = "Wintersonne-Gelb-42"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SMTP_ON = {"DOSSIER_NOTIFY_SMTP_HOST": "127.0.0.1", "DOSSIER_NOTIFY_SMTP_PORT": "1"}


def intake(backing: BackingServers, root: Path, mail: bool) -> InProcess:
    app = service_app(backing, root, "intake", SMTP_ON if mail else None)
    standing.publish_all(app.ctx)
    return app


def post_form(client: FlaskClient, path: str, form_page: str, data: dict[str, str]) -> Any:
    page = client.get(form_page, headers={"Accept-Language": "zh-CN"})
    token = CSRF.search(page.get_data(as_text=True))
    assert token is not None, page.get_data(as_text=True)[:500]
    return client.post(path, data={**data, "csrf_token": token.group(1)},
                       headers={"Accept-Language": "zh-CN"})


def visitor(app: InProcess, address: str) -> FlaskClient:
    """A browser from its own address: the reset limiter counts per address as well, and the
    test Redis outlives one run."""
    client = app.app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def fresh_address() -> str:
    return "10." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))


def main_of(page: str) -> str:
    """The page's own content (the frame carries a per-visitor form token)."""
    return page[page.index("<main"):page.index("</main>")]


def register_org(app: InProcess) -> str:
    code = new_uscc()
    client = visitor(app, fresh_address())
    r = post_form(client, "/register?kind=organisation", "/register?kind=organisation", {
        "credit_code": code, "name": "山西示例质量有限公司", "email": "contact@example.org",
        "password": PASSWORD, "password_again": PASSWORD})
    assert r.status_code == 303, r.get_data(as_text=True)[:800]
    return code


def invitations(app: InProcess, subject: str) -> list[dict[str, Any]]:
    table = app.ctx.outbox.table
    with app.ctx.db.reader() as session:
        rows = session.execute(select(table.c.payload).where(table.c.type == "account.invited")
                               .order_by(table.c.seq)).scalars().all()
    return [r["payload"] for r in rows if r["payload"]["subject"] == subject]


def _audit_rows(app: InProcess, action: str) -> list[dict[str, Any]]:
    table = app.ctx.audit.table
    with app.ctx.db.reader() as session:
        return [{"target": r.target, **(r.detail or {})} for r in session.execute(
            select(table).where(table.c.action == action).order_by(table.c.seq))]


@pytest.mark.parametrize("mail", [False, True])
def test_the_new_account_page_says_whether_the_link_was_e_mailed_and_shows_it_whole(
        backing: BackingServers, tmp_path: Path, mail: bool) -> None:
    app = intake(backing, tmp_path, mail)
    staff = app.auth("operator", "op-links")
    subject = f"expert.{uuid.uuid4().hex[:8]}"
    r = app.client.post("/accounts/new", headers={**staff, "Accept-Language": "zh-CN"}, data={
        "subject": subject, "role": "expert", "name": "王专家", "email": "wang@example.org",
        "language": "zh-CN"})
    assert r.status_code == 201, r.get_data(as_text=True)[:800]
    page = r.get_data(as_text=True)
    if mail:
        assert 'data-mail="sent"' in page and "已发送至" in page
    else:
        # Before: "It was also sent to their e-mail address" though e-mail was off.
        assert 'data-mail="off"' in page and "本系统未开启邮件发送" in page
        assert "已发送至" not in page
    link = re.search(r'<textarea id="set-password-link"[^>]*>([^<]+)</textarea>', page)
    assert link is not None and "/intake/set-password?token=" in html.unescape(link.group(1))
    assert 'data-copy="#set-password-link"' in page and "仅显示这一次" in page


def test_an_applicant_resets_a_forgotten_password_by_a_sealed_e_mailed_link(
        backing: BackingServers, tmp_path: Path) -> None:
    app = intake(backing, tmp_path, mail=True)
    code = register_org(app)
    browser = visitor(app, fresh_address())
    sign_in = browser.get("/sign-in", headers={"Accept-Language": "zh-CN"})
    assert 'href="/forgot-password"' in sign_in.get_data(as_text=True)

    known = post_form(browser, "/forgot-password", "/forgot-password", {"login": code})
    unknown = post_form(browser, "/forgot-password", "/forgot-password",
                        {"login": new_uscc()})
    assert known.status_code == unknown.status_code == 200
    # The same answer whether the account exists or not.
    assert main_of(known.get_data(as_text=True)) == main_of(unknown.get_data(as_text=True))
    assert "data-reset-asked" in known.get_data(as_text=True)

    subject = f"org-{code}"
    [invited] = invitations(app, subject)
    assert invited["reset"] is True and "token=" not in str(invited)  # sealed, never in clear
    link = FieldCipher(app.ctx.settings.field_key(),
                       INVITATION_LINK_PURPOSE).decrypt(invited["link_sealed"])
    token = link.split("token=", 1)[1]
    new_password = "Sommerregen-Blau-77"
    done = post_form(browser, "/set-password", f"/set-password?token={token}", {
        "token": token, "password": new_password, "password_again": new_password})
    assert done.status_code == 303
    with app.ctx.db.session() as session:
        outcome = credentials.attempt_sign_in(
            session, credentials.Identities(app.ctx.settings.field_key()),
            credentials.Throttle(_redis(app), app.ctx.settings.secret_key), app.ctx.audit,
            code, new_password, "127.0.0.9")
        assert outcome.account is not None and outcome.account.subject == subject

    requests = _audit_rows(app, "account.reset_requested")
    assert [(r["target"], r["sent"]) for r in requests] == [
        (f"account:{subject}", True), ("account:?", False)]


def test_reset_requests_are_rate_limited_per_login_and_say_nothing_more(
        backing: BackingServers, tmp_path: Path) -> None:
    app = intake(backing, tmp_path, mail=True)
    code = register_org(app)
    answers = set()
    for _ in range(credentials.RESET_LOGIN_LIMIT + 2):
        client = visitor(app, fresh_address())  # from anywhere: the login is what counts
        r = post_form(client, "/forgot-password", "/forgot-password", {"login": code})
        answers.add((r.status_code, main_of(r.get_data(as_text=True))))
    assert len(answers) == 1  # throttled or not, the same page
    assert len(invitations(app, f"org-{code}")) == credentials.RESET_LOGIN_LIMIT
    assert len(_audit_rows(app, "account.reset_throttled")) == 2


def test_with_e_mail_off_the_page_says_the_office_issues_links_and_sends_nothing(
        backing: BackingServers, tmp_path: Path) -> None:
    app = intake(backing, tmp_path, mail=False)
    code = register_org(app)
    page = app.client.get("/forgot-password", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-mail="off"' in text
    assert "评奖办公室" in text and "账号页面" in text and 'name="login"' not in text
    with app.ctx.db.reader() as session:
        assert session.get(Account, f"org-{code}") is not None
    assert invitations(app, f"org-{code}") == []


def _redis(app: InProcess) -> Any:
    import redis
    return redis.Redis.from_url(app.ctx.settings.redis_url)
