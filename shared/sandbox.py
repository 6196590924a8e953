"""Resource-limited child processes for parsing untrusted files (documents' inspection, review's
page pictures and watermarks): nothing that parses an upload runs in a worker or web process.

A child (`python -m <module>`, whose main calls `serve`) is started once and reused across jobs,
because importing the readers costs far more than a typical job. It answers one JSON line per
job on a private channel. Its address space is capped for its whole life and its CPU time per
job; the parent enforces the wall time. How a job ended without an answer is told apart:

- the child's own report (a MemoryError under the cap, a reader bug) or its exit code → `JobFailed`
  with `kind` "memory", "timeout", "too_deep" or "crashed": a fact about the file;
- SIGKILL while the child was far below its cap, with no out-of-memory kill recorded by the
  cgroup → `ChildLost`: someone outside killed it (an operator, a deploy, a node drain). That is
  no fact about the file, so it is retryable (`Unavailable`: Celery retries it, a page answers 503).
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import Unavailable

_ROOT = Path(__file__).resolve().parents[1]
_MEMORY_ENV = "DOSSIER_SANDBOX_MEMORY"
_OWN_EXIT = 3  # the child's exit code after a MemoryError: memory may be half-freed
# SIGKILLed at or above this share of its cap, the child is judged out of memory (the kernel's
# or a cgroup's OOM killer acts before RLIMIT_AS when the machine itself runs short).
NEAR_CAP = 0.9
_SAMPLE_SECONDS = 0.2


@dataclass(frozen=True)
class ChildLimits:
    seconds: float = 60.0  # wall time per job (and CPU time per job, in the child)
    memory_bytes: int = 768 * 1024 * 1024  # address-space cap for the child's whole life


class JobFailed(Exception):
    """The job ended without an answer for a reason that belongs to its input."""

    def __init__(self, kind: str, detail: str | None = None) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


class ChildLost(Unavailable):
    """The child was killed from outside (not for memory): try the job again later."""

    code = "sandbox.child_lost"
    zh = "文件处理进程被外部终止，请稍后重试。"
    en = "The file worker was stopped from outside; try again shortly."

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail=detail)


class Child:
    """One child process running `module`, used by one thread at a time."""

    def __init__(self, module: str, limits: ChildLimits, stderr: Any = subprocess.DEVNULL
                 ) -> None:
        self.module = module
        self.limits = limits
        self.stderr = stderr
        self.proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._peak = 0  # the child's largest address space seen while it worked, in bytes

    def _start(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, _MEMORY_ENV: str(self.limits.memory_bytes),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
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

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """The child's answer to `job`; raises `JobFailed` or `ChildLost`."""
        proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
        self._peak = 0
        oom_before = _oom_kills()
        envelope = {"cpu_seconds": self.limits.seconds, "job": job}
        try:
            proc.stdin.write(json.dumps(envelope).encode() + b"\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        except OSError as exc:
            self._kill()
            raise JobFailed("crashed", "child not accepting work") from exc
        try:
            line = self._read_line(proc, time.monotonic() + self.limits.seconds)
        except BaseException:
            # Interrupted while waiting (a task's soft time limit, a signal): this child's next
            # answer would belong to the abandoned job, so it must not serve another.
            self._kill()
            raise
        if line is None:  # out of time: the child is still working
            self._kill()
            raise JobFailed("timeout")
        if line == b"":
            self._died(proc, oom_before)
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError as exc:  # the protocol is broken: trust nothing more from this child
            self._kill()
            raise JobFailed("crashed", "unreadable answer") from exc
        if "failure" in answer:
            if answer.get("exiting") or proc.poll() is not None:
                self.close()
            raise JobFailed(str(answer["failure"]), answer.get("detail"))
        if proc.poll() is not None:
            self.close()
        return dict(answer.get("ok") or {})

    def _died(self, proc: subprocess.Popen[bytes], oom_before: int | None) -> None:
        """The answer channel closed: the child died. Raise what its death means."""
        try:
            returncode = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            returncode = proc.wait()
        self.close()
        if returncode == -signal.SIGXCPU:
            raise JobFailed("timeout", "cpu limit")
        if returncode == _OWN_EXIT:
            raise JobFailed("memory", f"exit {returncode}")
        if returncode == -signal.SIGKILL:
            oom_after = _oom_kills()
            near = self._peak >= NEAR_CAP * self.limits.memory_bytes > 0
            if near or (oom_before is not None and oom_after is not None
                        and oom_after > oom_before):
                raise JobFailed("memory", f"killed at {self._peak >> 20} MiB")
            raise ChildLost(f"killed at {self._peak >> 20} MiB, far below its cap")
        raise JobFailed("crashed", f"exit {returncode}")

    def _read_line(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        """The next answer line; None when the deadline passed, b"" when the child died."""
        fd = proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._peak = max(self._peak, _address_space(proc.pid))
            ready, _, _ = select.select([fd], [], [], min(left, _SAMPLE_SECONDS))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return b""  # end of file: the child died
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


def _address_space(pid: int) -> int:
    """The child's peak address space so far (what RLIMIT_AS caps), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for row in status:
                if row.startswith("VmPeak:"):
                    return int(row.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _oom_kills() -> int | None:
    """OOM kills counted by this process's cgroup (v2), None where the file is not readable."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as own:
            path = own.read().strip().rpartition(":")[2]
        with open(f"/sys/fs/cgroup{path}/memory.events", encoding="ascii") as events:
            for row in events:
                name, _, value = row.partition(" ")
                if name == "oom_kill":
                    return int(value)
    except (OSError, ValueError):
        pass
    return None


# -- the child's side ------------------------------------------------------------------------

def answer_channel() -> int:
    """Move stdout aside (call first, before importing any library): anything a library prints
    goes to stderr, never into the protocol. Returns the channel's file descriptor."""
    channel = os.dup(1)
    os.dup2(2, 1)
    return channel


def _limit_memory(limit: int) -> None:
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:  # when the machine runs short, the kernel should kill this child, not its worker
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as adj:
            adj.write("1000")
    except OSError:
        pass


def _limit_cpu(seconds: float) -> None:
    # CPU time accumulates over the child's life; each job gets its own allowance on top.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def serve(channel: int, handle: Callable[[dict[str, Any], float], dict[str, Any]]) -> int:
    """The child's loop: cap memory, then answer each job line with `handle(job, seconds)`.

    Import the readers before calling this, so the cap measures the work, not the imports.
    """
    _limit_memory(int(os.environ.get(_MEMORY_ENV, "0")))
    out = os.fdopen(channel, "w", encoding="utf-8", buffering=1)
    for line in sys.stdin:
        exiting = False
        try:
            envelope = json.loads(line)
            seconds = float(envelope.get("cpu_seconds", 60))
            _limit_cpu(seconds)
            answer: dict[str, Any] = {"ok": handle(envelope["job"], seconds)}
        except MemoryError:
            answer, exiting = {"failure": "memory", "exiting": True}, True
        except RecursionError:
            answer = {"failure": "too_deep"}
        except Exception as exc:  # a reader bug is a fact about this job, not a dead worker
            answer = {"failure": "crashed", "detail": f"{type(exc).__name__}: {exc}"}
        try:
            out.write(json.dumps(answer, ensure_ascii=False) + "\n")
        except MemoryError:
            out.write('{"failure": "memory", "exiting": true}\n')
            exiting = True
        if exiting:
            return _OWN_EXIT  # memory may be fragmented or half-freed: start clean
    return 0
