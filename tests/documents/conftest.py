"""Fixtures for the documents tests: a shared pool of real sandboxed inspectors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.documents.sandbox import Limits, SandboxPool

Inspect = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2, Limits(seconds=30)) as shared:
        yield shared


@pytest.fixture
def inspect(pool: SandboxPool, tmp_path: Path) -> Inspect:
    """Write bytes to a file and inspect it through the sandbox, as the worker does."""

    def run(data: bytes, name: str = "upload", text: str = "full") -> dict[str, Any]:
        path = tmp_path / name
        path.write_bytes(data)
        return pool.inspect(path, text=text)

    return run
