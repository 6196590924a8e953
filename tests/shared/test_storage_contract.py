"""Contract tests every `ObjectStore` implementation must pass, run against real servers.

The `store` fixture is parametrised by implementation; today only "s3" (S3ObjectStore on the
SeaweedFS S3 gateway started by the session's `backing` fixture). A second implementation joins by
adding a builder to BUILDERS; every test below then runs against it unchanged.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import pytest
import requests
from minio.error import S3Error

from dossier.localstack import BackingServers
from shared.errors import DossierError
from shared.filenames import content_disposition
from shared.storage import PART_SIZE, ObjectLocked, ObjectNotFound, ObjectStore, S3ObjectStore

MiB = 1024 * 1024

Builder = Callable[[BackingServers, str, str], ObjectStore]


def _s3(backing: BackingServers, bucket: str, secret_key: str) -> ObjectStore:
    return S3ObjectStore(backing.s3_endpoint, backing.access_key, secret_key, bucket)


BUILDERS: dict[str, Builder] = {"s3": _s3}

# How each implementation says "these credentials are not valid".
REFUSAL_CODES = {"SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId"}


@pytest.fixture(scope="module")
def bucket() -> str:
    name = f"contract-{secrets.token_hex(6)}"
    assert 3 <= len(name) <= 63 and name == name.lower()
    return name


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def implementation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def store(implementation: str, backing: BackingServers, bucket: str) -> ObjectStore:
    built = BUILDERS[implementation](backing, bucket, backing.secret_key)
    built.ensure_bucket()
    return built


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own, so tests cannot see each other's objects."""
    return f"t-{secrets.token_hex(6)}/"


class RandomStream(io.RawIOBase):
    """A readable stream of `size` random bytes whose length the reader is not told.

    Generated chunk by chunk (never held in memory at once); `sha256` covers what was served.
    """

    def __init__(self, size: int, chunk: int = MiB) -> None:
        self.sha256 = hashlib.sha256()
        self.served = 0
        self._chunks = self._generate(size, chunk)
        self._buffer = b""

    def _generate(self, size: int, chunk: int) -> Iterator[bytes]:
        left = size
        while left > 0:
            piece = os.urandom(min(chunk, left))
            left -= len(piece)
            yield piece

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            nxt = next(self._chunks, None)
            if nxt is None:
                break
            self._buffer += nxt
        if n < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:n], self._buffer[n:]
        self.sha256.update(out)
        self.served += len(out)
        return out


def _put_bytes(store: ObjectStore, key: str, data: bytes, **kwargs: object) -> object:
    return store.put(key, io.BytesIO(data), length=len(data), **kwargs)  # type: ignore[arg-type]


def test_a_stream_of_unknown_length_larger_than_one_part_reads_back_identical(
        store: ObjectStore, prefix: str) -> None:
    size = 20 * MiB
    assert size > PART_SIZE  # the upload must take the multipart path
    source = RandomStream(size)
    key = prefix + "big.bin"

    stored = store.put(key, source, length=-1)  # type: ignore[arg-type]

    assert source.served == size
    assert stored.size == size
    assert store.stat(key).size == size
    digest = hashlib.sha256()
    received = 0
    for chunk in store.open(key):
        digest.update(chunk)
        received += len(chunk)
    assert received == size
    assert digest.hexdigest() == source.sha256.hexdigest()


@pytest.mark.parametrize("length", ["known", "unknown"])
def test_a_multipart_put_keeps_content_type_metadata_tags_and_version(
        store: ObjectStore, prefix: str, length: str) -> None:
    size = 3 * PART_SIZE + 12345  # several parts in flight, and a short last one
    data = os.urandom(size)
    key = prefix + "packet.pdf"
    stored = store.put(key, io.BytesIO(data), length=size if length == "known" else -1,
                       content_type="application/pdf", metadata={"owner": "u-7"},
                       tags={"confidentiality": "secret", "kind": "evidence"})

    st = store.stat(key)
    assert stored.size == st.size == size
    assert stored.version_id == st.version_id
    assert st.content_type == "application/pdf"
    assert st.metadata == {"owner": "u-7"}
    assert store.get_tags(key) == {"confidentiality": "secret", "kind": "evidence"}
    assert hashlib.sha256(store.read(key)).digest() == hashlib.sha256(data).digest()


def test_a_body_of_exactly_one_part_reads_back_identical(
        store: ObjectStore, prefix: str) -> None:
    data = os.urandom(PART_SIZE)
    key = prefix + "one-part.bin"
    stored = store.put(key, io.BytesIO(data), length=-1)  # type: ignore[arg-type]
    assert stored.size == PART_SIZE
    assert store.read(key) == data


class FailingStream(RandomStream):
    """Serves `good` random bytes, then fails as a client that hung up would."""

    def __init__(self, good: int) -> None:
        super().__init__(good)
        self.good = good

    def read(self, n: int = -1) -> bytes:
        if self.served >= self.good:
            raise OSError("client went away")
        return super().read(n)


def test_a_stream_failing_after_several_parts_leaves_no_object(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "cut.bin"
    source = FailingStream(4 * PART_SIZE + MiB)

    with pytest.raises(OSError, match="client went away"):
        store.put(key, source, length=-1)  # type: ignore[arg-type]

    assert source.served == 4 * PART_SIZE + MiB  # it failed past the multipart start
    assert store.versions(key) == []
    assert store.list(prefix) == []


def test_stat_reports_size_content_type_and_metadata_as_stored(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "report.pdf"
    data = b"%PDF-1.7 stat me"
    stored = _put_bytes(store, key, data, content_type="application/pdf",
                        metadata={"owner": "u-42", "sha256": hashlib.sha256(data).hexdigest()})

    st = store.stat(key)

    assert st.key == key
    assert st.size == len(data)
    assert st.content_type == "application/pdf"
    assert st.metadata == {"owner": "u-42", "sha256": hashlib.sha256(data).hexdigest()}
    assert st.version_id == stored.version_id  # type: ignore[attr-defined]
    assert st.last_modified is not None


def test_chinese_metadata_round_trips_when_the_caller_percent_encodes_it(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "named.pdf"
    filename = "申报书（终稿）.pdf"
    _put_bytes(store, key, b"x", metadata={"filename": quote(filename)})

    raw = store.stat(key).metadata["filename"]

    assert raw.isascii()
    assert unquote(raw) == filename


def test_tags_set_at_put_can_be_read_and_replaced(store: ObjectStore, prefix: str) -> None:
    key = prefix + "tagged.bin"
    _put_bytes(store, key, b"tag me", tags={"state": "uploaded", "app": "a-1"})
    assert store.get_tags(key) == {"state": "uploaded", "app": "a-1"}

    store.set_tags(key, {"state": "inspected"})

    assert store.get_tags(key) == {"state": "inspected"}


def test_two_puts_to_one_key_keep_both_versions_newest_first(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "doc.pdf"
    first = _put_bytes(store, key, b"first draft")
    time.sleep(1.1)  # S3 times have one-second resolution; make the order visible in them too
    second = _put_bytes(store, key, b"second, longer draft")
    _put_bytes(store, key + "-other", b"a key that merely starts the same")

    versions = store.versions(key)

    assert [v.version_id for v in versions] == [second.version_id,  # type: ignore[attr-defined]
                                                first.version_id]  # type: ignore[attr-defined]
    assert all(v.key == key for v in versions)
    assert [v.size for v in versions] == [len(b"second, longer draft"), len(b"first draft")]
    assert versions[0].is_latest and not versions[1].is_latest
    assert store.read(key) == b"second, longer draft"
    assert store.read(key, first.version_id) == b"first draft"  # type: ignore[attr-defined]


def test_a_retained_version_cannot_be_deleted_and_stays_readable(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "signed.pdf"
    stored = _put_bytes(store, key, b"signed and sealed")
    version = stored.version_id  # type: ignore[attr-defined]
    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

    assert store.retained_until(key, version) is None
    store.retain(key, until, version)

    assert store.retained_until(key, version) == until
    with pytest.raises(ObjectLocked) as refused:
        store.delete(key, version)
    assert refused.value.status == 409
    assert store.read(key, version) == b"signed and sealed"
    assert version in [v.version_id for v in store.versions(key)]


def test_a_presigned_url_downloads_the_bytes_and_a_tampered_signature_is_refused(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "share.pdf"
    old = _put_bytes(store, key, b"version one")
    _put_bytes(store, key, b"version two")

    url = store.presigned_get(key, timedelta(minutes=5),
                              old.version_id)  # type: ignore[attr-defined]
    good = requests.get(url, timeout=30)
    assert good.status_code == 200
    assert good.content == b"version one"

    marker = "X-Amz-Signature="
    at = url.index(marker) + len(marker)
    tampered = url[:at] + ("0" if url[at] != "0" else "1") + url[at + 1:]
    bad = requests.get(tampered, timeout=30)
    assert bad.status_code == 403
    assert b"version one" not in bad.content


def test_a_presigned_url_with_a_chinese_filename_names_the_download(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "named-download.pdf"
    _put_bytes(store, key, b"%PDF", content_type="application/pdf")

    url = store.presigned_get(key, timedelta(minutes=5), filename="推荐书 v2.pdf")
    response = requests.get(url, timeout=30)

    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition == content_disposition("推荐书 v2.pdf")
    assert f"filename*=UTF-8''{quote('推荐书 v2.pdf')}" in disposition


def test_a_presigned_url_stops_working_when_it_expires(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "brief.pdf"
    _put_bytes(store, key, b"short-lived")
    url = store.presigned_get(key, timedelta(seconds=1))

    time.sleep(2.5)

    assert requests.get(url, timeout=30).status_code == 403


def test_list_returns_every_object_under_a_prefix_and_nothing_else(
        store: ObjectStore, prefix: str) -> None:
    _put_bytes(store, prefix + "a/1.pdf", b"1")
    _put_bytes(store, prefix + "a/deep/2.pdf", b"22")
    _put_bytes(store, prefix + "b/3.pdf", b"333")

    listed = {o.key: o.size for o in store.list(prefix + "a/")}

    assert listed == {prefix + "a/1.pdf": 1, prefix + "a/deep/2.pdf": 2}


def test_listing_every_version_shows_what_a_delete_marker_hides(
        store: ObjectStore, prefix: str) -> None:
    first = store.put(prefix + "kept.json", io.BytesIO(b"one"), length=3)
    second = store.put(prefix + "kept.json", io.BytesIO(b"two"), length=3)
    store.delete(prefix + "kept.json")  # versioned bucket: only a marker

    assert store.list(prefix) == []
    versions = {o.version_id for o in store.list(prefix, every_version=True)}
    assert versions == {first.version_id, second.version_id}
    assert all(o.key == prefix + "kept.json" for o in store.list(prefix, every_version=True))


def test_delete_without_retention_removes_the_object(store: ObjectStore, prefix: str) -> None:
    key = prefix + "draft.pdf"
    _put_bytes(store, key, b"scrap this")

    store.delete(key)

    with pytest.raises(ObjectNotFound):
        store.stat(key)
    assert store.list(prefix) == []


def test_opening_a_missing_key_raises_object_not_found(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(ObjectNotFound):
        # Raised when the stream is opened, before any chunk, so a view can still answer 404.
        store.open(prefix + "never-uploaded.pdf")
    with pytest.raises(ObjectNotFound):
        store.stat(prefix + "never-uploaded.pdf")


def test_a_store_with_a_wrong_secret_key_is_refused(
        implementation: str, store: ObjectStore, backing: BackingServers, bucket: str,
        prefix: str) -> None:
    key = prefix + "private.pdf"
    _put_bytes(store, key, b"for authorised eyes")
    impostor = BUILDERS[implementation](backing, bucket, backing.secret_key + "-wrong")

    calls: dict[str, Callable[[], object]] = {
        "ping": impostor.ping,
        "read": lambda: impostor.read(key),
        "stat": lambda: impostor.stat(key),
        "list": lambda: impostor.list(prefix),
        "put": lambda: _put_bytes(impostor, prefix + "planted.pdf", b"evil"),
        "delete": lambda: impostor.delete(key),
    }
    for name, call in calls.items():
        with pytest.raises(S3Error) as refused:
            call()
        assert refused.value.code in REFUSAL_CODES, name

    assert store.read(key) == b"for authorised eyes"
    with pytest.raises(ObjectNotFound):
        store.stat(prefix + "planted.pdf")


def test_presigned_links_name_the_public_host_when_one_is_configured(
        store: ObjectStore, backing: BackingServers, bucket: str, prefix: str) -> None:
    key = prefix + "public.pdf"
    _put_bytes(store, key, b"for the browser")
    port = backing.s3_endpoint.rsplit(":", 1)[1]
    public = S3ObjectStore(backing.s3_endpoint, backing.access_key, backing.secret_key, bucket,
                           public_url=f"http://localhost:{port}")
    url = public.presigned_get(key, timedelta(minutes=5))
    assert url.startswith(f"http://localhost:{port}/{bucket}/")
    assert requests.get(url, timeout=10).content == b"for the browser"


# -- multipart steps across requests (resumable browser uploads) ------------------------------

def test_multipart_steps_out_of_order_list_parts_and_complete_read_back_identical(
        store: ObjectStore, prefix: str) -> None:
    part = 5 * MiB  # S3's minimum for every part but the last
    data = os.urandom(2 * part + 4321)
    chunks = [data[:part], data[part:2 * part], data[2 * part:]]
    key = prefix + "resumable.pdf"
    upload_id = store.start_multipart(key, content_type="application/pdf",
                                      metadata={"filename": quote("报告.pdf")},
                                      tags={"confidentiality": "internal"})
    assert upload_id
    assert store.list_parts(key, upload_id) == []
    # Parts arrive in any order, from separate calls (as from separate HTTP requests).
    etag3 = store.upload_part(key, upload_id, 3, chunks[2])
    etag1 = store.upload_part(key, upload_id, 1, memoryview(chunks[0]))
    listed = store.list_parts(key, upload_id)
    assert [(p.number, p.size) for p in listed] == [(1, part), (3, 4321)]
    assert {p.number: p.etag for p in listed} == {1: etag1, 3: etag3}
    # A part sent again under its number replaces the first copy.
    etag1 = store.upload_part(key, upload_id, 1, chunks[0])
    etag2 = store.upload_part(key, upload_id, 2, chunks[1])
    assert [p.number for p in store.list_parts(key, upload_id)] == [1, 2, 3]

    stored = store.complete_multipart(key, upload_id, [(1, etag1), (2, etag2), (3, etag3)])

    assert stored.size == len(data)
    assert stored.version_id == store.stat(key).version_id
    assert store.read(key, stored.version_id) == data
    st = store.stat(key)
    assert st.content_type == "application/pdf"
    assert unquote(st.metadata["filename"]) == "报告.pdf"
    assert store.get_tags(key)["confidentiality"] == "internal"
    # A completed upload is gone from the store's list of uploads.
    with pytest.raises(DossierError) as gone:
        store.list_parts(key, upload_id)
    assert gone.value.code == "storage.upload_not_found"


def test_an_aborted_multipart_upload_leaves_no_object_and_aborting_twice_is_fine(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "dropped.pdf"
    upload_id = store.start_multipart(key)
    store.upload_part(key, upload_id, 1, os.urandom(5 * MiB))
    store.abort_multipart(key, upload_id)
    store.abort_multipart(key, upload_id)  # a sweeper may race the user's own abort
    with pytest.raises(DossierError) as gone:
        store.upload_part(key, upload_id, 2, b"late")
    assert gone.value.code == "storage.upload_not_found"
    assert store.list(prefix) == []


def test_completing_with_a_part_missing_fails_and_the_upload_can_still_finish(
        store: ObjectStore, prefix: str) -> None:
    key = prefix + "gap.pdf"
    first, last = os.urandom(5 * MiB), os.urandom(100)
    upload_id = store.start_multipart(key)
    etag1 = store.upload_part(key, upload_id, 1, first)
    with pytest.raises((DossierError, S3Error)):
        store.complete_multipart(key, upload_id, [(1, etag1), (2, "0" * 32)])
    etag2 = store.upload_part(key, upload_id, 2, last)
    stored = store.complete_multipart(key, upload_id, [(1, etag1), (2, etag2)])
    assert store.read(key, stored.version_id) == first + last


def test_unfinished_multipart_uploads_are_listed_until_completed_or_aborted(
        store: ObjectStore, prefix: str) -> None:
    kept, dropped = prefix + "kept.pdf", prefix + "dropped.pdf"
    kept_id = store.start_multipart(kept)
    dropped_id = store.start_multipart(dropped)
    listed = {(p.key, p.upload_id) for p in store.pending_multiparts(prefix)}
    assert listed == {(kept, kept_id), (dropped, dropped_id)}
    assert all(p.initiated is not None for p in store.pending_multiparts(prefix))
    store.abort_multipart(dropped, dropped_id)
    etag = store.upload_part(kept, kept_id, 1, b"%PDF-1.4 small")
    store.complete_multipart(kept, kept_id, [(1, etag)])
    assert store.pending_multiparts(prefix) == []
