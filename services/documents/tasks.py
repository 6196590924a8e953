"""Documents' event handlers: inspect each uploaded version, announce the verdict."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from celery import Celery
from sqlalchemy.orm import Session

from services.documents.inspection import inspect_file
from services.documents.models import Inspection
from shared.events import Event
from shared.service import ServiceContext


def register(celery: Celery, ctx: ServiceContext) -> None:
    @ctx.inbox.on("document.uploaded")
    def on_document_uploaded(session: Session, event: Event) -> None:
        p = event.payload
        if session.get(Inspection, p["version_id"]) is not None:
            return
        # Heavy work first, before the session's first statement, so no database lock is held
        # while the file downloads and parses.
        with tempfile.TemporaryDirectory(prefix="dossier-inspect-") as tmp:
            path = Path(tmp) / "document"
            with path.open("wb") as fh:
                for chunk in ctx.store.open(p["object_key"], p.get("object_version")):
                    fh.write(chunk)
            verdict = inspect_file(path)
        session.add(Inspection(
            version_id=p["version_id"], application_id=p["application_id"],
            document_id=p["document_id"], owner=p["owner"], object_key=p["object_key"],
            object_version=p.get("object_version"), sha256=p["sha256"], size=p["size"],
            filename=p["filename"], ok=verdict.ok, format=verdict.format, pages=verdict.pages,
            encrypted=verdict.encrypted, error_code=verdict.error_code,
            error_message=verdict.error or None, inspected_at=datetime.now(UTC)))
        ctx.outbox.emit(session, "document.inspected", {
            "version_id": p["version_id"], "application_id": p["application_id"],
            "document_id": p["document_id"], "owner": p["owner"], "filename": p["filename"],
            "ok": verdict.ok, "format": verdict.format, "pages": verdict.pages,
            "error_code": verdict.error_code,
        })
