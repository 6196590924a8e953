"""Intake tests share the session's stack; `intake` is a client of its intake service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from dossier.localstack import AppStack

from .flows import Intake


@pytest.fixture
def intake(stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(stack, http)


@pytest.fixture(scope="module")
def cycle(stack: AppStack) -> str:
    """One open cycle (its own programme, so bans counted in other tests do not mix)."""
    with requests.Session() as http:
        return Intake(stack, http).open_cycle()["id"]
