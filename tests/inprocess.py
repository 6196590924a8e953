"""One service's Flask app in the test process, for API logic that needs no other service:
its own SQLite database in a throw-away folder, the test session's real Redis (sessions and the
page cache use it), settings as `AppStack` would give the running service."""

from __future__ import annotations

import importlib
import secrets
from dataclasses import dataclass
from pathlib import Path

import redis
from flask import Flask
from flask.testing import FlaskClient

from dossier.localstack import AppStack, BackingServers
from shared.account_states import AccountStates
from shared.auth import issue_token
from shared.config import load_settings
from shared.migrations import upgrade
from shared.service import ServiceContext


@dataclass
class InProcess:
    app: Flask
    client: FlaskClient
    secret_key: str

    @property
    def ctx(self) -> ServiceContext:
        return self.app.extensions["dossier"]

    def auth(self, role: str, subject: str, **scope: str) -> dict[str, str]:
        token = issue_token(self.secret_key, subject=subject, role=role, ttl_seconds=600,
                            scope=scope)
        return {"Authorization": f"Bearer {token}"}


def service_app(backing: BackingServers, root: Path, service: str,
                env: dict[str, str] | None = None) -> InProcess:
    stack = AppStack(backing, root, database="sqlite", with_proxy=False,
                     redis_db=7, bucket=f"dossier-{secrets.token_hex(4)}")
    settings = load_settings({**stack.env(), "DOSSIER_I18N_STRICT": "true", **(env or {})})
    upgrade(service, settings)
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    if service != "intake":  # intake publishes the accounts' standing itself; here none exist
        AccountStates(redis.Redis.from_url(settings.redis_url)).publish([], complete=True)
    return InProcess(app, app.test_client(), settings.secret_key)
