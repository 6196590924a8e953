"""Processes of the embedded default that must not outlive `dossier run`, nor be mistaken for it.

Every program supervisord starts, and supervisord itself, asks the kernel for a signal when its
parent dies (`PR_SET_PDEATHSIG`): a `dossier run` killed with SIGKILL, or a closed terminal, takes
supervisord down, and supervisord's end takes every program down, instead of leaving web servers,
workers, Redis and the S3 server running as orphans that hold the ports. A new start first checks
that its ports are free, and says which and how to stop the old instance when they are not.
All programs run with the data folder as their working directory, which is how `dossier stop`
finds every process of one instance, orphans of older versions included.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """For `preexec_fn`: this child gets `sig` when the process that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def bound_to_parent(argv: list[str]) -> list[str]:
    """`argv` run through util-linux's `setpriv --pdeathsig`, for programs started by others
    (supervisord), whose start-up we cannot hook; unchanged where setpriv is missing."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return argv
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def taken_ports(wanted: Mapping[str, Iterable[int]]) -> list[tuple[str, int]]:
    """(program, port) for every wanted port something already listens on."""
    return [(name, port) for name, ports in wanted.items() for port in ports if port_taken(port)]


def busy_message(taken: list[tuple[str, int]], data_dir: Path) -> str:
    ports = "、".join(f"{port}（{name}）" for name, port in taken)
    ports_en = ", ".join(f"{port} ({name})" for name, port in taken)
    leftovers = instance_processes(data_dir)
    hint = (f"  {len(leftovers)} process(es) of an earlier start with this data folder are "
            f"still running (pids {', '.join(map(str, leftovers[:8]))}).\n" if leftovers else "")
    return (f"无法启动：端口 {ports} 已被占用。\n"
            f"Cannot start: port {ports_en} already in use.\n{hint}"
            f"  Stop the earlier instance with `dossier stop` (data folder {data_dir}),\n"
            f"  or free the port(s); `ss -ltnp` shows what holds them.")


def instance_processes(data_dir: Path) -> list[int]:
    """Pids of the processes working in `data_dir` or below it (every program of one
    instance does)."""
    target = str(data_dir.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cwd = os.readlink(entry / "cwd")
            if cwd == target or cwd.startswith(target + "/"):  # Redis works in its folder
                found.append(int(entry.name))
    return sorted(found)


def stop_instance(data_dir: Path, grace: float = 30.0) -> int:
    """Stop every process of the instance in `data_dir`: supervisord first (it stops its
    programs in order), then whatever is left, TERM then KILL. Returns how many were found."""
    pidfile = data_dir / "run" / "supervisord.pid"
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
        _wait_gone(lambda: _alive(int(pidfile.read_text().strip())), grace)
    left = instance_processes(data_dir)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    _wait_gone(lambda: bool(instance_processes(data_dir)), grace / 3)
    for pid in instance_processes(data_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(left)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is as good as gone.
    with contextlib.suppress(OSError):
        return " Z " not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:4]
    return True


def _wait_gone(still_there: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if not still_there():  # type: ignore[operator]
                return
        except (OSError, ValueError):
            return
        time.sleep(0.2)
