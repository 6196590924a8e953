"""Streaming an upload from the request body to the object store without holding it.

A multipart body is decoded incrementally (werkzeug's sans-IO decoder): the small form fields
that precede the file are collected, then the file part is exposed as a file-like reader that the
object store pulls from, part by part. The reader hashes (sha256) and counts as it goes and stops
the upload the moment the size limit is passed.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from shared.errors import DossierError

CHUNK = 1024 * 1024  # the most the server hands over per read
MAX_FIELD_BYTES = 64 * 1024
DECODER_BYTES = 1024 * 1024
READ_AHEAD_CHUNKS = 8  # of CHUNK bytes: 8 MiB in flight at most


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


class ReadAhead:
    """Pulls chunks from the request in a thread while the store uploads the previous part.

    The store sends a part, then asks for the next one; without this the client waits while
    the part goes out and the store waits while the next one comes in. The queue is bounded
    (`depth` chunks), so memory stays bounded whatever the size of the file.
    """

    _END = object()

    def __init__(self, chunks: Iterator[bytes], depth: int = READ_AHEAD_CHUNKS) -> None:
        self._chunks = chunks
        # Hashing here, as the bytes arrive, overlaps it with the upload of the previous part.
        self.sha = hashlib.sha256()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _produce(self) -> None:
        item: object = self._END
        try:
            for chunk in self._chunks:
                self.sha.update(chunk)
                if not self._put(chunk):
                    return
        except BaseException as exc:  # handed to the consumer, raised in the request thread
            item = exc
        self._put(item)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> ReadAhead:
        return self

    def __next__(self) -> bytes:
        if self._thread is None:
            self._thread = threading.Thread(target=self._produce, name="upload-read-ahead",
                                            daemon=True)
            self._thread.start()
        item = self._queue.get()
        if item is self._END:
            self._queue.put(item)  # stay exhausted for later calls
            raise StopIteration
        if isinstance(item, BaseException):
            self._queue.put(item)
            raise item
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop reading (the upload failed or ended); frees the thread and its buffers."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class Inline:
    """ReadAhead's interface without its thread: each chunk is pulled when asked for.

    For the batch upload, whose file parts share one request body: the next file's decoding
    must not start while a thread may still be pulling the previous file's bytes."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.sha = hashlib.sha256()

    def __iter__(self) -> Inline:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._chunks)
        self.sha.update(chunk)
        return chunk

    def close(self) -> None:
        """Nothing runs in the background."""


class HashingReader:
    """File-like over a chunk iterator: sha256 and size on the way, hard size cap."""

    def __init__(self, chunks: Iterator[bytes], limit: int, read_ahead: bool = True) -> None:
        self._ahead: ReadAhead | Inline = ReadAhead(chunks) if read_ahead else Inline(chunks)
        self._pending: list[bytes] = []  # read from the request, not yet handed out
        self._pending_size = 0
        self._limit = limit
        self.size = 0
        self._done = False

    def _fill(self, n: int) -> None:
        while not self._done and (n < 0 or self._pending_size < n):
            try:
                chunk = next(self._ahead)
            except StopIteration:
                self._done = True
                return
            self._pending.append(chunk)
            self._pending_size += len(chunk)

    def read(self, n: int = -1) -> bytes:
        self._fill(n)
        if n < 0 or n >= self._pending_size:
            parts, self._pending, self._pending_size = self._pending, [], 0
        else:
            # Split only the last chunk, so a part is copied once (by the join), not twice.
            parts, taken = [], 0
            while taken < n:
                chunk = self._pending.pop(0)
                if taken + len(chunk) > n:
                    keep = n - taken
                    self._pending.insert(0, chunk[keep:])
                    chunk = chunk[:keep]
                parts.append(chunk)
                taken += len(chunk)
            self._pending_size -= taken
        out = parts[0] if len(parts) == 1 else b"".join(parts)
        self.size += len(out)
        if self.size > self._limit:
            raise UploadTooLarge(limit=self._limit)
        return out

    def limit_to(self, limit: int) -> None:
        """Lower the cap (a batch's remaining room); never raises it."""
        self._limit = min(self._limit, limit)

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return b"".join(self._pending)[:n]

    @property
    def sha256(self) -> str:
        """Of every byte read; only meaningful once the whole file has been read."""
        return self._ahead.sha.hexdigest()

    def close(self) -> None:
        self._ahead.close()


@dataclass
class IncomingFile:
    fields: dict[str, str]
    filename: str
    declared_type: str
    reader: HashingReader


def _read_stream(stream: IO[bytes], expected: int | None = None) -> Iterator[bytes]:
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


def raw_upload(stream: IO[bytes], filename: str, declared_type: str, fields: dict[str, str],
               limit: int, expected: int | None = None) -> IncomingFile:
    """A body that is the file itself (PUT/POST with the file's content type)."""
    return IncomingFile(fields, filename, declared_type,
                        HashingReader(_read_stream(stream, expected), limit))


def _multipart_events(decoder: MultipartDecoder, body: Iterator[bytes]) -> Iterator[object]:
    """The decoder's events over the body, fed in slices that fit its buffer cap."""
    # The decoder refuses any receive_data() that would grow its buffer past its cap, so the
    # body is fed in slices that fit; the cap then bounds what one part's headers can hold.
    ended = False
    pending = memoryview(b"")
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


def _file_chunks(stream_events: Iterator[object]) -> Iterator[bytes]:
    """The data of the file part just opened, up to its end."""
    for inner in stream_events:
        if not isinstance(inner, Data):
            raise MalformedUpload(why="unexpected part inside the file")
        if inner.data:
            yield inner.data
        if not inner.more_data:
            return
    raise MalformedUpload(why="the body ended inside the file")


def _take_field(fields: dict[str, str], name: str, value: bytearray, event: Data) -> bool:
    """Add a form field's data; True once the field is complete (and stored in `fields`)."""
    value += event.data
    if len(value) > MAX_FIELD_BYTES:
        raise MalformedUpload(why=f"form field {name} is too large")
    if event.more_data:
        return False
    fields[name] = value.decode("utf-8", errors="strict")
    return True


def multipart_upload(stream: IO[bytes], boundary: str, limit: int,
                     expected: int | None = None) -> IncomingFile:
    """Decode fields up to the first file part and hand back a reader for that part.

    Fields must come before the file (browsers keep FormData order); anything after the first
    file is ignored.
    """
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=DECODER_BYTES,
                               max_parts=50)
    stream_events = _multipart_events(decoder, _read_stream(stream, expected))
    fields: dict[str, str] = {}
    field_name: str | None = None
    field_value = bytearray()
    for event in stream_events:
        if isinstance(event, Field):
            field_name, field_value = event.name, bytearray()
        elif isinstance(event, File):
            declared = event.headers.get("Content-Type", "application/octet-stream")
            return IncomingFile(fields, event.filename or "", declared,
                                HashingReader(_file_chunks(stream_events), limit))
        elif (isinstance(event, Data) and field_name is not None
              and _take_field(fields, field_name, field_value, event)):
            field_name = None
    raise MalformedUpload(why="no file part in the form")


def multipart_files(stream: IO[bytes], boundary: str, limit: int, max_files: int,
                    expected: int | None = None) -> Iterator[IncomingFile]:
    """Every file part of a form in turn, each with the fields sent since the file before it.

    A file's reader must be done with (read, or given up) before the next file is asked for;
    whatever of it was left unread is skipped then. Readers pull inline (no read-ahead thread),
    so the body is only ever read by the caller's thread. More than `max_files` file parts
    is not decoded further: the caller counts and refuses.
    """
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=DECODER_BYTES,
                               max_parts=(max_files + 1) * 8)
    stream_events = _multipart_events(decoder, _read_stream(stream, expected))
    fields: dict[str, str] = {}
    field_name: str | None = None
    field_value = bytearray()
    for event in stream_events:
        if isinstance(event, Field):
            field_name, field_value = event.name, bytearray()
        elif isinstance(event, File):
            declared = event.headers.get("Content-Type", "application/octet-stream")
            chunks = _file_chunks(stream_events)
            yield IncomingFile(fields, event.filename or "", declared,
                               HashingReader(chunks, limit, read_ahead=False))
            for _rest in chunks:  # what the caller left unread of this file
                pass
            fields = {}
        elif (isinstance(event, Data) and field_name is not None
              and _take_field(fields, field_name, field_value, event)):
            field_name = None
