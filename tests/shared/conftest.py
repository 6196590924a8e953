"""Fixtures for the shared-library tests: fresh databases on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from dossier.localstack import BackingServers
from shared.db import Database

NewDatabaseUrl = Callable[[str, str], str]


@pytest.fixture(scope="session")
def new_database_url(backing: BackingServers,
                     tmp_path_factory: pytest.TempPathFactory) -> NewDatabaseUrl:
    """`make(dialect, label)` → URL of an empty database nobody else uses."""
    folder = tmp_path_factory.mktemp("sqlite")

    def make(dialect: str, label: str) -> str:
        name = f"{label}_{secrets.token_hex(4)}"
        if dialect == "sqlite":
            return f"sqlite:///{folder / (name + '.db')}"
        url = backing.create_database(name)
        # The PostgreSQL binaries are installed on every machine these tests run on; a missing
        # cluster must fail loudly rather than quietly shrink the test to SQLite.
        assert url is not None, "PostgreSQL did not start; the PostgreSQL half cannot run"
        return url

    return make


@pytest.fixture
def open_database() -> Iterator[Callable[[str], Database]]:
    """`open(url)` → a `Database` whose pooled connections are closed after the test."""
    opened: list[Database] = []

    def make(url: str) -> Database:
        db = Database(url)
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.engine.dispose()
