"""The streaming readers on their own: multipart decoding, hashing, size cap, read-ahead."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator

import pytest

from services.intake.uploads import (
    HashingReader,
    MalformedUpload,
    UploadTooLarge,
    multipart_upload,
    raw_upload,
)

BOUNDARY = "----dossier-test"


def form(fields: dict[str, str], filename: str, data: bytes) -> bytes:
    out = b""
    for name, value in fields.items():
        out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    out += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
    return out + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def drain(reader: HashingReader, size: int) -> bytes:
    parts = []
    while chunk := reader.read(size):
        parts.append(chunk)
    return b"".join(parts)


def test_a_multipart_file_of_many_megabytes_comes_through_whole_with_its_fields() -> None:
    data = b"%PDF-1.7\n" + os.urandom(5 * 1024 * 1024 + 17)
    body = form({"requirement": "自评报告", "confidentiality": "trade-secret"}, "报告.pdf", data)
    incoming = multipart_upload(io.BytesIO(body), BOUNDARY, 1 << 30, len(body))
    assert incoming.fields == {"requirement": "自评报告", "confidentiality": "trade-secret"}
    assert incoming.filename == "报告.pdf"
    assert incoming.reader.peek(9) == b"%PDF-1.7\n"
    assert drain(incoming.reader, 1024 * 1024 + 3) == data
    assert incoming.reader.sha256 == hashlib.sha256(data).hexdigest()
    assert incoming.reader.size == len(data)


def test_a_multipart_body_cut_inside_the_file_is_malformed() -> None:
    body = form({}, "a.pdf", b"%PDF-1.7\n" + os.urandom(3 * 1024 * 1024))
    incoming = multipart_upload(io.BytesIO(body[:2 * 1024 * 1024]), BOUNDARY, 1 << 30)
    with pytest.raises(MalformedUpload):
        drain(incoming.reader, 1024 * 1024)


def test_a_raw_body_shorter_than_its_content_length_is_malformed() -> None:
    incoming = raw_upload(io.BytesIO(b"%PDF-" + b"x" * 1000), "a.pdf", "application/pdf", {},
                          1 << 30, expected=5000)
    with pytest.raises(MalformedUpload):
        drain(incoming.reader, 4096)


def test_an_oversized_form_field_is_refused() -> None:
    body = form({"requirement": "x" * (70 * 1024)}, "a.pdf", b"%PDF-1.7\n")
    with pytest.raises(MalformedUpload):
        multipart_upload(io.BytesIO(body), BOUNDARY, 1 << 30)


def test_the_size_cap_stops_the_read_the_moment_it_is_passed() -> None:
    incoming = raw_upload(io.BytesIO(b"%PDF-" + b"x" * 10_000), "a.pdf", "application/pdf", {},
                          limit=4096)
    with pytest.raises(UploadTooLarge):
        drain(incoming.reader, 1000)


def test_a_failure_while_reading_ahead_reaches_the_reader() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"%PDF-1.7\n"
        raise OSError("client went away")

    reader = HashingReader(chunks(), 1 << 20)
    with pytest.raises(OSError, match="client went away"):
        drain(reader, 100)
    reader.close()


def test_closing_an_unfinished_reader_stops_its_thread() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 65536

    reader = HashingReader(endless(), 1 << 40)
    assert reader.read(10) == b"x" * 10
    reader.close()
    assert reader._ahead._thread is not None and not reader._ahead._thread.is_alive()
