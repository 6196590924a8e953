"""The transaction guard sees slow work inside a writer transaction, and only there."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from shared import txnguard
from shared.db import Database


class Store:
    def stat(self, key: str) -> str:
        return key


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    db = Database(f"sqlite:///{tmp_path / 'guarded.db'}")
    report = tmp_path / "txn-guard.jsonl"
    txnguard.install(db.engine, report)
    try:
        yield db, report
    finally:
        db.engine.dispose()


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        yield server.getsockname()


def recorded(report: Path) -> list[dict[str, Any]]:
    if not report.exists():
        return []
    return [json.loads(line) for line in report.read_text().splitlines()]


def connect(peer: tuple[str, int]) -> None:
    with socket.create_connection(peer, timeout=5) as client:
        client.sendall(b"ping")


def test_a_network_call_inside_a_writer_transaction_is_recorded(
        guarded: tuple[Database, Path], listener: tuple[str, int]) -> None:
    db, report = guarded
    with db.session() as session:
        session.execute(text("SELECT 1"))
        connect(listener)
    found = recorded(report)
    assert [v["what"].split(" to ")[0] for v in found] == ["socket connect", "socket sendall"]
    assert "test_txnguard.py" in found[0]["stack"]


def test_a_child_process_and_a_store_call_inside_a_writer_transaction_are_recorded(
        guarded: tuple[Database, Path]) -> None:
    db, report = guarded
    store = txnguard.GuardedStore(Store())
    with db.session() as session:
        session.execute(text("SELECT 1"))
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        assert store.stat("k") == "k"
    assert [v["what"].split(" ")[0:2] for v in recorded(report)] == [
        ["child", "process"], ["object", "store"]]


def test_the_same_work_in_a_reader_or_after_the_commit_is_not_recorded(
        guarded: tuple[Database, Path], listener: tuple[str, int]) -> None:
    db, report = guarded
    store = txnguard.GuardedStore(Store())
    with db.reader() as session:
        session.execute(text("SELECT 1"))
        connect(listener)
        store.stat("k")
    with db.session() as session:
        session.execute(text("SELECT 1"))
    connect(listener)
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    with pytest.raises(RuntimeError), db.session() as session:
        session.execute(text("SELECT 1"))
        raise RuntimeError("rolled back")
    store.stat("k")
    assert recorded(report) == []
