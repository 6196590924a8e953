"""The `dossier` command line, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from shared.auth import verify_token
from shared.config import markdown_table

ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("DOSSIER_")},
       "DOSSIER_SECRET_KEY": "cli-test-secret-" + "x" * 32, "DOSSIER_S3_ACCESS_KEY": "a",
       "DOSSIER_S3_SECRET_KEY": "b"}


def dossier(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dossier.cli", *args], capture_output=True,
                          text=True, env=env or ENV, check=False, timeout=60)


def test_token_prints_a_token_the_services_accept() -> None:
    done = dossier("token", "--role", "recommender", "--subject", "county-140902",
                   "--scope", "jurisdiction=140902", "--ttl", "600")
    assert done.returncode == 0, done.stderr
    who = verify_token(ENV["DOSSIER_SECRET_KEY"], done.stdout.strip())
    assert (who.subject, who.role) == ("county-140902", "recommender")
    assert who.scope == {"jurisdiction": "140902"}


def test_token_refuses_an_unknown_role_and_a_missing_secret() -> None:
    assert dossier("token", "--role", "mayor", "--subject", "x").returncode == 2
    no_secret = {k: v for k, v in ENV.items() if k != "DOSSIER_SECRET_KEY"}
    done = dossier("token", "--role", "operator", "--subject", "x", env=no_secret)
    assert done.returncode == 2
    assert "DOSSIER_SECRET_KEY" in done.stderr


def test_openapi_prints_each_services_document_offline() -> None:
    done = dossier("openapi", "notify")
    assert done.returncode == 0, done.stderr
    spec = json.loads(done.stdout)
    assert "/api/inbox" in spec["paths"]
    assert "/api/ops/dead-letters" in spec["paths"]


def test_config_markdown_is_the_readme_table() -> None:
    done = dossier("config", "--markdown")
    assert done.stdout.strip() == markdown_table()


def test_config_shows_no_password_of_a_redis_or_database_url() -> None:
    done = dossier("config", env={
        **ENV, "DOSSIER_REDIS_URL": "redis://:s3cret-redis@127.0.0.1:6389/0",
        "DOSSIER_INTAKE_DATABASE_URL": "postgresql+psycopg://dossier:s3cret-pg@db:5432/intake"})
    assert done.returncode == 0, done.stderr
    assert "s3cret" not in done.stdout and ENV["DOSSIER_SECRET_KEY"] not in done.stdout
    assert "DOSSIER_REDIS_URL=redis://:***@127.0.0.1:6389/0" in done.stdout.splitlines()
    assert "postgresql+psycopg://dossier:***@db:5432/intake" in done.stdout
