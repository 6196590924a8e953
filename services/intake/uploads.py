"""Streaming an upload from the request body to the object store without holding it.

A multipart body is decoded incrementally (werkzeug's sans-IO decoder): the small form fields
that precede the file are collected, then the file part is exposed as a file-like reader that the
object store pulls from, part by part. The reader hashes (sha256) and counts as it goes and stops
the upload the moment the size limit is passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from shared.errors import DossierError

CHUNK = 256 * 1024
MAX_FIELD_BYTES = 64 * 1024
DECODER_BYTES = 1024 * 1024


class UploadTooLarge(DossierError):
    code = "upload.too_large"
    status = 413
    zh = "文件超过单个文件大小上限（{limit} 字节）。"
    en = "The file exceeds the per-file limit of {limit} bytes."


class MalformedUpload(DossierError):
    code = "upload.malformed"
    status = 400
    zh = "上传请求格式不正确：{why}"
    en = "The upload request is malformed: {why}"


class HashingReader:
    """File-like over a chunk iterator: sha256 and size on the way, hard size cap."""

    def __init__(self, chunks: Iterator[bytes], limit: int, head: bytes = b"") -> None:
        self._chunks = chunks
        self._buffer = bytearray(head)
        self._limit = limit
        self._sha = hashlib.sha256()
        self.size = 0
        self._done = False

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._buffer) < n):
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                self._done = True
        if n < 0 or n >= len(self._buffer):
            out = bytes(self._buffer)
            self._buffer.clear()
        else:
            out = bytes(self._buffer[:n])
            del self._buffer[:n]
        self.size += len(out)
        if self.size > self._limit:
            raise UploadTooLarge(limit=self._limit)
        self._sha.update(out)
        return out

    def peek(self, n: int) -> bytes:
        while not self._done and len(self._buffer) < n:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                self._done = True
        return bytes(self._buffer[:n])

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


@dataclass
class IncomingFile:
    fields: dict[str, str]
    filename: str
    declared_type: str
    reader: HashingReader


def _read_stream(stream: BinaryIO, expected: int | None = None) -> Iterator[bytes]:
    received = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            # A client that hung up mid-body must not leave a shortened file behind.
            if expected is not None and received < expected:
                raise MalformedUpload(why=f"the body ended after {received} of {expected} bytes")
            return
        received += len(chunk)
        yield chunk


def raw_upload(stream: BinaryIO, filename: str, declared_type: str, fields: dict[str, str],
               limit: int, expected: int | None = None) -> IncomingFile:
    """A body that is the file itself (PUT/POST with the file's content type)."""
    return IncomingFile(fields, filename, declared_type,
                        HashingReader(_read_stream(stream, expected), limit))


def multipart_upload(stream: BinaryIO, boundary: str, limit: int,
                     expected: int | None = None) -> IncomingFile:
    """Decode fields up to the first file part and hand back a reader for that part.

    Fields must come before the file (browsers keep FormData order); anything after the first
    file is ignored.
    """
    # The decoder refuses any receive_data() that would grow its buffer past this cap, so the
    # body is fed in slices that fit; the cap then bounds what one part's headers can hold.
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=DECODER_BYTES,
                               max_parts=50)
    body = _read_stream(stream, expected)
    fields: dict[str, str] = {}
    field_name: str | None = None
    field_value = bytearray()
    ended = False
    pending = memoryview(b"")

    def events() -> Iterator[object]:
        nonlocal ended, pending
        while True:
            try:
                event = decoder.next_event()
            except ValueError as exc:  # werkzeug's word for a body cut short
                raise MalformedUpload(why="the body ended inside a part") from exc
            if isinstance(event, NeedData):
                if ended:
                    return
                if not pending:
                    chunk = next(body, None)
                    if chunk is None:
                        ended = True
                        decoder.receive_data(None)
                        continue
                    pending = memoryview(chunk)
                room = DECODER_BYTES - len(decoder.buffer)
                if room <= 0:
                    raise MalformedUpload(why="a part's headers are too large")
                decoder.receive_data(bytes(pending[:room]))
                pending = pending[room:]
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    stream_events = events()
    for event in stream_events:
        if isinstance(event, Field):
            field_name, field_value = event.name, bytearray()
        elif isinstance(event, File):
            filename = event.filename or ""
            declared = event.headers.get("Content-Type", "application/octet-stream")

            def file_chunks() -> Iterator[bytes]:
                for inner in stream_events:
                    if not isinstance(inner, Data):
                        raise MalformedUpload(why="unexpected part inside the file")
                    if inner.data:
                        yield inner.data
                    if not inner.more_data:
                        return
                raise MalformedUpload(why="the body ended inside the file")

            return IncomingFile(fields, filename, declared, HashingReader(file_chunks(), limit))
        elif isinstance(event, Data) and field_name is not None:
            field_value += event.data
            if len(field_value) > MAX_FIELD_BYTES:
                raise MalformedUpload(why=f"form field {field_name} is too large")
            if not event.more_data:
                fields[field_name] = field_value.decode("utf-8", errors="strict")
                field_name = None
    raise MalformedUpload(why="no file part in the form")
