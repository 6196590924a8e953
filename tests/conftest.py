"""Fixtures: the real servers, started once per test session and stopped by PID.

`backing` is Redis + SeaweedFS's S3 gateway + PostgreSQL on free private ports under a throw-away
folder; `stack` is the four services and their workers as real processes against them, on
PostgreSQL (the production path). Tests that break things (kill a worker, stop Redis) build their
own `AppStack` so they cannot disturb the others.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from dossier.localstack import AppStack, BackingServers
from shared.auth import issue_token

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


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
