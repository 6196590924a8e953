"""The streamed ZIP: entries leave as they are read, and a failed re-check stops the stream."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator

import pytest

from services.review.scoring import combined_score
from services.review.ziparchive import stream_zip


def _blocks(count: int, size: int = 256 * 1024) -> Iterator[bytes]:
    for _ in range(count):
        yield os.urandom(size)


def test_a_large_archive_is_yielded_in_pieces_and_reads_back_whole() -> None:
    pieces = list(stream_zip([("a.bin", lambda: _blocks(20)), ("b.txt", lambda: [b"hello"])]))
    assert len(pieces) > 5  # never one buffer holding the whole archive
    assert max(len(p) for p in pieces) < 3 * 1024 * 1024
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert archive.testzip() is None
    assert len(archive.read("a.bin")) == 20 * 256 * 1024
    assert archive.read("b.txt") == b"hello"


def test_a_recheck_that_fails_stops_the_stream_before_the_next_entry() -> None:
    opened: list[str] = []

    def recheck(name: str) -> None:
        if name == "second.pdf":
            raise PermissionError("access ended")

    def opener(name: str) -> Iterator[bytes]:
        opened.append(name)
        yield b"x" * 10

    stream = stream_zip([("first.pdf", lambda: opener("first.pdf")),
                         ("second.pdf", lambda: opener("second.pdf"))], recheck)
    next(stream)
    with pytest.raises(PermissionError):
        list(stream)
    assert opened == ["first.pdf"]


def test_stages_combine_by_weight_only_once_every_weighted_stage_is_scored() -> None:
    weights = {"material": 0.3, "on-site": 0.4, "defence": 0.3}
    assert combined_score({"material": 800, "on-site": 700, "defence": None}, weights) is None
    assert combined_score({"material": 800, "on-site": 700, "defence": 600}, weights) == \
        pytest.approx(700)
    assert combined_score({"material": 800, "on-site": None}, {"material": 1, "on-site": 0}) \
        == 800
