"""The sandbox: a child that overruns, crashes or runs out of memory is a verdict, and the
next file is inspected by a fresh child."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import builders as b
from waiting import poll

from services.documents.sandbox import Limits, Sandbox, SandboxPool


def _file(tmp_path: Path, data: bytes, name: str = "f.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_job_over_its_wall_time_is_a_timeout_and_the_child_is_replaced(
        tmp_path: Path) -> None:
    pdf = _file(tmp_path, b.report_pdf())
    # A cold child needs far longer than 50 ms just to import its readers.
    sandbox = Sandbox(Limits(seconds=0.05))
    try:
        verdict = sandbox.inspect(pdf)
        assert verdict["ok"] is False and verdict["error"]["code"] == "inspect.timeout"
        assert sandbox.proc is None  # killed and dropped
        sandbox.limits = Limits(seconds=30)
        again = sandbox.inspect(pdf)
        assert again["ok"] is True and again["pages"] == 7
    finally:
        sandbox.close()


def test_a_child_that_crashes_mid_job_is_a_verdict_and_the_next_file_works(
        tmp_path: Path) -> None:
    pdf = _file(tmp_path, b.report_pdf())
    sandbox = Sandbox(Limits(seconds=30))
    try:
        def crash_it() -> None:
            proc = poll(lambda: sandbox.proc, timeout=10, every=0.001)
            os.kill(proc.pid, signal.SIGSEGV)

        killer = threading.Thread(target=crash_it)
        killer.start()
        verdict = sandbox.inspect(pdf)  # cold: the kill lands while it imports or reads
        killer.join()
        assert verdict["error"]["code"] == "inspect.crashed"
        assert sandbox.inspect(pdf)["pages"] == 7
    finally:
        sandbox.close()


def test_a_child_out_of_memory_is_a_memory_verdict_and_is_replaced(tmp_path: Path) -> None:
    pdf = _file(tmp_path, b.report_pdf(body_lines=30))
    # An address-space cap far below what reading a file needs: the first allocation fails.
    sandbox = Sandbox(Limits(seconds=30, memory_bytes=64 * 1024 * 1024))
    try:
        verdict = sandbox.inspect(pdf)
        assert verdict["ok"] is False and verdict["error"]["code"] == "inspect.memory"
        sandbox.limits = Limits(seconds=30)
        assert sandbox.inspect(pdf)["pages"] == 7
    finally:
        sandbox.close()


def test_children_are_reused_across_files(tmp_path: Path) -> None:
    pdf = _file(tmp_path, b.report_pdf())
    with SandboxPool(1, Limits(seconds=30)) as pool:
        pool.inspect(pdf)
        [sandbox] = pool._all
        pid = sandbox.proc.pid
        for _ in range(20):
            assert pool.inspect(pdf)["pages"] == 7
        assert sandbox.proc.pid == pid
