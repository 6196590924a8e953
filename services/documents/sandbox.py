"""Sandboxed inspection: a small pool of reusable child processes with hard limits.

Each child (`sandbox_child`) is started once and reused across files, because importing the
readers costs far more than inspecting a typical file. The parent enforces the wall-time limit;
the child runs under an address-space cap and a per-job CPU allowance. A child that times out,
is killed or crashes is replaced, and the file gets a verdict saying so.
"""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from services.documents.limits import Limits, ZipLimits
from services.documents.verdict import failed

_ROOT = Path(__file__).resolve().parents[2]


class Sandbox:
    """One child process, used by one thread at a time."""

    def __init__(self, limits: Limits, stderr: Any = subprocess.DEVNULL) -> None:
        self.limits = limits
        self.stderr = stderr
        self.proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, "DOSSIER_SANDBOX_MEMORY": str(self.limits.memory_bytes),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.documents.sandbox_child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
            cwd=str(_ROOT), start_new_session=True)
        self._buffer = b""
        return self.proc

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close()

    def inspect(self, path: Path, text: str = "full") -> dict[str, Any]:
        proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
        job = {"path": str(Path(path).resolve()), "text": text,
               "cpu_seconds": self.limits.seconds, "zip": asdict(self.limits.zip)}
        try:
            proc.stdin.write(json.dumps(job).encode() + b"\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            self._kill()
            return failed("inspect.crashed", detail="inspector not accepting work").as_dict()
        try:
            line = self._read_line(proc, time.monotonic() + self.limits.seconds)
        except BaseException:
            # Interrupted while waiting (a task's soft time limit, a signal): this child's next
            # answer would belong to the abandoned job, so it must not serve another.
            self._kill()
            raise
        if line is None:  # out of time: the child is still working
            self._kill()
            return failed("inspect.timeout").as_dict()
        if line == b"":  # the answer channel closed: the child died
            try:
                returncode = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                returncode = proc.wait()
            self.close()
            return failed(self._death_code(returncode), detail=f"exit {returncode}").as_dict()
        try:
            verdict: dict[str, Any] = json.loads(line)
        except ValueError:  # the protocol is broken: trust nothing more from this child
            self._kill()
            return failed("inspect.crashed", detail="unreadable answer").as_dict()
        if proc.poll() is not None or (verdict.get("error") or {}).get("code") == "inspect.memory":
            self.close()  # the child chose to exit after this job
        return verdict

    @staticmethod
    def _death_code(returncode: int | None) -> str:
        if returncode == -signal.SIGXCPU:
            return "inspect.timeout"
        if returncode in (-signal.SIGKILL, 3):
            return "inspect.memory"  # the kernel's OOM killer, or the child's own exit
        return "inspect.crashed"

    def _read_line(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        """The next answer line; None when the deadline passed, b"" when the child died."""
        fd = proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return b""  # end of file: the child died
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


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

    def inspect(self, path: Path, text: str = "full") -> dict[str, Any]:
        sandbox = self._free.get()
        try:
            return sandbox.inspect(path, text)
        finally:
            self._free.put(sandbox)

    def inspect_many(self, paths: Iterable[Path], text: str = "full"
                     ) -> Iterator[tuple[Path, dict[str, Any]]]:
        """Verdicts in input order, `size` files at a time."""
        with ThreadPoolExecutor(self.size) as pool:
            paths = list(paths)
            yield from zip(paths, pool.map(lambda p: self.inspect(p, text), paths),
                          strict=True)

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
        zip=ZipLimits(max_entries=int(values.documents_zip_max_entries),
                      max_total_bytes=int(values.documents_zip_max_bytes),
                      max_ratio=int(values.documents_zip_max_ratio)))
