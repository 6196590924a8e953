"""Browser sign-in and accounts through the one origin: registration, sign-in and its throttle,
sessions and their cookie, set-password links, operators managing staff accounts."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests
from intake.flows import new_id_number, new_uscc
from sqlalchemy import create_engine, text
from waiting import poll

from dossier.localstack import AppStack
from shared.config import load_settings
from shared.crypto import FieldCipher
from shared.messages.intake import INVITATION_LINK_PURPOSE
from shared.web.sessions import COOKIE, SessionStore

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK = re.compile(r'<textarea id="set-password-link"[^>]*>([^<]+)</textarea>')
PASSWORD = "correct horse 42"
UNIT = "140902"


class Visitor:
    """A browser without JavaScript: reads each form's CSRF token from the page it came from."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.http = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.http.get(self._url(path), allow_redirects=False, timeout=20)

    def post(self, path: str, data: dict[str, str], form_page: str | None = None
             ) -> requests.Response:
        page = self.get(form_page or path)
        token = CSRF.search(page.text)
        assert token, page.text[:500]
        return self.http.post(self._url(path), data={"csrf_token": token.group(1), **data},
                              allow_redirects=False, timeout=20)

    def sign_in(self, login: str, password: str = PASSWORD, next: str = ""
                ) -> requests.Response:
        path = "/intake/sign-in" + (f"?next={next}" if next else "")
        return self.post(path, {"login": login, "password": password})

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.origin + path

    @property
    def signed_in(self) -> bool:
        return self.get("/intake/account").status_code == 200


@pytest.fixture
def visitor(stack: AppStack) -> Iterator[Callable[[], Visitor]]:
    made: list[Visitor] = []

    def make() -> Visitor:
        made.append(Visitor(stack.public_url))
        return made[-1]

    yield make
    for v in made:
        v.http.close()


@pytest.fixture(scope="module")
def store(stack: AppStack) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"], decode_responses=True)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def fresh_address_counter(store: redis.Redis) -> Iterator[None]:
    """Every test here signs in from 127.0.0.1 through the proxy: the per-address count starts
    empty, and is emptied again so later tests (other modules too) can sign in."""
    def clear() -> None:
        for key in store.scan_iter("dossier:signin:address:*"):
            store.delete(key)

    clear()
    yield
    clear()


@pytest.fixture
def operator(browser_login: Callable[..., Any]) -> Any:
    return browser_login("operator", f"op-acct-{uuid.uuid4().hex[:6]}", "账号管理员")


def new_staff(operator: Any, role: str, unit: str = "", name: str = "王专家") -> tuple[str, str]:
    subject = f"{role}.{uuid.uuid4().hex[:8]}"
    r = operator.post("/intake/accounts/new", {"subject": subject, "role": role, "name": name,
                                               "email": f"{subject}@example.org", "unit": unit,
                                               "language": "zh-CN"})
    assert r.status_code == 201, r.text
    return subject, html.unescape(LINK.search(r.text).group(1))  # type: ignore[union-attr]


def path_of(link: str, stack: AppStack) -> str:
    assert link.startswith(stack.public_url + "/intake/set-password?token=")
    return link.removeprefix(stack.public_url)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def set_password(v: Visitor, path: str, password: str = PASSWORD) -> requests.Response:
    """The form the link's page shows: it posts the token in its body, not in the address."""
    page = v.get(path)
    assert f'name="token" value="{token_of(path)}"' in page.text or page.status_code != 200
    return v.post("/intake/set-password", {"token": token_of(path), "password": password,
                                           "password_again": password}, form_page=path)


def register_org(v: Visitor, code: str, name: str = "山西示例质量有限公司") -> requests.Response:
    return v.post("/intake/register?kind=organisation", {
        "credit_code": code, "name": name, "email": "contact@example.org",
        "password": PASSWORD, "password_again": PASSWORD})


def register_person(v: Visitor, number: str, name: str = "李质量") -> requests.Response:
    return v.post("/intake/register?kind=individual", {
        "id_number": number, "name": name, "email": "li@example.org",
        "password": PASSWORD, "password_again": PASSWORD})


def audit(stack: AppStack, action: str, target: str) -> list[Any]:
    return stack.query("intake", "SELECT actor, detail FROM audit_log WHERE action = :a AND "
                       "target = :t ORDER BY seq", a=action, t=target)


# -- registration ---------------------------------------------------------------------------

def test_an_organisation_registers_with_its_credit_code_and_signs_in_with_it(
        stack: AppStack, visitor: Callable[[], Visitor]) -> None:
    code = new_uscc()
    v = visitor()
    r = register_org(v, code)
    assert r.status_code == 303 and r.headers["Location"] == "/intake/"
    cookie = next(c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    start = v.get("/intake/")
    assert 'href="/intake/packets"' in start.text and "[[untranslated" not in start.text
    subject = f"org-{code}"
    saved = [row.payload["payload"] for row in stack.outbox("intake", "account.saved")
             if row.payload["payload"]["subject"] == subject]
    assert saved and saved[0]["role"] == "applicant" and saved[0]["email"] == "contact@example.org"
    assert audit(stack, "account.registered", f"account:{subject}")

    again = visitor()
    r = again.sign_in(code.lower())  # typed in lower case still finds the code
    assert r.status_code == 303 and again.signed_in


def test_registration_refuses_bad_codes_and_a_second_account_for_the_same_code(
        visitor: Callable[[], Visitor]) -> None:
    v = visitor()
    code = new_uscc()
    broken = code[:-1] + ("0" if code[-1] != "0" else "1")
    r = register_org(v, broken)
    assert r.status_code == 422 and 'id="e-credit_code"' in r.text
    assert "统一社会信用代码无效" in r.text and "[[untranslated" not in r.text
    r = v.post("/intake/register?kind=individual", {
        "id_number": "140902198005171230", "name": "某人", "email": "x@example.org",
        "password": "short", "password_again": "short"})
    assert r.status_code == 422 and "身份证号码无效" in r.text and "至少需要 10 个字符" in r.text
    assert 'value="short"' not in r.text  # a password is never echoed back
    r = v.post("/intake/register?kind=organisation&lang=en", {
        "credit_code": code, "name": "Same Name Ltd", "email": "a@example.org",
        "password": code, "password_again": code})
    assert r.status_code == 422 and "must not be the same as the login name" in r.text
    r = v.post("/intake/register?kind=organisation&lang=zh-CN", {
        "credit_code": code, "name": "同名公司", "email": "a@example.org",
        "password": "password12", "password_again": "password12"})
    assert r.status_code == 422 and 'id="e-password"' in r.text
    assert "出现在常用密码或已泄露密码的列表中" in r.text and "由几个不常见的词组成" in r.text
    assert "[[untranslated" not in r.text
    assert register_org(v, code).status_code == 303
    other = visitor()
    r = register_org(other, code, "另一家公司")
    assert r.status_code == 409 and 'id="e-credit_code"' in r.text
    assert "[[untranslated" not in r.text


def test_an_individual_registers_with_the_identity_number_kept_encrypted(
        stack: AppStack, visitor: Callable[[], Visitor], store: redis.Redis) -> None:
    number = new_id_number()
    v = visitor()
    r = register_person(v, number)
    assert r.status_code == 303
    session = SessionStore(store, 60, 60).get(v.http.cookies[COOKIE])
    assert session is not None and session.role == "applicant"
    assert session.subject.startswith("person-") and number not in session.subject
    row = stack.query("intake", "SELECT id_number_cipher, id_masked FROM accounts "
                      "WHERE subject = :s", s=session.subject)[0]
    assert number not in row.id_number_cipher and row.id_masked.endswith(number[-4:])
    assert not stack.query("intake", "SELECT 1 FROM credentials WHERE login_key LIKE :n",
                           n=f"%{number}%")
    assert register_person(visitor(), number, "冒名者").status_code == 409
    again = visitor()
    assert again.sign_in(number).status_code == 303 and again.signed_in
    assert f"{row.id_masked}" in again.get("/intake/account").text


# -- sign-in, its throttle and sessions ----------------------------------------------------------

def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(
        stack: AppStack, visitor: Callable[[], Visitor]) -> None:
    code = new_uscc()
    assert register_org(visitor(), code).status_code == 303
    v = visitor()
    wrong = v.sign_in(code, "not the password")
    unknown = v.sign_in(new_uscc(), "not the password")
    assert wrong.status_code == unknown.status_code == 401
    for r in (wrong, unknown):
        assert "登录名或密码错误" in r.text and COOKIE not in r.headers.get("Set-Cookie", "")
    assert audit(stack, "account.signin_failed", f"account:org-{code}")
    assert "not the password" not in str(stack.query(
        "intake", "SELECT detail FROM audit_log WHERE action LIKE 'account.%'"))


def test_five_failures_lock_the_account_and_a_success_clears_the_count(
        stack: AppStack, visitor: Callable[[], Visitor]) -> None:
    code = new_uscc()
    assert register_org(visitor(), code).status_code == 303
    v = visitor()
    for _ in range(4):
        assert v.sign_in(code, "wrong password").status_code == 401
    assert v.sign_in(code).status_code == 303  # clears the account's count
    for _ in range(4):
        assert v.sign_in(code, "wrong password").status_code == 401
    assert v.sign_in(code, "wrong password").status_code == 401  # the fifth: locked now
    r = v.sign_in(code)  # even the right password waits
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 900
    assert "15 分钟后再试" in r.text
    assert audit(stack, "account.signin_locked", f"account:org-{code}")
    assert audit(stack, "account.signin_throttled", f"account:org-{code}")
    # Another account from the same address is not affected by this account's lock.
    other = new_uscc()
    assert register_org(visitor(), other).status_code == 303
    assert visitor().sign_in(other).status_code == 303


def test_twenty_failures_from_one_address_hold_back_every_account_from_it(
        visitor: Callable[[], Visitor]) -> None:
    code = new_uscc()
    assert register_org(visitor(), code).status_code == 303
    v = visitor()
    for i in range(20):  # 20 different names, none of them locked on its own
        assert v.sign_in(f"nobody-{i}-{uuid.uuid4().hex[:4]}", "guess").status_code == 401
    r = visitor().sign_in(code)
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_probing_identity_numbers_by_registering_is_throttled(
        visitor: Callable[[], Visitor]) -> None:
    number = new_id_number()
    assert register_person(visitor(), number).status_code == 303
    v = visitor()
    for _ in range(20):  # "already registered" tells the number has an account
        assert register_person(v, number).status_code == 409
    r = register_person(v, new_id_number())
    assert r.status_code == 429 and "分钟后再试" in r.text


def test_guessing_the_current_password_in_a_session_is_throttled(
        visitor: Callable[[], Visitor]) -> None:
    code = new_uscc()
    v = visitor()
    assert register_org(v, code).status_code == 303
    for _ in range(5):
        r = v.post("/intake/account/password", {"current": "a guess 123", "password": "x" * 12,
                                                "password_again": "x" * 12},
                   form_page="/intake/account")
        assert r.status_code == 422
    r = v.post("/intake/account/password", {"current": PASSWORD, "password": "y" * 12,
                                            "password_again": "y" * 12},
               form_page="/intake/account")
    assert r.status_code == 429
    assert visitor().sign_in(code).status_code == 429  # the account is locked for sign-in too


def test_sign_in_form_without_its_csrf_token_is_refused(stack: AppStack) -> None:
    with requests.Session() as http:
        http.get(f"{stack.public_url}/intake/sign-in", timeout=10)
        r = http.post(f"{stack.public_url}/intake/sign-in", timeout=10, allow_redirects=False,
                      data={"login": "x", "password": "y" * 12})
        assert r.status_code == 403 and "表单已过期" in r.text


def test_sign_in_goes_to_next_only_on_this_site(visitor: Callable[[], Visitor]) -> None:
    code = new_uscc()
    assert register_org(visitor(), code).status_code == 303
    r = visitor().sign_in(code, next="/intake/account")
    assert r.headers["Location"] == "/intake/account"
    r = visitor().sign_in(code, next="//evil.example/x")
    assert r.headers["Location"] == "/intake/"


def test_sign_out_and_sign_out_everywhere(visitor: Callable[[], Visitor]) -> None:
    code = new_uscc()
    assert register_org(visitor(), code).status_code == 303
    first, second, third = visitor(), visitor(), visitor()
    for v in (first, second, third):
        assert v.sign_in(code).status_code == 303 and v.signed_in
    r = first.post("/intake/sign-out", {}, form_page="/intake/")
    assert r.status_code == 303 and not first.signed_in and second.signed_in
    r = second.post("/intake/account/sign-out-everywhere", {}, form_page="/intake/account")
    assert r.status_code == 303
    assert not second.signed_in and not third.signed_in


def test_changing_the_password_signs_out_the_other_browsers(
        stack: AppStack, visitor: Callable[[], Visitor],
        auth: Callable[[str, str], dict[str, str]]) -> None:
    code = new_uscc()
    assert register_org(visitor(), code).status_code == 303
    token = auth("applicant", f"org-{code}")  # an API token of the account, from before
    assert requests.get(f"{stack.url('notify')}/api/inbox", headers=token).status_code == 200
    here, elsewhere = visitor(), visitor()
    assert here.sign_in(code).status_code == 303 and elsewhere.sign_in(code).status_code == 303
    r = here.post("/intake/account/password", {"current": "wrong one!!", "password": "x" * 12,
                                               "password_again": "x" * 12},
                  form_page="/intake/account")
    assert r.status_code == 422 and "当前密码不正确" in r.text
    new = "a new passphrase 7"
    r = here.post("/intake/account/password", {"current": PASSWORD, "password": new,
                                               "password_again": new},
                  form_page="/intake/account")
    assert r.status_code == 303 and here.signed_in and not elsewhere.signed_in
    refused = requests.get(f"{stack.url('notify')}/api/inbox", headers=token)
    assert refused.status_code == 401 and refused.json()["code"] == "auth.token_revoked"
    assert visitor().sign_in(code).status_code == 401
    assert visitor().sign_in(code, new).status_code == 303


# -- staff accounts and set-password links ---------------------------------------------------------

def test_a_set_password_link_works_once_and_a_newer_one_replaces_it(
        stack: AppStack, operator: Any, visitor: Callable[[], Visitor],
        auth: Callable[[str, str], dict[str, str]]) -> None:
    subject, first = new_staff(operator, "expert")
    invited = [row.payload["payload"] for row in stack.outbox("intake", "account.invited")
               if row.payload["payload"]["subject"] == subject]
    assert invited and invited[0]["audience"] == [{"subject": subject}]
    assert "link" not in invited[0] and token_of(first) not in str(invited[0])
    sealed = FieldCipher(load_settings(stack.env()).field_key(), INVITATION_LINK_PURPOSE)
    assert sealed.decrypt(invited[0]["link_sealed"]) == first  # for notify's eyes only
    token = token_of(first)
    assert not stack.query("intake", "SELECT 1 FROM password_links WHERE token_hash = :t",
                           t=token)  # only its hash is kept
    r = operator.post(f"/intake/accounts/{subject}/link")
    assert r.status_code == 200
    second = html.unescape(LINK.search(r.text).group(1))  # type: ignore[union-attr]
    v = visitor()
    assert v.get(path_of(first, stack)).status_code == 410
    assert "链接无效、已使用或已过期" in v.get(path_of(first, stack)).text
    page = v.get(path_of(second, stack))
    assert page.status_code == 200 and subject in page.text
    r = set_password(v, path_of(second, stack), subject)  # the login name is no password
    assert r.status_code == 422 and "不得与登录名相同" in r.text
    r = set_password(v, path_of(second, stack))
    assert r.status_code == 303 and r.headers["Location"] == "/intake/"
    assert v.signed_in and "评审专家" in v.get("/intake/").text
    assert visitor().get(path_of(second, stack)).status_code == 410  # spent
    assert visitor().sign_in(subject).status_code == 303
    # Notify told the person too (inbox; e-mail where an SMTP server is configured).
    def invitations() -> list[Any]:
        # A token minted within the second the password was set is refused (issue times are
        # whole seconds, and setting a password signs out everywhere): the next one is not.
        r = requests.get(f"{stack.public_url}/notify/api/inbox", timeout=10,
                         headers=auth("expert", subject))
        items = r.json()["items"] if r.status_code == 200 else []
        found = [m for m in items if m["title"] == "请设置您的登录密码"]
        return found if len(found) == 2 else []  # one per link issued

    poll(invitations, 60)


def test_an_expired_set_password_link_is_refused(
        stack: AppStack, operator: Any, visitor: Callable[[], Visitor]) -> None:
    subject, link = new_staff(operator, "supervisor", name="赵监督")
    engine = create_engine(stack.env()["DOSSIER_INTAKE_DATABASE_URL"])
    try:
        with engine.begin() as conn:  # 72 hours later
            conn.execute(text("UPDATE password_links SET expires_at = now() - interval '1 minute'"
                              " WHERE subject = :s"), {"s": subject})
    finally:
        engine.dispose()
    v = visitor()
    assert v.get(path_of(link, stack)).status_code == 410
    page = v.get("/intake/sign-in")  # a POST with a fresh token is refused just the same
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = v.http.post(stack.public_url + "/intake/set-password", data={
        "csrf_token": token, "token": token_of(link), "password": PASSWORD,
        "password_again": PASSWORD}, allow_redirects=False, timeout=20)
    assert r.status_code == 410 and not v.signed_in


def test_a_recommenders_session_carries_the_unit_of_its_record(
        stack: AppStack, operator: Any, visitor: Callable[[], Visitor], store: redis.Redis,
        auth: Callable[[str, str], dict[str, str]]) -> None:
    r = operator.post("/intake/accounts/new", {"subject": f"rec.{uuid.uuid4().hex[:6]}",
                                               "role": "recommender", "name": "区市场监管局"})
    assert r.status_code == 422 and 'id="e-unit"' in r.text
    subject, link = new_staff(operator, "recommender", unit=UNIT, name="忻府区市场监管局")
    v = visitor()
    assert set_password(v, path_of(link, stack)).status_code == 303
    session = SessionStore(store, 60, 60).get(v.http.cookies[COOKIE])
    assert session is not None and session.role == "recommender"
    assert session.scope == {"unit": UNIT} and session.name == "忻府区市场监管局"
    r = v.http.get(f"{stack.public_url}/intake/api/applications", timeout=10)
    assert r.status_code == 200  # its jurisdiction comes from the record and agrees
    # Moving the person to another unit (through the API) ends the sessions that say otherwise.
    r = requests.put(f"{stack.public_url}/intake/api/accounts/{subject}", timeout=10,
                     headers=auth("operator", "op-acct"),
                     json={"role": "recommender", "name": "忻府区市场监管局", "unit": "140981"})
    assert r.status_code == 200 and not v.signed_in
    v = visitor()
    assert v.sign_in(subject).status_code == 303
    assert SessionStore(store, 60, 60).get(v.http.cookies[COOKIE]).scope == {  # type: ignore[union-attr]
        "unit": "140981"}


def test_moving_a_recommender_to_another_unit_on_its_page_signs_it_out(
        stack: AppStack, operator: Any, visitor: Callable[[], Visitor], store: redis.Redis
        ) -> None:
    subject, link = new_staff(operator, "recommender", unit=UNIT, name="忻府区市场监管局")
    v = visitor()
    assert set_password(v, path_of(link, stack)).status_code == 303
    form = {"name": "忻府区市场监管局", "email": "", "language": "zh-CN"}
    r = operator.post(f"/intake/accounts/{subject}", {**form, "unit": "999999"})
    assert r.status_code == 422 and 'id="e-unit"' in r.text and v.signed_in
    r = operator.post(f"/intake/accounts/{subject}", {**form, "name": "忻府区市场监督管理局",
                                                      "unit": UNIT})
    assert r.status_code == 303 and v.signed_in  # a new name alone keeps the sessions
    r = operator.post(f"/intake/accounts/{subject}", {**form, "unit": "140981"})
    assert r.status_code == 303 and not v.signed_in
    assert "140981" in operator.get(f"/intake/accounts/{subject}").text
    v = visitor()
    assert v.sign_in(subject).status_code == 303
    assert SessionStore(store, 60, 60).get(v.http.cookies[COOKIE]).scope == {  # type: ignore[union-attr]
        "unit": "140981"}


def test_disabling_an_account_ends_its_sessions_and_its_sign_in(
        stack: AppStack, operator: Any, visitor: Callable[[], Visitor],
        auth: Callable[[str, str], dict[str, str]]) -> None:
    subject, link = new_staff(operator, "expert", name="孙专家")
    v = visitor()
    assert set_password(v, path_of(link, stack)).status_code == 303 and v.signed_in
    r = operator.post(f"/intake/accounts/{subject}/active", {"active": "no"})
    assert r.status_code == 303 and not v.signed_in
    r = visitor().sign_in(subject)
    assert r.status_code == 403 and "账号已停用" in r.text
    assert operator.post(f"/intake/accounts/{subject}/active",
                         {"active": "yes"}).status_code == 303
    v = visitor()
    assert v.sign_in(subject).status_code == 303 and v.signed_in
    r = requests.put(f"{stack.public_url}/intake/api/accounts/{subject}", timeout=10,
                     headers=auth("operator", "op-acct"),
                     json={"role": "expert", "name": "孙专家", "active": False})
    assert r.status_code == 200 and not v.signed_in
    page = operator.get(f"/intake/accounts?role=expert&active=no&q={subject}")
    assert page.status_code == 200 and f'data-subject="{subject}"' in page.text


def test_only_operators_manage_accounts(browser_login: Callable[..., Any]) -> None:
    for role in ("applicant", "recommender", "expert", "supervisor"):
        who = browser_login(role, f"{role}-acct-pages")
        assert who.get("/intake/accounts").status_code == 403
        assert who.post("/intake/accounts/new", {"subject": "x.y.z", "role": "operator",
                                                 "name": "x"}).status_code == 403
    assert browser_login("operator", "op-nobody").get(
        "/intake/accounts/nobody-here").status_code == 404


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_account_page_is_translated(
        lang: str, stack: AppStack, operator: Any, visitor: Callable[[], Visitor],
        browser_login: Callable[..., Any]) -> None:
    subject, link = new_staff(operator, "recommender", unit=UNIT, name="定襄县市场监管局")
    operator.http.cookies.set("lang", lang, domain="127.0.0.1", path="/")
    for path in ("/intake/", "/intake/accounts", "/intake/accounts?role=recommender",
                 "/intake/accounts/new", f"/intake/accounts/{subject}", "/intake/account"):
        r = operator.get(path)
        assert r.status_code == 200 and "[[untranslated" not in r.text, path
        assert f'lang="{lang}"' in r.text
    v = visitor()
    v.http.cookies.set("lang", lang, domain="127.0.0.1", path="/")
    for path in ("/intake/", "/intake/sign-in", "/intake/register",
                 "/intake/register?kind=individual", path_of(link, stack)):
        r = v.get(path)
        assert r.status_code == 200 and "[[untranslated" not in r.text, path
    r = v.sign_in("nobody", "nothing at all")
    assert r.status_code == 401 and "[[untranslated" not in r.text
    applicant = browser_login("applicant", f"applicant-{uuid.uuid4().hex[:6]}")
    applicant.http.cookies.set("lang", lang, domain="127.0.0.1", path="/")
    for path in ("/intake/", "/intake/account"):
        r = applicant.get(path)
        assert r.status_code == 200 and "[[untranslated" not in r.text, path


# -- a real browser -------------------------------------------------------------------------------

def test_sign_in_start_page_and_sign_out_in_chromium(
        open_page: Callable[..., Any], visitor: Callable[[], Visitor]) -> None:
    code = new_uscc()
    assert register_org(visitor(), code, "浏览器测试有限公司").status_code == 303
    page = open_page()
    page.goto("/intake/account")  # needs a sign-in: goes there and comes back afterwards
    assert "/intake/sign-in" in page.url
    page.get_by_label("登录名").fill(code)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/intake/account")
    assert page.get_by_role("heading", level=1).inner_text() == "我的账号"
    page.goto("/intake/")
    assert page.get_by_role("link", name="我的申报").first.is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/intake/")
    assert page.get_by_role("link", name="申报者注册").first.is_visible()
    assert not any(c["name"] == COOKIE for c in page.context.cookies())
