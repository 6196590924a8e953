"""Waiting for something asynchronous to become true, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def poll(fetch: Callable[[], Any], timeout: float = 60, every: float = 0.3) -> Any:
    """Call `fetch` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = fetch()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"nothing after {timeout}s")
