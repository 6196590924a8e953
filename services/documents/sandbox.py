"""Sandboxed inspection: a small pool of reusable inspector children with hard limits.

The child mechanics (limits, reuse, telling a memory cap from an outside kill) are
`shared.sandbox`; this module turns how a job ended into a verdict on the file. A child that
times out, runs out of memory or crashes is replaced, and the file gets a verdict saying so. A
child killed from outside while far below its memory cap is no fact about the file: that raises
`InspectorLost`, which the Celery task retries instead of storing a verdict.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from services.documents.limits import Limits, ZipLimits
from services.documents.verdict import failed
from shared.sandbox import Child, ChildLimits, ChildLost, JobFailed

_CHILD = "services.documents.sandbox_child"
InspectorLost = ChildLost  # the name the documents code reads


class Sandbox:
    """One inspector child, used by one thread at a time."""

    def __init__(self, limits: Limits, stderr: Any = subprocess.DEVNULL) -> None:
        self.limits = limits
        self._child = Child(_CHILD, ChildLimits(limits.seconds, limits.memory_bytes), stderr)

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        return self._child.proc

    def close(self) -> None:
        self._child.close()

    def inspect(self, path: Path, text: str = "full", seals: bool = False) -> dict[str, Any]:
        """The verdict on the file at `path`; raises `InspectorLost` on an outside kill."""
        self._child.limits = ChildLimits(self.limits.seconds, self.limits.memory_bytes)
        job = {"path": str(Path(path).resolve()), "text": text, "zip": asdict(self.limits.zip),
               "max_pages": self.limits.max_pages, "seals": seals}
        try:
            return self._child.run(job)
        except JobFailed as exc:
            return failed(f"inspect.{exc.kind}", detail=exc.detail).as_dict()


class SandboxPool:
    """`size` sandboxes shared by threads; each call borrows one for one file."""

    def __init__(self, size: int, limits: Limits | None = None,
                 stderr: Any = subprocess.DEVNULL) -> None:
        self.size = max(1, size)
        self.limits = limits or Limits()
        self._free: queue.LifoQueue[Sandbox] = queue.LifoQueue()
        for _ in range(self.size):
            self._free.put(Sandbox(self.limits, stderr))
        self._all = list(self._free.queue)
        self._lock = threading.Lock()

    def inspect(self, path: Path, text: str = "full", seals: bool = False) -> dict[str, Any]:
        sandbox = self._free.get()
        try:
            return sandbox.inspect(path, text, seals)
        finally:
            self._free.put(sandbox)

    def inspect_many(self, paths: Iterable[Path], text: str = "full", seals: bool = False
                     ) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Verdicts in input order, `size` files at a time (an outside kill is tried again)."""
        def once_more(path: Path) -> dict[str, Any]:
            try:
                return self.inspect(path, text, seals)
            except InspectorLost:
                return self.inspect(path, text, seals)

        with ThreadPoolExecutor(self.size) as pool:
            paths = list(paths)
            yield from zip(paths, pool.map(once_more, paths), strict=True)

    def close(self) -> None:
        for sandbox in self._all:
            sandbox.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def limits_from(values: Any) -> Limits:
    """Limits from a Settings object (or anything with the documents_* attributes)."""
    return Limits(
        seconds=float(values.documents_inspect_seconds),
        memory_bytes=int(values.documents_inspect_memory),
        max_pages=int(values.documents_max_pages),
        zip=ZipLimits(max_entries=int(values.documents_zip_max_entries),
                      max_total_bytes=int(values.documents_zip_max_bytes),
                      max_ratio=int(values.documents_zip_max_ratio)))
