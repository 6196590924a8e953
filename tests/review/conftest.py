"""Fixtures for review's tests (the driver itself is in `reviewstack.py`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from reviewstack import ReviewDriver

from dossier.localstack import AppStack


@pytest.fixture
def review(stack: AppStack, auth: Callable[[str, str], dict[str, str]],
           http: requests.Session) -> Iterator[ReviewDriver]:
    driver = ReviewDriver(stack, auth, http)
    yield driver
    driver.sender.close()  # drop the broker connection this test opened
