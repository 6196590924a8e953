"""The review test driver against the running stack: intake's events delivered as real
Celery messages through the real broker, real PDFs put into the real S3 store."""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pikepdf
import requests
from celery import Celery
from samples import sha256
from waiting import poll

from dossier.localstack import AppStack
from shared.events import Event
from shared.storage import S3ObjectStore


@dataclass
class ReviewDriver:
    stack: AppStack
    auth: Callable[[str, str], dict[str, str]]
    http: requests.Session
    cycle: str = field(default_factory=lambda: f"c{secrets.token_hex(4)}")

    def __post_init__(self) -> None:
        self.sender = Celery("review-tests", broker=self.stack.env()["DOSSIER_REDIS_URL"],
                             set_as_current=False)
        self.store = S3ObjectStore(self.stack.backing.s3_endpoint, self.stack.backing.access_key,
                                   self.stack.backing.secret_key, self.stack.bucket)
        self.operator = self.auth("operator", "op-review")
        self.supervisor = self.auth("supervisor", "sup-review")

    @property
    def url(self) -> str:
        return f"{self.stack.url('review')}/api"

    def deliver(self, type_: str, payload: dict[str, Any]) -> str:
        """Send an event as intake's relay would: `review.handle_event` on queue `review`."""
        event = Event(id=str(uuid.uuid4()), type=type_, source="intake",
                      occurred_at=datetime.now(UTC).isoformat(), payload=payload)
        self.sender.send_task("review.handle_event", args=[event.envelope()], queue="review")
        return event.id

    def cycle_saved(self, awards: int = 3, nominations: int = 10, year: int = 2025) -> None:
        self.deliver("cycle.saved", {
            "cycle": self.cycle, "year": year, "title": f"第{year}届", "opens_on": "2025-03-01",
            "closes_on": "2025-06-30", "status": "open",
            "caps": {"awards": awards, "nominations": nominations}, "catalogue": None,
            "audience": []})

    def document(self, app_id: str, requirement: str, filename: str, data: bytes,
                 confidentiality: str = "internal", secret_pages: list[list[int]] | None = None,
                 pages: int | None = None) -> dict[str, Any]:
        """A manifest entry as intake sends it; `pages` is documents' count (default: the
        PDF's real page count, as inspection finds it)."""
        document_id = str(uuid.uuid4())
        key = f"{self.cycle}/{app_id}/{document_id}/v1"
        stored = self.store.put(key, io.BytesIO(data), length=len(data),
                                content_type="application/pdf",
                                tags={"confidentiality": confidentiality})
        return {"document_id": document_id, "requirement": requirement,
                "version_id": str(uuid.uuid4()), "number": 1, "filename": filename,
                "object_key": key, "object_version": stored.version_id, "sha256": sha256(data),
                "size": len(data), "content_type": "application/pdf",
                "confidentiality": confidentiality, "secret_pages": secret_pages or [],
                "pages": pages if pages is not None else _pages(data)}

    def accept(self, name: str, kind: str = "organisation", credit_code: str | None = None,
               documents: list[dict[str, Any]] | None = None, app_id: str | None = None,
               **profile: Any) -> str:
        app_id = app_id or f"app-{secrets.token_hex(4)}"
        owner = f"owner-{app_id}"
        self.deliver("packet.accepted", {
            "application_id": app_id, "cycle": self.cycle, "kind": kind, "owner": owner,
            "unit": "140902", "documents": documents or [],
            "applicant": {"applicant_id": f"p-{app_id}", "kind": kind, "name": name,
                          "credit_code": credit_code, "county": "140902",
                          "industry": profile.pop("industry", "机械制造"),
                          "legal_representative": profile.pop("legal_representative", None),
                          "employer": None, "employer_credit_code": None,
                          "related": profile.pop("related", []), **profile},
            "audience": []})
        return app_id

    def wait_applications(self, count: int) -> list[dict[str, Any]]:
        def listed() -> list[dict[str, Any]] | None:
            r = self.http.get(f"{self.url}/applications", headers=self.operator,
                              params={"cycle": self.cycle, "per_page": 200})
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            return items if len(items) >= count else None

        return poll(listed)

    def expert(self, subject: str, organisation: str, **extra: Any) -> dict[str, Any]:
        digits = "".join(str(ord(c) % 10) for c in subject[-4:])  # names in words and digits
        body = {"subject": subject, "name": extra.pop("name", f"专家{digits}"),
                "organisation": organisation, "fields": extra.pop("fields", ["机械制造"]),
                **extra}
        r = self.http.post(f"{self.url}/experts", headers=self.operator, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def panel(self, stage: str, k: int, max_load: int, pool: list[str], **extra: Any
              ) -> dict[str, Any]:
        r = self.http.post(f"{self.url}/panels", headers=self.operator, json={
            "cycle": self.cycle, "stage": stage, "per_application": k, "max_load": max_load,
            "pool": pool, **extra})
        assert r.status_code == 201, r.text
        return r.json()

    def outbox(self, type_: str) -> list[dict[str, Any]]:
        """Events review wrote for other services (the outbox row is the envelope)."""
        return [r.payload["payload"] for r in self.stack.outbox("review", type_)]

    def audit_actions(self) -> list[tuple[str, str, str]]:
        rows = self.stack.query("review", "SELECT actor, action, target FROM audit_log "
                                "ORDER BY seq")
        return [(r.actor, r.action, r.target) for r in rows]


def _pages(data: bytes) -> int | None:
    """What inspection would record: the page count, None for what is no readable PDF."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            return len(pdf.pages)
    except pikepdf.PdfError:
        return None


def today_plus(days: int) -> str:
    return (date.today() + timedelta(days=days)).isoformat()
