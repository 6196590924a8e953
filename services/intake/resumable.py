"""Resumable uploads: a browser sends a file part by part through intake into an S3 multipart
upload, and can continue after a dropped connection from the last part the store holds.

Why through intake and not presigned S3 URLs: the browser talks to one origin, the store stays
private, and every part is authorised (the owner of the application, while it is editable) and
audited like any other write. Why S3 multipart and not tus: the store already keeps the parts and
can say which it has (ListParts), so intake keeps no part on disk and the state it does keep is
small — one Redis hash per pending upload (append-only file on), with an expiry.

The completed upload becomes a version exactly like a streamed one: its type is sniffed from the
first bytes, its sha256 is computed by reading the object back, and `material.save_versions`
writes the version, its `document.uploaded` event and the audit record.

Pending uploads expire `UPLOAD_TTL` after their last part. Expired ones are aborted in the store
(their parts deleted) by `sweep`, which runs when any upload starts and every few minutes in the
intake worker (`start_sweeper`), so an abandoned upload leaves nothing behind. The worker also
aborts multipart uploads at intake's keys that no record names (`sweep_orphans`, e.g. after a
Redis loss), once they are older than any live upload could be.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import IO, Any
from urllib.parse import quote

import redis

from services.intake import material
from services.intake.applications import ensure_editable
from services.intake.filetypes import (
    ALLOWED,
    SNIFF_BYTES,
    UploadRefused,
    check_upload,
    refuse_wps,
)
from services.intake.models import Application
from services.intake.uploads import MalformedUpload, UploadTooLarge
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import Conflict, DossierError, NotFound
from shared.storage import ObjectStore, PartInfo

log = logging.getLogger(__name__)

MiB = 1024 * 1024
PART_SIZE = 8 * MiB  # what intake asks for; S3 wants ≥ 5 MiB for all parts but the last
MAX_PART_SIZE = 16 * MiB  # one part is held once in memory while it goes to the store
MAX_PARTS = 10_000  # S3's limit
UPLOAD_TTL = 24 * 3600  # seconds after the last part before a pending upload is aborted
DONE_TTL = 3600  # a completed upload's record stays this long, so a retried complete replays
SWEEP_EVERY = 300  # seconds between the worker's sweeps
READ_PIECE = MiB

_PREFIX = "intake:upload:"
_EXPIRY = "intake:uploads:expiry"  # sorted set: upload id → when it expires (epoch seconds)
_TARGETS = "intake:uploads:targets"  # hash: upload id → {key, s3}, for the sweeper


class UploadUnknown(NotFound):
    code = "upload.unknown"
    zh = "找不到该上传（可能已完成、已取消或已过期），请重新选择文件上传。"
    en = "No such upload (completed, cancelled or expired); choose the file again."


class PartRefused(DossierError):
    code = "upload.part_invalid"
    status = 422
    zh = "分片 {number} 无效：{why_zh}"
    en = "Part {number} is invalid: {why}"


class PartsMissing(Conflict):
    code = "upload.parts_missing"
    zh = "尚有分片未上传（{missing}），请继续上传后再完成。"
    en = "Parts not uploaded yet ({missing}); send them, then complete."


class UploadBusy(Conflict):
    code = "upload.completing"
    zh = "该上传正在完成中，请稍候刷新。"
    en = "This upload is being completed; reload in a moment."


@dataclass
class Pending:
    """What intake remembers about one upload between its requests."""

    id: str
    application_id: str
    owner: str
    key: str
    s3_upload_id: str
    filename: str
    size: int
    part_size: int
    declared_type: str
    content_type: str
    requirement: str
    confidentiality: str
    pages: list[list[int]]
    document_id: str
    number: int
    is_new: bool
    idempotency_key: str
    created_at: float
    expires_at: float
    version_id: str | None = None  # set once completed
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def parts(self) -> int:
        return part_count(self.size, self.part_size)

    def part_length(self, number: int) -> int:
        if number < self.parts:
            return self.part_size
        return self.size - (self.parts - 1) * self.part_size

    @property
    def slot(self) -> material.Slot:
        return material.Slot(self.document_id, self.number, self.is_new)


def part_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def choose_part_size(size: int) -> int:
    """PART_SIZE, or larger (in MiB steps, ≤ MAX_PART_SIZE) to stay within 10,000 parts."""
    need = -(-size // MAX_PARTS)
    chosen = max(PART_SIZE, -(-need // MiB) * MiB)
    if chosen > MAX_PART_SIZE:
        raise UploadTooLarge(limit=MAX_PART_SIZE * MAX_PARTS)
    return chosen


class PendingUploads:
    """The Redis records of pending uploads, with the expiry index the sweeper reads."""

    def __init__(self, client: redis.Redis, ttl: int = UPLOAD_TTL) -> None:
        self.client = client
        self.ttl = ttl

    def save(self, pending: Pending) -> None:
        pending.expires_at = time.time() + self.ttl
        pipe = self.client.pipeline()
        # The record outlives its expiry a little, so the sweeper can still read it.
        pipe.set(_PREFIX + pending.id, json.dumps(asdict(pending)), ex=self.ttl + 3600)
        pipe.zadd(_EXPIRY, {pending.id: pending.expires_at})
        pipe.hset(_TARGETS, pending.id,
                  json.dumps({"key": pending.key, "s3": pending.s3_upload_id}))
        pipe.execute()

    def touch(self, pending: Pending) -> None:
        """A part arrived: the upload is alive, push its expiry back."""
        pending.expires_at = time.time() + self.ttl
        pipe = self.client.pipeline()
        pipe.expire(_PREFIX + pending.id, self.ttl + 3600)
        pipe.zadd(_EXPIRY, {pending.id: pending.expires_at})
        pipe.execute()

    def get(self, upload_id: str) -> Pending | None:
        raw = self.client.get(_PREFIX + upload_id) if _plausible_id(upload_id) else None
        return Pending(**json.loads(raw)) if raw else None

    def completed(self, pending: Pending, version_id: str) -> None:
        pending.version_id = version_id
        pipe = self.client.pipeline()
        pipe.set(_PREFIX + pending.id, json.dumps(asdict(pending)), ex=DONE_TTL)
        pipe.zrem(_EXPIRY, pending.id)
        pipe.hdel(_TARGETS, pending.id)
        pipe.execute()

    def drop(self, upload_id: str) -> None:
        pipe = self.client.pipeline()
        pipe.delete(_PREFIX + upload_id)
        pipe.zrem(_EXPIRY, upload_id)
        pipe.hdel(_TARGETS, upload_id)
        pipe.execute()

    def due(self, now: float) -> list[tuple[str, str, str]]:
        """(upload id, object key, S3 upload id) of every upload past its expiry."""
        ids = self.client.zrangebyscore(_EXPIRY, "-inf", now, start=0, num=200)
        out = []
        for raw_id in ids:
            upload_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            target = self.client.hget(_TARGETS, upload_id)
            if target is None:
                self.client.zrem(_EXPIRY, upload_id)
                continue
            t = json.loads(target)
            out.append((upload_id, t["key"], t["s3"]))
        return out

    @contextlib.contextmanager
    def completing(self, upload_id: str) -> Iterator[None]:
        """One completion at a time per upload (a double-clicked button, a retry)."""
        lock = _PREFIX + upload_id + ":completing"
        if not self.client.set(lock, "1", nx=True, ex=900):
            raise UploadBusy()
        try:
            yield
        finally:
            self.client.delete(lock)


def _plausible_id(upload_id: str) -> bool:
    return 0 < len(upload_id) <= 64 and all(c.isalnum() or c == "-" for c in upload_id)


def lookup(pendings: PendingUploads, who: Principal, app: Application,
           upload_id: str) -> Pending:
    """The upload if it is this applicant's, for this application; otherwise 404, like a
    missing one (someone else's upload id reveals nothing)."""
    pending = pendings.get(upload_id)
    if (pending is None or pending.owner != who.subject
            or pending.application_id != app.id):
        raise UploadUnknown(detail=f"upload {upload_id}")
    return pending


# -- the steps ----------------------------------------------------------------------------------

def content_type_for(filename: str) -> str:
    """The type a file name promises; the first part's bytes must then agree (`check_upload`).

    Known before any byte arrives, so a wrong file is refused before it is sent, and the object
    is created with the type it will have."""
    refuse_wps(filename)
    suffix = PurePosixPath(filename).suffix.lower()
    for content_type, suffixes in ALLOWED.items():
        if suffix in suffixes:
            return content_type
    raise UploadRefused("upload.type_not_allowed",
                        zh="不支持的文件类型：仅接受 PDF、DOCX、OFD、JPEG、PNG、TIFF。",
                        en="File type not allowed: only PDF, DOCX, OFD, JPEG, PNG and TIFF.")


@dataclass(frozen=True)
class Limits:
    max_file: int  # bytes per file
    packet: int  # bytes of the packet's current versions
    used: int  # bytes the packet holds already


def begin(session: Any, store: ObjectStore, pendings: PendingUploads, who: Principal,
          app: Application, body: dict[str, Any], limits: Limits) -> Pending:
    """Check what can be checked before the first byte, then open the multipart upload.
    `session` is a reader's: nothing is written, and it may be closed before the store call
    (everything the store call needs is read first); `record_start` audits afterwards."""
    ensure_editable(app)
    filename = body["filename"].strip()
    fields = {k: body.get(k) or "" for k in ("requirement", "confidentiality", "secret_pages",
                                              "document_id")}
    requirement, confidentiality, pages, document_id = material.validate_fields(fields)
    content_type = content_type_for(filename)
    size = int(body["size"])
    if size < 1:
        raise DossierError("upload.empty", status=422, zh="文件为空（0 字节），请重新选择文件。",
                           en="The file is empty (0 bytes).")
    if size > limits.max_file:
        raise UploadTooLarge(limit=limits.max_file)
    if limits.used + size > limits.packet:
        raise material.PacketTooLarge(limit=limits.packet)
    part_size = choose_part_size(size)
    slot = material.choose_slot(session, app, requirement, document_id)
    key = f"{app.cycle}/{app.id}/{slot.document_id}/v{slot.number}"
    declared = (body.get("declared_type") or "application/octet-stream")[:100]
    s3_id = store.start_multipart(
        key, content_type=content_type,
        metadata={"filename": quote(filename), "uploaded-as": declared},
        tags=material.object_tags(confidentiality, requirement, pages))
    upload_id = str(uuid.uuid4())
    pending = Pending(
        id=upload_id, application_id=app.id, owner=who.subject, key=key, s3_upload_id=s3_id,
        filename=filename, size=size, part_size=part_size, declared_type=declared,
        content_type=content_type, requirement=requirement, confidentiality=confidentiality,
        pages=pages, document_id=slot.document_id, number=slot.number, is_new=slot.is_new,
        idempotency_key=(body.get("idempotency_key") or f"resumable:{upload_id}")[:120],
        created_at=time.time(), expires_at=0.0)
    try:
        pendings.save(pending)
    except BaseException:
        with contextlib.suppress(Exception):
            store.abort_multipart(key, s3_id)
        raise
    return pending


def record_start(session: Any, audit: AuditLog, who: Principal, pending: Pending) -> None:
    audit.append(session, actor=who.subject, role=who.role, action="upload.started",
                 target=f"upload:{pending.id}",
                 detail={"application": pending.application_id, "filename": pending.filename,
                         "size": pending.size, "parts": pending.parts,
                         "document": pending.document_id, "number": pending.number})


def check_part_request(pending: Pending, number: int, length: int | None) -> int:
    """The part's expected length; refuses a bad number or a body of the wrong length."""
    if not 1 <= number <= pending.parts:
        raise PartRefused(number=number, why=f"parts are numbered 1 to {pending.parts}",
                          why_zh=f"分片编号应为 1 至 {pending.parts}")
    expected = pending.part_length(number)
    if length is None:
        raise DossierError("upload.length_required", status=411,
                           zh="分片请求须带 Content-Length。",
                           en="A part must be sent with its Content-Length.")
    if length > MAX_PART_SIZE:
        raise DossierError("upload.part_too_large", status=413,
                           zh="分片超过上限（{limit} 字节）。",
                           en="A part may hold at most {limit} bytes.", limit=MAX_PART_SIZE)
    if length != expected:
        raise PartRefused(number=number, why=f"expected {expected} bytes, got {length}",
                          why_zh=f"应为 {expected} 字节，实为 {length} 字节")
    return expected


def receive_part(store: ObjectStore, pendings: PendingUploads, pending: Pending, number: int,
                 stream: IO[bytes], length: int) -> PartInfo:
    """Read the part once into one buffer and send it to the store as that part."""
    buffer = mmap.mmap(-1, length)  # returned to the system when closed (see shared.storage)
    try:
        got = 0
        while got < length:
            chunk = stream.read(min(READ_PIECE, length - got))
            if not chunk:
                raise MalformedUpload(why=f"part {number} ended after {got} of {length} bytes")
            buffer[got:got + len(chunk)] = chunk
            got += len(chunk)
        if number == 1:
            # Refuse a wrong file at its first part, not after the whole of it was sent.
            check_upload(pending.filename, buffer[:SNIFF_BYTES])
        with memoryview(buffer) as view:
            etag = store.upload_part(pending.key, pending.s3_upload_id, number, view)
    finally:
        with contextlib.suppress(BufferError):
            buffer.close()
    pendings.touch(pending)
    return PartInfo(number, etag, length)


def missing_parts(pending: Pending, parts: list[PartInfo]) -> list[int]:
    have = {p.number for p in parts if p.size == pending.part_length(p.number)}
    return [n for n in range(1, pending.parts + 1) if n not in have]


def finish(store: ObjectStore, pending: Pending) -> material.Stored:
    """Join the parts, then read the object back: sniff its head and hash all of it."""
    parts = store.list_parts(pending.key, pending.s3_upload_id)
    missing = missing_parts(pending, parts)
    if missing:
        shown = ", ".join(map(str, missing[:20])) + ("…" if len(missing) > 20 else "")
        raise PartsMissing(missing=shown, errors={"parts": missing[:1000]})
    by_number = {p.number: p for p in parts}
    stored = store.complete_multipart(
        pending.key, pending.s3_upload_id,
        [(n, by_number[n].etag) for n in range(1, pending.parts + 1)])
    try:
        sha, size, head = hashlib.sha256(), 0, b""
        for chunk in store.open(pending.key, stored.version_id):
            if len(head) < SNIFF_BYTES:
                head += chunk[:SNIFF_BYTES - len(head)]
            sha.update(chunk)
            size += len(chunk)
        if size != pending.size:
            raise DossierError("upload.size_mismatch", status=422,
                               zh="合并后的文件大小（{got} 字节）与声明（{want} 字节）不符。",
                               en="The joined file has {got} bytes, {want} were declared.",
                               got=size, want=pending.size)
        content_type = check_upload(pending.filename, head)
        digest = sha.hexdigest()
        store.set_tags(pending.key, material.object_tags(
            pending.confidentiality, pending.requirement, pending.pages, digest),
            version_id=stored.version_id)
    except BaseException:
        with contextlib.suppress(Exception):
            store.delete(pending.key, stored.version_id)
        raise
    return material.Stored(pending.key, stored.version_id, digest, size, content_type)


def abort(store: ObjectStore, pendings: PendingUploads, pending: Pending) -> None:
    store.abort_multipart(pending.key, pending.s3_upload_id)
    pendings.drop(pending.id)


def sweep(store: ObjectStore, pendings: PendingUploads, now: float | None = None) -> int:
    """Abort every pending upload past its expiry; returns how many."""
    count = 0
    for upload_id, key, s3_id in pendings.due(time.time() if now is None else now):
        try:
            store.abort_multipart(key, s3_id)
        except Exception:  # the store is down: try again at the next sweep
            log.warning("could not abort expired upload %s", upload_id, exc_info=True)
            continue
        pendings.drop(upload_id)
        count += 1
    if count:
        log.info("aborted %d expired uploads", count)
    return count


# The keys intake's versions are stored under: {cycle}/{application}/{document}/v{n}.
_VERSION_KEY = re.compile(r"^[0-9A-Za-z_-]{1,20}/[0-9a-f-]{36}/[0-9a-f-]{36}/v\d+$")


def sweep_orphans(store: ObjectStore, pendings: PendingUploads,
                  now: float | None = None) -> int:
    """Abort multipart uploads at intake's keys that nobody remembers (their Redis record is
    gone) once they are older than any live upload could be; returns how many."""
    cutoff = (time.time() if now is None else now) - pendings.ttl - 3600
    known = {json.loads(v)["s3"] for v in pendings.client.hvals(_TARGETS)}
    count = 0
    for upload in store.pending_multiparts():
        started = upload.initiated.timestamp() if upload.initiated else None
        if (upload.upload_id in known or started is None or started > cutoff
                or not _VERSION_KEY.match(upload.key)):
            continue
        try:
            store.abort_multipart(upload.key, upload.upload_id)
            count += 1
        except Exception:
            log.warning("could not abort orphaned upload at %s", upload.key, exc_info=True)
    if count:
        log.info("aborted %d orphaned multipart uploads", count)
    return count


def start_sweeper(store: ObjectStore, redis_url: str, every: float = SWEEP_EVERY
                  ) -> threading.Event:
    """A daemon thread in the intake worker sweeping every `every` seconds; set the returned
    event to stop it. A second worker sweeping too is harmless (aborts are idempotent)."""
    stop = threading.Event()
    pendings = PendingUploads(redis.Redis.from_url(redis_url, socket_timeout=10))

    def loop() -> None:
        while not stop.wait(every):
            try:
                sweep(store, pendings)
                sweep_orphans(store, pendings)
            except Exception:
                log.warning("upload sweep failed", exc_info=True)

    threading.Thread(target=loop, name="upload-sweeper", daemon=True).start()
    return stop
