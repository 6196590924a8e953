"""Anchors of each service's audit chain, kept outside its database.

Every so often (`DOSSIER_AUDIT_ANCHOR_SECONDS`, from a thread in each worker) and on demand
(`dossier audit anchor`), the head of a service's chain (its last record's number and hash) is
written to the object store at `audit-anchors/<service>/<seq>-<hash>.json`, signed with the audit
key and under compliance retention, so nobody, not even the bucket's owner, can delete or change
it before the retention ends. A check compares the chain with every anchor: a cut-off tail
leaves an anchor naming a record that is gone, and a chain rewritten by someone who holds the key
differs from the anchors written before the rewrite.

An anchor's name carries its number and hash, so a check lists names and reads the body only of
an anchor that disagrees, to tell a genuine one from one written without the key. Listing takes
every version: a delete on a versioned bucket only hides an object behind a marker.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import urllib3.exceptions
from minio.error import S3Error

from shared.audit import PROBLEMS, AnchorRef, AuditKey, AuditLog, ChainCheck, canonical, iso
from shared.db import Database
from shared.errors import DossierError
from shared.storage import ObjectNotFound, ObjectStore

log = logging.getLogger(__name__)

PREFIX = "audit-anchors"
_NAME = re.compile(r"(\d{15})-([0-9a-f]{64})\.json")
# The object store is down or refuses: the chain can still be checked, the anchors cannot.
STORE_FAILURES = (S3Error, urllib3.exceptions.HTTPError, OSError, DossierError)


def anchor_name(service: str, seq: int, digest: str) -> str:
    return f"{PREFIX}/{service}/{seq:015d}-{digest}.json"


def write_anchor(db: Database, audit: AuditLog, store: ObjectStore, service: str,
                 retention_days: int, *, known: AnchorRef | None = None,
                 now: datetime | None = None) -> AnchorRef | None:
    """Anchor the chain's head unless it already is; None for an empty chain.

    The head is read in a short read-only transaction that ends before the store is called;
    a head equal to `known` (the caller's last anchor) costs no call to the store at all.
    """
    with db.reader() as session:
        head = audit.head(session)
    if head is None:
        return None
    if known is not None and (known.seq, known.hash) == (head.seq, head.hash):
        return known
    name = anchor_name(service, head.seq, head.hash)
    store.ensure_bucket()  # a new system may anchor before its first upload made the bucket
    try:
        existing = store.stat(name)
    except ObjectNotFound:
        pass
    else:
        at = iso(existing.last_modified) if existing.last_modified else ""
        return AnchorRef(head.seq, head.hash, at, name, existing.version_id)
    when = (now or datetime.now(UTC)).astimezone(UTC)
    body = {"service": service, "seq": head.seq, "hash": head.hash, "at": iso(when),
            "key_id": audit.key.key_id}
    data = canonical({**body, "mac": audit.key.sign(body)})
    stored = store.put(name, io.BytesIO(data), length=len(data), content_type="application/json")
    store.retain(name, when + timedelta(days=retention_days), stored.version_id,
                 compliance=True)
    return AnchorRef(head.seq, head.hash, iso(when), name, stored.version_id)


def list_anchors(store: ObjectStore, service: str) -> list[AnchorRef]:
    """Every anchor version of `service`, hidden or not; names that are not anchors are left
    out (such an object cannot pass for one)."""
    found = []
    for obj in store.list(f"{PREFIX}/{service}/", every_version=True):
        match = _NAME.fullmatch(obj.key.rsplit("/", 1)[-1])
        if match:
            at = iso(obj.last_modified) if obj.last_modified else ""
            found.append(AnchorRef(int(match[1]), match[2], at, obj.key, obj.version_id))
    return found


def is_genuine(store: ObjectStore, key: AuditKey, service: str, anchor: AnchorRef) -> bool:
    """Whether the anchor's body is signed with this audit key and says what its name says."""
    try:
        body = json.loads(store.read(anchor.object_key, anchor.version_id))
        mac = str(body.pop("mac", ""))
    except (ValueError, AttributeError):
        return False
    return (hmac.compare_digest(mac, key.sign(body)) and body.get("service") == service
            and body.get("seq") == anchor.seq and body.get("hash") == anchor.hash)


def check_chain(db: Database, audit: AuditLog, store: ObjectStore, service: str) -> ChainCheck:
    """The one check of a service's audit log: its keyed chain, against every anchor."""
    # Anchors first, then the records: an anchor is written only after its record committed,
    # so every anchor listed names a record the read below can see.
    try:
        anchors: list[AnchorRef] | None = list_anchors(store, service)
    except STORE_FAILURES:
        log.warning("audit anchors of %s could not be listed", service, exc_info=True)
        anchors = None
    with db.reader() as session:
        check = audit.verify(session, anchors or ())
    if check.ok and anchors is None:
        return ChainCheck(False, check.records, None, PROBLEMS["anchors_unreadable"],
                          "anchors_unreadable")
    if check.problem in {"anchor", "truncated"} and check.anchor is not None:
        try:
            genuine = is_genuine(store, audit.key, service, check.anchor)
        except STORE_FAILURES:
            genuine = True  # cannot tell: report what the name says
        if not genuine:
            return ChainCheck.broken(check.records, check.first_bad_seq, "anchor_forged",
                                     check.anchor, check.anchors)
    return check


class AnchorTimer(threading.Thread):
    """Background loop in a worker's main process: anchor now, then every `every` seconds
    if the head has moved.

    Several workers of one service anchoring the same head write the same name; harmless.
    """

    def __init__(self, anchor: Callable[[AnchorRef | None], AnchorRef | None], every: float,
                 name: str) -> None:
        super().__init__(name=f"audit-anchor-{name}", daemon=True)
        self.anchor = anchor
        self.every = every
        self.last: AnchorRef | None = None
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.last = self.anchor(self.last)
            except Exception:  # the store or database is down: try again next round
                log.warning("audit anchor round failed", exc_info=True)
            self._stopping.wait(self.every)

    def stop(self) -> None:
        self._stopping.set()
