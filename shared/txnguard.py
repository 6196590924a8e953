"""A testing aid that catches slow work done inside a writer transaction.

The rule (docs/events.md, "Transactions are short"): no database transaction spans a download,
an inspection, a render, an object-store call or any network call. On SQLite a writer session
holds the file's one write lock (`BEGIN IMMEDIATE`) until it commits, so anything slow inside it
stalls every other writer of that file and ends as 'database is locked' elsewhere.

With `DOSSIER_TXN_GUARD` on (the test stacks turn it on; production leaves it off) each process
watches its own writer transactions through SQLAlchemy's engine events and, while one is open in
the current thread, records as a violation any socket connect or send to a peer that is not the
database, any child process started, and any object-store call. Violations are appended as JSON
lines to a file the tests read; the work itself goes on, so a violation cannot be hidden by a
caller that catches errors.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import subprocess
import threading
import traceback
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

log = logging.getLogger(__name__)

_local = threading.local()
_lock = threading.Lock()
_state: dict[str, Any] = {"report": None, "patched": False, "db_peers": set(),
                          "violations": []}


def _open_writers() -> set[int]:
    if not hasattr(_local, "writers"):
        _local.writers = set()
    return cast("set[int]", _local.writers)


def in_writer_transaction() -> bool:
    """Whether this thread holds an open writer transaction on any guarded engine."""
    return bool(_open_writers())


def violations() -> list[dict[str, Any]]:
    """What this process recorded so far (the report file holds every process's)."""
    return list(_state["violations"])


def check(what: str) -> None:
    """Record a violation if slow work (`what`) starts inside a writer transaction."""
    if not in_writer_transaction() or getattr(_local, "reporting", False):
        return
    _local.reporting = True
    try:
        stack = "".join(traceback.format_stack(limit=25)[:-2])
        record = {"pid": os.getpid(), "what": what, "stack": stack}
        _state["violations"].append(record)
        log.error("transaction guard: %s inside a writer transaction", what)
        report: Path | None = _state["report"]
        if report is not None:
            with _lock, report.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        _local.reporting = False


def install(engine: Engine, report: Path | None) -> None:
    """Watch `engine`'s writer transactions; patch sockets and subprocesses once per process."""
    _state["report"] = report
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
    url = make_url(str(engine.url))
    if url.host:
        _state["db_peers"].add((url.host, url.port or 5432))

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if not conn.get_execution_options().get("dossier_readonly", False):
            _open_writers().add(id(conn))

    @event.listens_for(engine, "commit")
    def _commit(conn: Connection) -> None:
        _open_writers().discard(id(conn))

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        _open_writers().discard(id(conn))

    with _lock:
        if not _state["patched"]:
            _patch_process()
            _state["patched"] = True


def _peer_is_database(address: Any) -> bool:
    if not isinstance(address, tuple) or len(address) < 2:
        return True  # a Unix socket or a pipe: local plumbing, not a remote service
    host, port = str(address[0]), int(address[1])
    peers: set[tuple[str, int]] = _state["db_peers"]
    local = {"localhost", "127.0.0.1", "::1"}
    return any(port == p and (host == h or (host in local and h in local)) for h, p in peers)


def _patch_process() -> None:
    sock = socket.socket
    connect, connect_ex = sock.connect, sock.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _peer_is_database(address):
            check(f"socket connect to {address!r}")
        return connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _peer_is_database(address):
            check(f"socket connect to {address!r}")
        return connect_ex(self, address)

    # Patching the class's methods on purpose (every socket of the process is guarded).
    sock.connect = guarded_connect  # type: ignore[method-assign,assignment]
    sock.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
    for name in ("send", "sendall", "sendto", "sendmsg"):
        original = getattr(sock, name)
        setattr(sock, name, _guard_send(original, name))

    popen_init = subprocess.Popen.__init__

    @functools.wraps(popen_init)
    def guarded_popen(self: subprocess.Popen[Any], args: Any, *a: Any, **kw: Any) -> None:
        check(f"child process {args!r}"[:300])
        popen_init(self, args, *a, **kw)

    subprocess.Popen.__init__ = guarded_popen  # type: ignore[method-assign]


def _guard_send(original: Any, name: str) -> Any:
    @functools.wraps(original)
    def guarded(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if in_writer_transaction() and self.family in (socket.AF_INET, socket.AF_INET6):
            try:
                peer = self.getpeername()
            except OSError:
                peer = args[-1] if name == "sendto" else None
            if not _peer_is_database(peer):
                check(f"socket {name} to {peer!r}")
        return original(self, *args, **kwargs)

    return guarded


class GuardedStore:
    """Wraps an object store: every call inside a writer transaction is a violation."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        # Signing a URL is arithmetic (the region is configured), not a call to the store.
        if name.startswith("_") or name == "presigned_get" or not callable(value):
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            check(f"object store {name}")
            return value(*args, **kwargs)

        return call
