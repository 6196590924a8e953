"""Documents' Celery side: the table of events it consumes (docs/events.md), each to the handler
that calls the domain (thin: load, inspect in the sandbox, save, emit), and re-inspection.

The inspection is the inbox's slow step: it runs before, not inside, the writer transaction.
"""

from __future__ import annotations

import atexit
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session

from services.documents import packets, reinspection
from services.documents.models import Inspection, PacketDocument
from services.documents.sandbox import SandboxPool, limits_from
from shared.events import Event, EventTable, Subscription
from shared.messages import load_payload
from shared.service import ServiceContext
from shared.storage import ObjectNotFound

_pools: dict[int, SandboxPool] = {}


def sandbox(ctx: ServiceContext) -> SandboxPool:
    """This worker process's inspector child, started on first use and reused after."""
    import os

    pid = os.getpid()  # a forked Celery child must not share its parent's pipes
    if pid not in _pools:
        _pools[pid] = SandboxPool(1, limits_from(ctx.settings), stderr=None)
        atexit.register(_pools[pid].close)
    return _pools[pid]


def _inspect_object(ctx: ServiceContext, p: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dossier-inspect-") as tmp:
        path = Path(tmp) / "document"
        try:
            with path.open("wb") as fh:
                for chunk in ctx.store.open(p["object_key"], p.get("object_version")):
                    fh.write(chunk)
        except ObjectNotFound:
            from services.documents.verdict import failed
            return failed("inspect.unreadable", detail="object not in storage").as_dict()
        return sandbox(ctx).inspect(path, text="full", seals=True)


def events(ctx: ServiceContext) -> EventTable:
    """Each event → the handler that calls the domain (`packets`); an upload's inspection is its
    slow step, run before the inbox's short writer transaction."""
    return {
        "cycle.saved": partial(on_cycle_saved, ctx),
        "document.uploaded": Subscription(partial(on_document_uploaded, ctx),
                                          slow=partial(inspect_upload, ctx)),
        "document.deleted": partial(on_document_deleted, ctx),
        "packet.submitted": partial(on_packet_submitted, ctx),
    }


def register(celery: Celery, ctx: ServiceContext) -> None:
    ctx.inbox.subscribe(events(ctx))

    @celery.task(name=reinspection.TASK)
    def reinspect_task(version_id: str) -> None:
        reinspect(ctx, version_id)


def _recompute(ctx: ServiceContext, session: Session, application_id: str) -> None:
    packets.recompute(session, ctx.outbox, application_id,
                      default_catalogue=ctx.settings.documents_catalogue,
                      catalogue_dir=ctx.settings.documents_catalogue_dir)


def _announce(ctx: ServiceContext, session: Session, p: dict[str, Any],
              verdict: dict[str, Any]) -> None:
    """Store the verdict, tell intake and the owner, recompute the packet's report."""
    packets.record_verdict(session, p, verdict)
    error = verdict.get("error")
    ctx.outbox.emit(session, "document.inspected", {
        "application_id": p["application_id"], "document_id": p["document_id"],
        "version_id": p["version_id"], "owner": p["owner"], "filename": p["filename"],
        "requirement": p.get("requirement"), "confidentiality": p.get("confidentiality"),
        "ok": bool(verdict["ok"]),
        "format": verdict.get("format"), "pages": verdict.get("pages"),
        "encrypted": bool(verdict.get("encrypted")), "text_layer": verdict.get("text_layer"),
        "error": {"code": error["code"], "message": error["message"],
                  "messages": error.get("messages")} if error else None,
        "error_code": error["code"] if error else None,
        "classification_marks": [m["mark"] for m in verdict.get("classification_marks")
                                 or []],
        "audience": [{"subject": p["owner"]}]})
    _recompute(ctx, session, p["application_id"])


def on_cycle_saved(ctx: ServiceContext, session: Session, event: Event) -> None:
    p = load_payload(event.type, event.payload)
    packets.record_cycle(session, p)
    session.flush()
    packets.publish_requirements(session, ctx.outbox, str(p["cycle"]),
                                 default=ctx.settings.documents_catalogue,
                                 extra_dir=ctx.settings.documents_catalogue_dir)


def inspect_upload(ctx: ServiceContext, event: Event) -> dict[str, Any] | None:
    """The slow step: download and inspect with no transaction open (the inbox runs it before
    its short writer transaction); None if this version was inspected already. An inspector
    killed from outside raises `InspectorLost` (Unavailable): the task is retried, nothing is
    stored."""
    p = load_payload(event.type, event.payload)

    def note_pending(session: Session) -> bool:
        if session.get(Inspection, p["version_id"]) is not None:
            return False
        if session.get(PacketDocument, p["version_id"]) is None:
            # Known from here on, as intake knows it: the checklist says "being inspected",
            # not "missing" — also while a dead worker's task waits for its lease to lapse.
            packets.record_upload(session, p)
            _recompute(ctx, session, p["application_id"])
        return True

    if not ctx.db.transact(note_pending):  # a short writer transaction, then none
        return None
    return _inspect_object(ctx, p)


def on_document_uploaded(ctx: ServiceContext, session: Session, event: Event,
                         verdict: dict[str, Any] | None) -> None:
    p = load_payload(event.type, event.payload)
    if verdict is None or session.get(Inspection, p["version_id"]) is not None:
        return
    packets.record_upload(session, p)
    _announce(ctx, session, p, verdict)


def reinspect(ctx: ServiceContext, version_id: str) -> None:
    """An operator's re-inspection (`reinspection.request_reinspection`)."""
    with ctx.db.reader() as session:
        inspection = session.get(Inspection, version_id)
        if inspection is None:
            return
        p = reinspection.upload_of(inspection)
    verdict = _inspect_object(ctx, p)  # no transaction open meanwhile
    with ctx.db.session() as session:
        _announce(ctx, session, p, verdict)


def on_document_deleted(ctx: ServiceContext, session: Session, event: Event) -> None:
    p = load_payload(event.type, event.payload)
    packets.record_deletion(session, p)
    _recompute(ctx, session, p["application_id"])


def on_packet_submitted(ctx: ServiceContext, session: Session, event: Event) -> None:
    p = load_payload(event.type, event.payload)
    packets.record_submission(session, p)
    _recompute(ctx, session, p["application_id"])
