"""Object storage: a small interface and its S3 implementation on the minio SDK.

Every service stores and reads objects only through `ObjectStore`. The S3 implementation runs
unchanged on MinIO (production) and SeaweedFS's S3 gateway (embedded default, tests); any other
implementation must pass the same contract tests (`tests/shared/test_storage_contract.py`).
"""

from __future__ import annotations

import builtins
import contextlib
import mmap
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE, Tags
from minio.datatypes import Part
from minio.error import S3Error
from minio.helpers import MAX_MULTIPART_COUNT, DictType, genheaders
from minio.retention import Retention

from shared.errors import DossierError
from shared.filenames import content_disposition

# Parts of 6 MiB (S3's minimum is 5 MiB, except the last) with 3 in flight: an upload holds at
# most (PARTS_IN_FLIGHT + 1) x PART_SIZE = 24 MiB of parts (3 being sent, 1 being read), which
# keeps intake's 1 GiB upload under its 64 MiB memory budget with its 8 MiB read-ahead, while
# sending as many parts at once as the SDK's default put_object (3).
PART_SIZE = 6 * 1024 * 1024
PARTS_IN_FLIGHT = 3


class ObjectNotFound(DossierError):
    code = "storage.not_found"
    status = 404
    zh = "存储中找不到该对象。"
    en = "The object was not found in storage."


class ObjectLocked(DossierError):
    code = "storage.locked"
    status = 409
    zh = "该对象处于保留期内，不可删除或覆盖。"
    en = "The object is under retention and cannot be deleted or overwritten."


@dataclass(frozen=True)
class StoredObject:
    key: str
    version_id: str | None
    size: int
    etag: str
    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None
    is_latest: bool = True


class UploadNotFound(DossierError):
    code = "storage.upload_not_found"
    status = 404
    zh = "存储中找不到该分片上传（可能已完成、已取消或已过期）。"
    en = "The multipart upload was not found in storage (completed, aborted or expired)."


@dataclass(frozen=True)
class PartInfo:
    """One part the store holds for a multipart upload (S3 ListParts)."""

    number: int
    etag: str
    size: int


@dataclass(frozen=True)
class PendingMultipart:
    """A multipart upload the store holds, neither completed nor aborted."""

    key: str
    upload_id: str
    initiated: datetime | None


class ObjectStore(Protocol):
    """What the services need from an object store.

    `list` is one of the contract's verbs, so inside this class (and its implementations) the
    name is the method: annotations spell the built-in `builtins.list`."""

    def ensure_bucket(self) -> None: ...

    def put(self, key: str, stream: BinaryIO, *, length: int = -1,
            content_type: str = "application/octet-stream",
            metadata: Mapping[str, str] | None = None,
            tags: Mapping[str, str] | None = None) -> StoredObject: ...

    def open(self, key: str, version_id: str | None = None) -> Iterator[bytes]: ...

    def read(self, key: str, version_id: str | None = None) -> bytes: ...

    def stat(self, key: str, version_id: str | None = None) -> StoredObject: ...

    def get_tags(self, key: str, version_id: str | None = None) -> dict[str, str]: ...

    def set_tags(self, key: str, tags: Mapping[str, str],
                 version_id: str | None = None) -> None: ...

    def list(self, prefix: str, *, every_version: bool = False) -> list[StoredObject]: ...

    def versions(self, key: str) -> builtins.list[StoredObject]: ...

    def retain(self, key: str, until: datetime, version_id: str | None = None, *,
               compliance: bool = True) -> None: ...

    def retained_until(self, key: str, version_id: str | None = None) -> datetime | None: ...

    def presigned_get(self, key: str, expires: timedelta, version_id: str | None = None,
                      filename: str | None = None) -> str: ...

    def delete(self, key: str, version_id: str | None = None) -> None: ...

    def ping(self) -> None: ...

    # Multipart steps one by one, for uploads that span requests (resumable browser uploads).

    def start_multipart(self, key: str, *, content_type: str = "application/octet-stream",
                        metadata: Mapping[str, str] | None = None,
                        tags: Mapping[str, str] | None = None) -> str: ...

    def upload_part(self, key: str, upload_id: str, number: int,
                    data: bytes | memoryview) -> str: ...

    def list_parts(self, key: str, upload_id: str) -> builtins.list[PartInfo]: ...

    def complete_multipart(self, key: str, upload_id: str,
                           parts: builtins.list[tuple[int, str]]) -> StoredObject: ...

    def abort_multipart(self, key: str, upload_id: str) -> None: ...

    def pending_multiparts(self, prefix: str = "") -> builtins.list[PendingMultipart]: ...


def _tags(mapping: Mapping[str, str] | None) -> Tags | None:
    if not mapping:
        return None
    tags = Tags.new_object_tags()
    for k, v in mapping.items():
        tags[k] = v
    return tags


def _meta(headers: Mapping[str, str]) -> dict[str, str]:
    prefix = "x-amz-meta-"
    return {k[len(prefix):].lower(): v for k, v in headers.items()
            if k.lower().startswith(prefix)}


class _BytesReader:
    """Bytes as a readable stream, without the copy `io.BytesIO` would make."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n >= len(self._data):
            out, self._data = self._data, b""
        else:
            out, self._data = self._data[:n], self._data[n:]
        return out


class _Multipart:
    """The S3 multipart steps, on minio-py's private methods (checked against 7.2.x).

    minio-py has no public API for them, and its `put_object` cannot both bound memory and
    overlap: with several parts in flight it queues every part it reads without limit (a slow
    store makes it hold the whole body), and with one part in flight the next part is not read
    while one is sent. Resumable browser uploads need the steps one by one, across requests
    (`resume` by upload id). Every private use is here, so an SDK upgrade breaks one place,
    which the storage contract tests catch.
    """

    def __init__(self, client: Minio, bucket: str, key: str, headers: DictType,
                 upload_id: str | None = None) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.upload_id: str = upload_id or self._create(dict(headers))

    @classmethod
    def resume(cls, client: Minio, bucket: str, key: str, upload_id: str) -> _Multipart:
        """An upload started earlier (perhaps by another process), by its id."""
        return cls(client, bucket, key, {}, upload_id=upload_id)

    def _create(self, headers: DictType) -> str:
        return self.client._create_multipart_upload(self.bucket, self.key, headers)

    def upload(self, number: int, data: bytes | memoryview) -> str:
        # Typed `bytes`, but the SDK only hashes and sends the buffer; bytes() would copy
        # every part of an upload that is kept in shared memory to avoid copies.
        return self.client._upload_part(self.bucket, self.key, data,  # type: ignore[arg-type]
                                        None, self.upload_id, number)

    upload_part = upload

    def list_parts(self) -> list[PartInfo]:
        """Every part the store has, in number order (follows ListParts' pages)."""
        found: list[Part] = []
        marker: str | None = None
        while True:
            result = self.client._list_parts(self.bucket, self.key, self.upload_id,
                                             max_parts=1000, part_number_marker=marker)
            found += result.parts
            if not result.is_truncated or not result.next_part_number_marker:
                break
            marker = result.next_part_number_marker
        # SeaweedFS lists a part sent twice under its number twice; S3 says the later copy
        # replaces the earlier one, so keep the newest per number.
        newest: dict[int, Part] = {}
        for p in found:
            seen = newest.get(p.part_number)
            if seen is None or (p.last_modified or datetime.min.replace(tzinfo=UTC)) >= (
                    seen.last_modified or datetime.min.replace(tzinfo=UTC)):
                newest[p.part_number] = p
        return [PartInfo(n, p.etag, p.size or 0) for n, p in sorted(newest.items())]

    def complete(self, etags: list[str]) -> tuple[str | None, str]:
        return self.complete_parts(list(enumerate(etags, start=1)))

    def complete_parts(self, parts: list[tuple[int, str]]) -> tuple[str | None, str]:
        result = self.client._complete_multipart_upload(
            self.bucket, self.key, self.upload_id,
            [Part(number, etag) for number, etag in parts])
        return result.version_id, result.etag or ""

    def abort(self) -> None:
        self.client._abort_multipart_upload(self.bucket, self.key, self.upload_id)


# Parts are filled from the stream in pieces of at most this size, so the reader hands over its
# chunks as they are instead of joining a whole part into a fresh allocation.
READ_PIECE = 1024 * 1024


def _part_buffer(size: int) -> mmap.mmap:
    """A part buffer of its own anonymous mapping.

    Not bytes or bytearray from the heap: part-sized blocks allocated and freed across threads
    stayed with the allocator after the upload (measured in bench/upload.py: intake's worker
    still held +36, then +65 MiB of RSS between 256 MiB uploads; with mappings 0-7 MiB). A
    mapping goes back to the system when closed, and its pages are committed only as they are
    written, so a small body costs little.
    """
    return mmap.mmap(-1, size)


def _read_into(stream: BinaryIO, buffer: mmap.mmap, want: int) -> int:
    """Fill `buffer[:want]` from `stream`; fewer bytes only at the end of the stream."""
    got = 0
    while got < want:
        chunk = stream.read(min(want - got, READ_PIECE))
        if not chunk:
            break
        buffer[got:got + len(chunk)] = chunk
        got += len(chunk)
    return got


def _send_parts(upload: _Multipart, part_size: int, ready: list[tuple[mmap.mmap, int]],
                read_part: Callable[[mmap.mmap, int], int]) -> tuple[int, str | None, str]:
    """Send parts, at most PARTS_IN_FLIGHT at once, reading the next one meanwhile; complete
    the upload, or abort it on any failure. Returns (size, version id, etag).

    Parts are read into a few reused buffers rather than into new bytes per part: with a fresh
    part-sized allocation per part, intake's 1 GiB upload grew its worker's RSS by 59.5 MiB;
    with reused mapped buffers by about 40 MiB.
    """
    free: queue.SimpleQueue[mmap.mmap] = queue.SimpleQueue()
    made = [buffer for buffer, _ in ready]

    def buffer() -> mmap.mmap:
        try:
            return free.get_nowait()
        except queue.Empty:  # at most PARTS_IN_FLIGHT + 1 are ever made
            made.append(_part_buffer(part_size))
            return made[-1]

    def send(number: int, data: mmap.mmap, n: int) -> str:
        try:
            with memoryview(data) as view, view[:n] as part:
                return upload.upload(number, part)
        finally:
            free.put(data)  # before the slot frees, so the reader finds it

    futures: list[Future[str]] = []
    in_flight: set[Future[str]] = set()
    size = 0
    pool = ThreadPoolExecutor(PARTS_IN_FLIGHT, thread_name_prefix="s3-part")
    try:
        while True:
            if ready:
                data, n = ready.pop(0)
            else:
                data = buffer()
                n = read_part(data, size)
                if not n:
                    break
            # Wait for a free slot before handing the part over: this is the memory bound.
            while len(in_flight) >= PARTS_IN_FLIGHT:
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()  # a failed part fails the upload now, not at the end
            if len(futures) >= MAX_MULTIPART_COUNT:
                raise ValueError(f"more than {MAX_MULTIPART_COUNT} parts")
            size += n
            future = pool.submit(send, len(futures) + 1, data, n)
            futures.append(future)
            in_flight.add(future)
            if n < part_size:
                break  # a short part is the end of the stream
        etags = [f.result() for f in futures]
        version_id, etag = upload.complete(etags)
        return size, version_id, etag
    except BaseException:
        for f in futures:
            f.cancel()
        pool.shutdown(wait=True)  # no part may land after the abort
        with contextlib.suppress(Exception):
            upload.abort()
        raise
    finally:
        pool.shutdown(wait=True)
        for made_buffer in made:
            with contextlib.suppress(BufferError):  # still viewed: then freed when collected
                made_buffer.close()


class S3ObjectStore:
    """`ObjectStore` on any S3 API through the minio SDK; one bucket, versioned and lockable."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, *,
                 secure: bool = False, region: str = "us-east-1",
                 public_url: str | None = None) -> None:
        # Short connect timeout and bounded retries: a dead store must fail a readiness probe
        # in seconds, not hang it.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=120),
            maxsize=16,
            retries=urllib3.Retry(total=3, backoff_factor=0.2,
                                  status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                            secure=secure, region=region, http_client=http)
        self.bucket = bucket
        # Presigned links are signed for the host the browser will use; with the region given,
        # signing needs no request to the store.
        self.signer = self.client
        if public_url:
            parsed = urlparse(public_url)
            self.signer = Minio(parsed.netloc, access_key=access_key, secret_key=secret_key,
                                secure=parsed.scheme == "https", region=region)
        self._ready = False
        self._lock = threading.Lock()

    def ensure_bucket(self) -> None:
        """Create the bucket with versioning and object lock (only possible at creation)."""
        if self._ready:
            return
        with self._lock:
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket, object_lock=True)
                except S3Error as exc:
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise
            self._ready = True

    def ping(self) -> None:
        self.client.bucket_exists(self.bucket)

    def put(self, key: str, stream: BinaryIO, *, length: int = -1,
            content_type: str = "application/octet-stream",
            metadata: Mapping[str, str] | None = None,
            tags: Mapping[str, str] | None = None) -> StoredObject:
        """Store a stream of known or unknown length; one PUT if it fits in one part.

        Larger bodies go up as a multipart upload with `PARTS_IN_FLIGHT` parts sent at once
        while the next is read, so memory stays at (PARTS_IN_FLIGHT + 1) parts whatever the
        size of the body or the speed of the store. Any failure (including the stream's own,
        e.g. a client that hung up) aborts the upload: no object is left behind.
        """
        self.ensure_bucket()
        meta = dict(metadata or {})
        part_size = PART_SIZE
        if length >= 0:
            # A known length may need bigger parts to stay within S3's 10,000 parts.
            part_size = max(PART_SIZE, -(-length // MAX_MULTIPART_COUNT))

        def read_part(buffer: mmap.mmap, sent: int) -> int:
            want = part_size if length < 0 else min(part_size, length - sent)
            got = _read_into(stream, buffer, want)
            if length >= 0 and got < want:
                raise OSError(f"stream ended after {sent + got} of {length} bytes")
            return got

        first = _part_buffer(part_size)
        second = _part_buffer(part_size)
        handed = False  # once the multipart upload owns the buffers, it closes them
        try:
            got = read_part(first, 0)
            # Reading on tells a body of exactly one part from a longer one.
            n = read_part(second, got) if got == part_size else 0
            if not n:
                result = self.client.put_object(
                    self.bucket, key, _BytesReader(first[:got]), length=got,  # type: ignore[arg-type]
                    content_type=content_type, metadata=dict(meta), tags=_tags(tags),
                    num_parallel_uploads=1)
                return StoredObject(key=key, version_id=result.version_id, size=got,
                                    etag=result.etag or "", content_type=content_type,
                                    metadata=meta)
            # The same headers the SDK's put_object sends (metadata, tags, content type).
            headers = genheaders(dict(meta), None, _tags(tags), None, False)
            headers["Content-Type"] = content_type or "application/octet-stream"
            upload = _Multipart(self.client, self.bucket, key, headers)
            handed = True
            size, version_id, etag = _send_parts(upload, part_size,
                                                 [(first, got), (second, n)], read_part)
        finally:
            if not handed:
                first.close()
                second.close()
        return StoredObject(key=key, version_id=version_id, size=size, etag=etag,
                            content_type=content_type, metadata=meta)

    def open(self, key: str, version_id: str | None = None) -> Iterator[bytes]:
        """Stream an object in chunks; the connection is released when iteration ends.

        The request is made here, not at the first chunk, so a missing object raises before a
        caller has started a response.
        """
        try:
            response = self.client.get_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            raise self._translate(exc, key) from exc

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.stream(256 * 1024)
            finally:
                response.close()
                response.release_conn()

        return chunks()

    def read(self, key: str, version_id: str | None = None) -> bytes:
        return b"".join(self.open(key, version_id))

    def stat(self, key: str, version_id: str | None = None) -> StoredObject:
        try:
            st = self.client.stat_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            raise self._translate(exc, key) from exc
        return StoredObject(key=key, version_id=st.version_id, size=st.size or 0,
                            etag=st.etag or "", content_type=st.content_type or "",
                            metadata=_meta(st.metadata or {}), last_modified=st.last_modified)

    def get_tags(self, key: str, version_id: str | None = None) -> dict[str, str]:
        try:
            tags = self.client.get_object_tags(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            raise self._translate(exc, key) from exc
        return dict(tags or {})

    def set_tags(self, key: str, tags: Mapping[str, str],
                 version_id: str | None = None) -> None:
        try:
            self.client.set_object_tags(self.bucket, key, _tags(tags) or Tags.new_object_tags(),
                                        version_id=version_id)
        except S3Error as exc:
            raise self._translate(exc, key) from exc

    def list(self, prefix: str, *, every_version: bool = False) -> list[StoredObject]:
        """Objects under `prefix`; with `every_version`, every stored version, including those
        a delete marker hides (a delete on a versioned bucket only hides)."""
        self.ensure_bucket()
        return [
            StoredObject(key=o.object_name or "", version_id=o.version_id, size=o.size or 0,
                         etag=o.etag or "", last_modified=o.last_modified)
            for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True,
                                              include_version=every_version)
            if not o.is_delete_marker
        ]

    def versions(self, key: str) -> builtins.list[StoredObject]:
        """Every version of exactly this key, newest first."""
        self.ensure_bucket()
        found = [
            StoredObject(key=o.object_name or "", version_id=o.version_id, size=o.size or 0,
                         etag=o.etag or "", last_modified=o.last_modified,
                         is_latest=bool(o.is_latest and o.is_latest != "false"))
            for o in self.client.list_objects(self.bucket, prefix=key, recursive=True,
                                              include_version=True)
            if o.object_name == key and not o.is_delete_marker
        ]
        return sorted(found, key=lambda o: o.last_modified or datetime.min, reverse=True)

    def retain(self, key: str, until: datetime, version_id: str | None = None, *,
               compliance: bool = True) -> None:
        """Make a version immutable until `until`. Compliance mode: nobody can lift it."""
        mode = COMPLIANCE if compliance else GOVERNANCE
        try:
            self.client.set_object_retention(self.bucket, key, Retention(mode, until),
                                             version_id=version_id)
        except S3Error as exc:
            raise self._translate(exc, key) from exc

    def retained_until(self, key: str, version_id: str | None = None) -> datetime | None:
        try:
            retention = self.client.get_object_retention(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in {"NoSuchObjectLockConfiguration",
                            "ObjectLockConfigurationNotFoundError"}:
                return None
            raise self._translate(exc, key) from exc
        return retention.retain_until_date if retention else None

    def presigned_get(self, key: str, expires: timedelta, version_id: str | None = None,
                      filename: str | None = None) -> str:
        headers: DictType | None = None
        if filename:
            # RFC 5987 so Chinese file names survive the download.
            headers = {"response-content-disposition": content_disposition(filename)}
        return self.signer.presigned_get_object(self.bucket, key, expires=expires,
                                                version_id=version_id, response_headers=headers)

    def delete(self, key: str, version_id: str | None = None) -> None:
        try:
            self.client.remove_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            # Stores word a retention refusal differently (AccessDenied, "WORM protected"...);
            # ask the store itself whether the version is under retention.
            locked = False
            if exc.code in {"AccessDenied", "InvalidRequest"} and version_id:
                with contextlib.suppress(S3Error, DossierError):
                    until = self.retained_until(key, version_id)
                    locked = until is not None and until > datetime.now(UTC)
            if locked:
                raise ObjectLocked(detail=key) from exc
            raise self._translate(exc, key) from exc

    # -- multipart steps across requests --------------------------------------------------

    def start_multipart(self, key: str, *, content_type: str = "application/octet-stream",
                        metadata: Mapping[str, str] | None = None,
                        tags: Mapping[str, str] | None = None) -> str:
        """Begin a multipart upload; its parts may come later, from any process."""
        self.ensure_bucket()
        headers = genheaders(dict(metadata or {}), None, _tags(tags), None, False)
        headers["Content-Type"] = content_type or "application/octet-stream"
        return _Multipart(self.client, self.bucket, key, headers).upload_id

    def upload_part(self, key: str, upload_id: str, number: int,
                    data: bytes | memoryview) -> str:
        """Send one part (1–10,000; all but the last at least 5 MiB); returns its ETag. A part
        sent again under the same number replaces the earlier one."""
        try:
            return _Multipart.resume(self.client, self.bucket, key, upload_id).upload_part(
                number, data)
        except S3Error as exc:
            raise self._translate(exc, key) from exc

    def list_parts(self, key: str, upload_id: str) -> builtins.list[PartInfo]:
        try:
            return _Multipart.resume(self.client, self.bucket, key, upload_id).list_parts()
        except S3Error as exc:
            raise self._translate(exc, key) from exc

    def complete_multipart(self, key: str, upload_id: str,
                           parts: builtins.list[tuple[int, str]]) -> StoredObject:
        """Join the parts (number, ETag) into the object; the size is read back from it."""
        try:
            version_id, etag = _Multipart.resume(self.client, self.bucket, key,
                                                 upload_id).complete_parts(parts)
        except S3Error as exc:
            raise self._translate(exc, key) from exc
        stored = self.stat(key, version_id)
        return StoredObject(key=key, version_id=version_id or stored.version_id,
                            size=stored.size, etag=etag or stored.etag,
                            content_type=stored.content_type, metadata=stored.metadata,
                            last_modified=stored.last_modified)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop the upload and its parts; an upload already gone is no error."""
        try:
            _Multipart.resume(self.client, self.bucket, key, upload_id).abort()
        except S3Error as exc:
            if exc.code != "NoSuchUpload":
                raise self._translate(exc, key) from exc

    def pending_multiparts(self, prefix: str = "") -> builtins.list[PendingMultipart]:
        """Every unfinished multipart upload under `prefix` (ListMultipartUploads), so a sweeper
        can abort the ones nobody remembers any more."""
        self.ensure_bucket()
        found: builtins.list[PendingMultipart] = []
        key_marker: str | None = None
        id_marker: str | None = None
        while True:
            result = self.client._list_multipart_uploads(
                self.bucket, prefix=prefix or None, key_marker=key_marker,
                upload_id_marker=id_marker, max_uploads=1000)
            found += [PendingMultipart(u.object_name, u.upload_id or "", u.initiated_time)
                      for u in result.uploads]
            if not result.is_truncated or not (result.next_key_marker
                                               or result.next_upload_id_marker):
                break
            key_marker, id_marker = result.next_key_marker, result.next_upload_id_marker
        return found

    @staticmethod
    def _translate(exc: S3Error, key: str) -> DossierError | S3Error:
        if exc.code in {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}:
            return ObjectNotFound(detail=key)
        if exc.code == "NoSuchUpload":
            return UploadNotFound(detail=key)
        return exc
