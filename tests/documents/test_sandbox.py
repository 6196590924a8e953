"""The sandbox: a child that overruns, crashes or runs out of memory is a verdict, and the
next file is inspected by a fresh child."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import builders as b
import pytest
from samples import huge_pdf
from waiting import poll

from services.documents.sandbox import InspectorLost, Limits, Sandbox, SandboxPool
from shared.errors import Unavailable
from shared.sandbox import NEAR_CAP, ChildLimits


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


def test_an_outside_kill_far_below_the_memory_cap_is_retryable_not_a_memory_verdict(
        tmp_path: Path) -> None:
    # Old code: any SIGKILL became a permanent `inspect.memory` verdict on a valid file.
    pdf = _file(tmp_path, b.report_pdf(body_lines=30))
    sandbox = Sandbox(Limits(seconds=30))
    try:
        assert sandbox.inspect(pdf)["pages"] == 7  # warm: the next job finds a live child
        proc = sandbox.proc
        assert proc is not None

        def reading() -> bool:
            # Mid-job: the child has the file open (killed between jobs, it is just replaced).
            try:
                return any(os.readlink(fd) == str(pdf)
                           for fd in Path(f"/proc/{proc.pid}/fd").iterdir())
            except OSError:
                return False

        def kill_it() -> None:
            poll(reading, 60, 0.001)
            os.kill(proc.pid, signal.SIGKILL)

        stopper = threading.Thread(target=kill_it)
        stopper.start()
        with pytest.raises(InspectorLost) as lost:
            for _ in range(10_000):  # jobs until the kill lands in one
                assert sandbox.inspect(pdf)["ok"] is True
        stopper.join()
        assert lost.value.code == "sandbox.child_lost" and lost.value.status == 503
        assert isinstance(lost.value, Unavailable)  # the tasks' retry policy retries these
        assert sandbox.proc is None
        assert sandbox.inspect(pdf)["pages"] == 7  # a fresh child does the retry
    finally:
        sandbox.close()


def test_a_child_killed_near_its_cap_is_judged_out_of_memory(tmp_path: Path) -> None:
    """What a cgroup's or the kernel's OOM killer does to a child that grew to its cap."""
    pdf = _file(tmp_path, huge_pdf())  # with no page limit: seconds of work per job
    sandbox = Sandbox(Limits(seconds=60, max_pages=0))
    try:
        sandbox.inspect(_file(tmp_path, b.report_pdf(), "warm.pdf"))
        proc = sandbox.proc
        grown: dict[str, int] = {}

        def grow_then_kill() -> None:
            # Once the child has grown past its idle size, tell the parent that this size is
            # the cap (as if the child had reached it), then kill it as an OOM killer would.
            idle = _peak(proc.pid)
            grown["peak"] = poll(lambda: (p := _peak(proc.pid)) > idle and p, timeout=30,
                                 every=0.05)
            sandbox._child.limits = ChildLimits(60, grown["peak"])
            # Wait until the parent has itself seen the child at that size.
            poll(lambda: sandbox._child._peak >= NEAR_CAP * grown["peak"], timeout=30,
                 every=0.01)
            os.kill(proc.pid, signal.SIGKILL)

        killer = threading.Thread(target=grow_then_kill)
        killer.start()
        verdict = sandbox.inspect(pdf)
        killer.join()
        assert verdict["error"]["code"] == "inspect.memory", verdict
    finally:
        sandbox.close()


def _peak(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(r.split()[1]) * 1024 for r in status.splitlines()
                if r.startswith("VmPeak:"))


def test_a_pdf_of_a_hundred_thousand_pages_is_refused_quickly_with_its_page_count(
        tmp_path: Path) -> None:
    pdf = _file(tmp_path, huge_pdf())
    sandbox = Sandbox(Limits(seconds=60, max_pages=2000))
    try:
        started = time.monotonic()
        verdict = sandbox.inspect(pdf)
        assert time.monotonic() - started < 20
        assert verdict["ok"] is False and verdict["error"]["code"] == "inspect.too_many_pages"
        assert verdict["pages"] == 100_000
        assert "页数过多" in verdict["error"]["messages"]["zh-CN"]
    finally:
        sandbox.close()
