"""Object storage: a small interface and its S3 implementation on the minio SDK.

Every service stores and reads objects only through `ObjectStore`. The S3 implementation runs
unchanged on MinIO (production) and SeaweedFS's S3 gateway (embedded default, tests); any other
implementation must pass the same contract tests (`tests/shared/test_storage_contract.py`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO, Protocol
from urllib.parse import quote, urlparse

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE, Tags
from minio.error import S3Error
from minio.retention import Retention

from shared.errors import DossierError

# 8 MiB parts keep an upload's memory bounded (the SDK holds one part per upload thread) while
# staying well above S3's 5 MiB minimum part size.
PART_SIZE = 8 * 1024 * 1024


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


class ObjectStore(Protocol):
    """What the services need from an object store."""

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

    def list(self, prefix: str) -> list[StoredObject]: ...

    def versions(self, key: str) -> list[StoredObject]: ...

    def retain(self, key: str, until: datetime, version_id: str | None = None, *,
               compliance: bool = True) -> None: ...

    def retained_until(self, key: str, version_id: str | None = None) -> datetime | None: ...

    def presigned_get(self, key: str, expires: timedelta, version_id: str | None = None,
                      filename: str | None = None) -> str: ...

    def delete(self, key: str, version_id: str | None = None) -> None: ...

    def ping(self) -> None: ...


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
        self.ensure_bucket()
        result = self.client.put_object(
            self.bucket, key, stream, length=length, content_type=content_type,
            metadata=dict(metadata or {}), tags=_tags(tags), part_size=PART_SIZE,
            num_parallel_uploads=1,
        )
        size = length if length >= 0 else self.stat(key, result.version_id).size
        return StoredObject(key=key, version_id=result.version_id, size=size,
                            etag=result.etag or "", content_type=content_type,
                            metadata=dict(metadata or {}))

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

    def list(self, prefix: str) -> list[StoredObject]:
        self.ensure_bucket()
        return [
            StoredObject(key=o.object_name or "", version_id=o.version_id, size=o.size or 0,
                         etag=o.etag or "", last_modified=o.last_modified)
            for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
        ]

    def versions(self, key: str) -> list[StoredObject]:
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
        headers = None
        if filename:
            # RFC 5987 so Chinese file names survive the download.
            headers = {"response-content-disposition":
                       f"attachment; filename*=UTF-8''{quote(filename)}"}
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

    @staticmethod
    def _translate(exc: S3Error, key: str) -> DossierError | S3Error:
        if exc.code in {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}:
            return ObjectNotFound(detail=key)
        return exc
