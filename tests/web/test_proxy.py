"""The one origin under attack (issue 14), through the real nginx in front of the real services:
who the client is (forwarded headers believed only from the proxy), failed sign-ins that lock
out only their own source, slow bodies, the per-address connection bound, the access log."""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from intake.flows import Intake, new_uscc
from loopback import half_sent_post, session_from
from waiting import poll

from dossier.localstack import AppStack
from dossier.proxy import BODY_LIMIT, CONNECTIONS_PER_ADDRESS, FORM_BURST
from shared.web.forwarded import PROXY_HEADER, proxy_secret

MiB = 1024 * 1024
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse 42"


def _form_post(http: requests.Session, url: str, data: dict[str, str]) -> requests.Response:
    page = http.get(url, timeout=20)
    token = CSRF.search(page.text)
    assert token, page.text[:300]
    return http.post(url, data={"csrf_token": token.group(1), **data}, allow_redirects=False,
                     timeout=20)


def sign_in(http: requests.Session, intake: str, login: str, password: str
            ) -> requests.Response:
    """`intake` is where intake answers: the proxy's /intake or the service's own port."""
    return _form_post(http, f"{intake}/sign-in", {"login": login, "password": password})


def registered(stack: AppStack) -> str:
    """A new applicant organisation's login name (its credit code)."""
    code = new_uscc()
    with requests.Session() as http:
        r = _form_post(http, f"{stack.public_url}/intake/register?kind=organisation", {
            "credit_code": code, "name": "山西代理测试有限公司", "email": "proxy@example.org",
            "password": PASSWORD, "password_again": PASSWORD})
    assert r.status_code == 303, r.text[:300]
    return code


def failure_addresses(stack: AppStack, code: str) -> list[str]:
    """The client addresses intake's audit log recorded for failed sign-ins to an account."""
    rows = stack.query("intake", "SELECT detail FROM audit_log WHERE action = :a AND "
                       "target = :t ORDER BY seq", a="account.signin_failed",
                       t=f"account:org-{code}")
    return [(json.loads(d) if isinstance(d, str) else d)["address"] for (d,) in rows]


@contextmanager
def half_sent(stack: AppStack, path: str, address: str, count: int
              ) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(half_sent_post(stack.public_url, path, address))
        yield socks
    finally:
        for s in socks:
            s.close()


# -- who the client is ------------------------------------------------------------------------

def test_an_address_the_client_writes_is_not_what_the_service_records(stack: AppStack) -> None:
    code = registered(stack)
    with session_from("127.0.0.9") as http:
        http.headers.update({"X-Forwarded-For": "198.51.100.23", PROXY_HEADER: "a guess"})
        r = sign_in(http, f"{stack.public_url}/intake", code, "not the password 1")
        assert r.status_code == 401
    # The address nginx saw: neither the one written nor the proxy's own upstream socket.
    assert failure_addresses(stack, code) == ["127.0.0.9"]


def test_forwarded_headers_straight_to_a_service_port_are_not_believed(stack: AppStack) -> None:
    code = registered(stack)
    with requests.Session() as http:
        http.headers["X-Forwarded-For"] = "198.51.100.24"
        assert sign_in(http, stack.url("intake"), code, "not the password 2").status_code == 401
        # With the value only the proxy's configuration holds, the same header is believed.
        http.headers[PROXY_HEADER] = proxy_secret(stack.secret_key)
        assert sign_in(http, stack.url("intake"), code, "not the password 3").status_code == 401
    assert failure_addresses(stack, code) == ["127.0.0.1", "198.51.100.24"]


def test_a_strangers_failures_do_not_lock_out_the_user_signing_in_from_elsewhere(
        stack: AppStack) -> None:
    code = registered(stack)
    intake = f"{stack.public_url}/intake"
    with session_from("127.0.0.2") as stranger:
        for _ in range(5):  # the account's limit from one address
            assert sign_in(stranger, intake, code, "a guess 12345").status_code == 401
        answers = [sign_in(stranger, intake, f"nobody-{uuid.uuid4().hex[:6]}",
                           "a guess").status_code for _ in range(16)]
        assert answers == [401] * 15 + [429]  # the address's limit: 20 failures
        # The stranger is held back even with the right password ...
        assert sign_in(stranger, intake, code, PASSWORD).status_code == 429
    # ... the user, from another address, is not; nor is anyone else from there.
    with session_from("127.0.0.1") as user:
        assert sign_in(user, intake, code, PASSWORD).status_code == 303
        assert sign_in(user, intake, f"nobody-{uuid.uuid4().hex[:6]}", "x").status_code == 401


def test_a_flood_of_sign_in_posts_from_one_address_is_refused_by_the_proxy(
        stack: AppStack) -> None:
    # Without a form token intake answers at once (403), so the posts come faster than the
    # proxy's pace; each one with a password would cost intake a hash.
    url = f"{stack.public_url}/intake/sign-in"
    with session_from("127.0.0.6") as flood:
        codes = [flood.post(url, data={"login": "x", "password": "y"}, timeout=10).status_code
                 for _ in range(FORM_BURST + 30)]
        assert codes[0] == 403 and 429 in codes
        assert flood.get(url, timeout=10).status_code == 200  # reading the form is not paced
    with session_from("127.0.0.7") as other:
        assert other.post(url, data={"login": "x", "password": "y"}, timeout=10
                          ).status_code == 403


# -- request bodies and connections -----------------------------------------------------------

def test_half_sent_sign_in_forms_do_not_hold_back_intake(stack: AppStack) -> None:
    # More than intake's threads: each used to hold one while waiting for the rest of its body.
    with half_sent(stack, "/intake/sign-in", "127.0.0.3", 24):
        started = time.monotonic()
        r = requests.get(f"{stack.public_url}/intake/sign-in", timeout=15)
        assert r.status_code == 200 and "csrf_token" in r.text
        assert time.monotonic() - started < 3


class IntakeThroughProxy(Intake):
    """Intake's API on the one origin rather than its own port."""

    @property
    def url(self) -> str:
        return f"{self.stack.public_url}/intake"


def test_uploads_stream_through_while_other_bodies_are_capped(stack: AppStack) -> None:
    assert BODY_LIMIT == "8m"
    with requests.Session() as http:
        intake = IntakeThroughProxy(stack, http)
        cycle = intake.open_cycle()["id"]
        intake.requirements(cycle)
        who = intake.as_("applicant", f"proxy-{uuid.uuid4().hex[:8]}")
        r = intake.create(who, cycle)
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        pdf = b"%PDF-1.7\n" + b"0" * (12 * MiB)  # more than nginx takes for other routes
        assert intake.upload(who, app_id, "大文件.pdf", pdf).status_code == 201
        r = intake.call("PUT", f"/applications/{app_id}/publicity",
                        {**who, "Content-Type": "application/json"}, data=pdf)
        assert r.status_code == 413 and "nginx" in r.text  # refused before intake saw it


def test_one_address_holds_a_bounded_number_of_connections(stack: AppStack) -> None:
    healthz = f"{stack.public_url}/intake/healthz"

    def refused() -> bool:
        with session_from("127.0.0.4") as http:
            return http.get(healthz, timeout=10).status_code == 429

    # Not to sign-in, whose POSTs are paced apart (a burst of 50, then refused at once).
    with half_sent(stack, "/intake/", "127.0.0.4", CONNECTIONS_PER_ADDRESS):
        poll(refused, 10)
        with session_from("127.0.0.5") as other:
            assert other.get(healthz, timeout=10).status_code == 200
    # Closed connections no longer count.
    poll(lambda: not refused(), 10)


def test_the_access_log_keeps_paths_without_query_strings(stack: AppStack) -> None:
    secret, path = uuid.uuid4().hex, f"/intake/no-such-page-{uuid.uuid4().hex[:8]}"
    r = requests.get(f"{stack.public_url}{path}?token={secret}", timeout=10)
    assert r.status_code == 404
    log = stack.root / "logs" / "proxy-access.log"
    line = poll(lambda: next((x for x in log.read_text().splitlines() if path in x), None), 10)
    assert f'"GET {path} HTTP/1.1" 404' in line
    assert secret not in log.read_text()
