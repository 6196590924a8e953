"""Fixtures: the real servers, started once per test session and stopped by PID.

`backing` is Redis + SeaweedFS's S3 gateway + PostgreSQL on free private ports under a throw-away
folder; `stack` is the four services and their workers as real processes against them, on
PostgreSQL (the production path). Tests that break things (kill a worker, stop Redis) build their
own `AppStack` so they cannot disturb the others.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from dossier.localstack import AppStack, BackingServers
from shared.auth import issue_token

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# The office's day is Beijing's: a test that takes "today" in the machine's zone (UTC here)
# disagrees with the services' clock (DOSSIER_TIMEZONE) from 00:00 to 08:00 Beijing time.
os.environ["TZ"] = "Asia/Shanghai"
time.tzset()


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="dossier-test-"))
    yield root
    # Keep logs where CI can show them, then drop the data.
    logs = ARTIFACTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for log in root.rglob("*.log"):
        shutil.copy(log, logs / f"{log.parent.parent.name}-{log.name}")
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def backing(workdir: Path) -> Iterator[BackingServers]:
    servers = BackingServers(root=workdir / "backing")
    try:
        servers.start_redis()
        servers.start_s3()
        servers.start_postgres(databases=[])
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def stack(backing: BackingServers, workdir: Path) -> Iterator[AppStack]:
    apps = AppStack(backing, workdir / "main", database="postgresql")
    try:
        apps.start()
        yield apps
    finally:
        apps.stop()


TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def token(stack: AppStack) -> TokenFactory:
    def make(role: str, subject: str, ttl: int = 3600) -> str:
        return issue_token(stack.secret_key, subject=subject, role=role, ttl_seconds=ttl)

    return make


@pytest.fixture(scope="session")
def auth(token: TokenFactory) -> Callable[[str, str], dict[str, str]]:
    def headers(role: str, subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, subject)}"}

    return headers


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@dataclass
class Browser:
    """A requests session signed in through a real browser session (cookie in Redis), as the
    sign-in page would leave it; `csrf` is the token its forms carry."""

    http: requests.Session
    csrf: str
    subject: str
    origin: str

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.origin + path, allow_redirects=False, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> requests.Response:
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.http.post(self.origin + path, data=form, allow_redirects=False, **kw)


@pytest.fixture(scope="session")
def browser_login(stack: AppStack) -> Iterator[Callable[..., Browser]]:
    import redis

    from shared.web.sessions import COOKIE, SessionStore

    client = redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"], decode_responses=True)
    store = SessionStore(client, idle=3600, absolute=7200)
    opened: list[requests.Session] = []

    def login(role: str, subject: str, name: str = "", scope: dict[str, Any] | None = None
              ) -> Browser:
        session = store.create(subject=subject, role=role, name=name or subject, scope=scope)
        http = requests.Session()
        http.cookies.set(COOKIE, session.sid, domain="127.0.0.1", path="/")
        opened.append(http)
        return Browser(http, session.csrf, subject, stack.public_url)

    yield login
    for http in opened:
        http.close()
    client.close()


# -- a real browser (Debian's Chromium, driven by Playwright; never a downloaded browser) ------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # this machine's network is closed: no phoning home


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_page(chromium: Any, stack: AppStack, browser_login: Callable[..., Browser],
              request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """`open_page(role=None, subject=..., lang="zh-CN", width=1280)` → a Playwright page on the
    one origin, signed in through a real session when a role is given. Screenshots of failed
    tests land in test-artifacts/."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def make(role: str | None = None, subject: str = "", name: str = "",
             scope: dict[str, Any] | None = None, lang: str = "zh-CN", width: int = 1280) -> Any:
        context = chromium.new_context(base_url=stack.public_url, locale=lang,
                                       viewport={"width": width, "height": 900})
        cookies = [{"name": "lang", "value": lang, "url": stack.public_url}]
        if role:
            who = browser_login(role, subject or f"{role}-page", name, scope)
            from shared.web.sessions import COOKIE
            cookies.append({"name": COOKIE, "value": who.http.cookies.get(COOKIE),
                            "url": stack.public_url, "httpOnly": True, "sameSite": "Lax"})
        context.add_cookies(cookies)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        pages.append(page)
        return page

    yield make
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, page in enumerate(pages):
            # A failed screenshot must not hide the real failure.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / f"failed-{request.node.name}-{i}.png"),
                                full_page=True)
    for context in contexts:
        context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
