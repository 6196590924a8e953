"""Talking to the running documents service as intake does: objects in S3, events as real
Celery messages on the documents queue, in the envelope `shared.events.Event` produces."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from celery import Celery

from dossier.localstack import AppStack
from shared.events import Event
from shared.storage import S3ObjectStore


@dataclass
class Intake:
    """A stand-in for intake's side of the contract (docs/events.md), for one stack."""

    stack: AppStack
    cycle: str = "2025"
    celery: Celery = field(init=False)
    store: S3ObjectStore = field(init=False)

    def __post_init__(self) -> None:
        backing = self.stack.backing
        self.celery = Celery("intake-double", set_as_current=False, broker=(
            backing.redis_url_for(self.stack.redis_db)))
        self.store = S3ObjectStore(backing.s3_endpoint, backing.access_key, backing.secret_key,
                                   self.stack.bucket)

    def send(self, type_: str, payload: dict[str, Any]) -> None:
        envelope = Event(id=str(uuid.uuid4()), type=type_, source="intake",
                         occurred_at=datetime.now(UTC).isoformat(), payload=payload).envelope()
        self.celery.send_task("documents.handle_event", args=[envelope], queue="documents")

    def cycle_saved(self, catalogue: str | None = "quality-award-2025") -> None:
        self.send("cycle.saved", {
            "cycle": self.cycle, "year": 2025, "title": "忻州市市长质量奖（2025）",
            "opens_on": "2025-03-01", "closes_on": "2025-06-30", "status": "open",
            "caps": {"awards": 3, "nominations": 10}, "catalogue": catalogue, "audience": []})

    def upload(self, app: dict[str, Any], requirement: str, filename: str, data: bytes,
               document_id: str | None = None, number: int = 1) -> dict[str, Any]:
        """Store the object and announce `document.uploaded`; returns the manifest entry."""
        entry = self.store_version(app, requirement, filename, data, document_id, number)
        self.announce(app, entry)
        return entry

    def store_version(self, app: dict[str, Any], requirement: str, filename: str,
                      data: bytes, document_id: str | None = None, number: int = 1
                      ) -> dict[str, Any]:
        """Put the object in the store; returns its manifest entry."""
        document_id = document_id or str(uuid.uuid4())
        version_id = str(uuid.uuid4())
        key = f"{self.cycle}/{app['id']}/{document_id}/v{number}"
        sha = hashlib.sha256(data).hexdigest()
        stored = self.store.put(key, io.BytesIO(data), length=len(data),
                                metadata={"sha256": sha})
        return {"document_id": document_id, "requirement": requirement,
                 "version_id": version_id, "number": number, "filename": filename,
                 "object_key": key, "object_version": stored.version_id, "sha256": sha,
                 "size": len(data), "content_type": "application/octet-stream",
                 "confidentiality": "internal", "secret_pages": []}

    def announce(self, app: dict[str, Any], entry: dict[str, Any]) -> None:
        self.send("document.uploaded", {**entry, "application_id": app["id"],
                                        "cycle": self.cycle, "kind": app["kind"],
                                        "owner": app["owner"], "audience": []})

    def delete(self, app: dict[str, Any], document_id: str, version_ids: list[str]) -> None:
        self.send("document.deleted", {"application_id": app["id"],
                                       "document_id": document_id,
                                       "version_ids": version_ids, "audience": []})

    def submit(self, app: dict[str, Any], manifest: list[dict[str, Any]],
               unit: str = "140902", submission: int = 1) -> None:
        self.send("packet.submitted", {
            "application_id": app["id"], "cycle": self.cycle, "kind": app["kind"],
            "owner": app["owner"], "applicant_name": app["name"], "unit": unit,
            "route": "county", "submission": submission, "documents": manifest,
            "audience": []})


def new_application(kind: str = "organisation", owner: str | None = None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "kind": kind,
            "owner": owner or f"applicant-{uuid.uuid4().hex[:8]}",
            "name": "忻州市示例机械有限公司" if kind == "organisation" else "张三"}


def documents_rows(stack: AppStack, sql: str, **params: Any) -> list[Any]:
    """Rows from documents' own database (its outbox and audit log), read directly."""
    return stack.query("documents", sql, **params)
