"""Documents' read model of each packet and the completeness reports computed from it.

Fed by intake's events (`cycle.saved`, `document.uploaded`, `document.deleted`,
`packet.submitted`) and by our own verdicts. No Flask or Celery here: the task layer calls these
inside the inbox's transaction, so the model, the report and the outgoing event commit together.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.documents import catalogue as catalogues
from services.documents.completeness import Assessment, DocumentFacts, assess
from services.documents.models import (
    CompletenessReport,
    Cycle,
    Inspection,
    Packet,
    PacketDocument,
)
from shared.events import Outbox

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def record_cycle(session: Session, p: dict[str, Any]) -> None:
    cycle = session.get(Cycle, str(p["cycle"])) or Cycle(cycle=str(p["cycle"]))
    cycle.catalogue = p.get("catalogue") or None
    cycle.title = p.get("title")
    cycle.year = p.get("year")
    session.merge(cycle)


def publish_requirements(session: Session, outbox: Outbox, cycle_id: str, *, default: str,
                         extra_dir: str | None = None) -> catalogues.Catalogue:
    """Announce the requirements of the catalogue a cycle uses (`requirements.published`), so
    intake's pages name and offer exactly what the completeness check will look for (and
    review's pages name each dossier document the same way).

    Called for every `cycle.saved`: the announcement is the whole list, never a change, so a
    repeat is harmless and the latest one wins (intake keeps one list per cycle). A cycle that
    names a catalogue we do not have is judged against the default (`catalogue_for`), and
    that is the list announced.
    """
    cycle = session.get(Cycle, cycle_id)
    version = (cycle.catalogue if cycle is not None else None) or default
    try:
        catalogue = catalogues.get(version, extra_dir)
    except catalogues.UnknownCatalogue:
        log.error("cycle %s names catalogue %s, which does not exist; announcing %s",
                  cycle_id, version, default)
        catalogue = catalogues.get(default, extra_dir)
    outbox.emit(session, "requirements.published", {
        "cycle": cycle_id,
        "catalogue": {"version": catalogue.version, "title": catalogue.title},
        "kinds": {kind: [{"id": r.id, "title": r.title, "required": r.required,
                          "provided_by": r.provided_by, "formats": list(r.formats),
                          "multiple": r.multiple} for r in requirements]
                  for kind, requirements in catalogue.kinds.items()},
        "audience": []})  # for intake's and review's pages; nobody is notified
    return catalogue


def _packet(session: Session, p: dict[str, Any]) -> Packet:
    """The packet's row, created if new, locked for the rest of the transaction.

    Several workers may see the first uploads of one application at once: the row is created
    with an insert that ignores a concurrent twin, then locked, so every later step of this
    handler (and the recomputation) runs one packet at a time.
    """
    dialect = session.get_bind().dialect.name
    inserts: dict[str, Callable[[Any], PgInsert | SqliteInsert]] = {
        "postgresql": pg_insert, "sqlite": sqlite_insert}
    insert = inserts.get(dialect)
    values = {"application_id": p["application_id"], "cycle": str(p.get("cycle") or ""),
              "owner": p["owner"], "submission": 0, "manifest": [], "updated_at": _now()}
    if insert is not None:
        session.execute(insert(Packet).values(**values).on_conflict_do_nothing())
    elif session.get(Packet, p["application_id"]) is None:
        session.add(Packet(**values))
        session.flush()
    packet = session.get(Packet, p["application_id"], with_for_update=True)
    assert packet is not None
    if p.get("kind"):
        packet.kind = p["kind"]
    if p.get("cycle"):
        packet.cycle = str(p["cycle"])
    packet.updated_at = _now()
    return packet


def record_upload(session: Session, p: dict[str, Any]) -> Packet:
    packet = _packet(session, p)
    if session.get(PacketDocument, p["version_id"]) is None:
        session.add(PacketDocument(
            version_id=p["version_id"], application_id=p["application_id"],
            document_id=p["document_id"], requirement=p.get("requirement"),
            number=int(p.get("number") or 1), filename=p["filename"], deleted=False,
            uploaded_at=_now(), confidentiality=p.get("confidentiality"),
            secret_pages=p.get("secret_pages") or None))
    return packet


def record_verdict(session: Session, p: dict[str, Any], verdict: dict[str, Any]) -> Inspection:
    error = verdict.get("error") or None
    inspection = Inspection(
        version_id=p["version_id"], application_id=p["application_id"],
        document_id=p["document_id"], owner=p["owner"], object_key=p["object_key"],
        object_version=p.get("object_version"), sha256=p["sha256"], size=int(p["size"]),
        filename=p["filename"], requirement=p.get("requirement"), ok=bool(verdict["ok"]),
        format=verdict.get("format"), pages=verdict.get("pages"),
        encrypted=bool(verdict.get("encrypted")), text_layer=verdict.get("text_layer"),
        scanned=verdict.get("scanned"), characters=verdict.get("characters"),
        javascript=bool(verdict.get("javascript")),
        embedded_files=int(verdict.get("embedded_files") or 0),
        classification_marks=[m["mark"] for m in verdict.get("classification_marks") or []],
        error_code=error["code"] if error else None,
        error_message=error.get("messages") if error else None,
        details={**verdict, "upload_confidentiality": p.get("confidentiality")},
        inspected_at=_now())
    # A re-inspection replaces the verdict on the same version.
    return session.merge(inspection)


def record_deletion(session: Session, p: dict[str, Any]) -> None:
    for version_id in p.get("version_ids") or []:
        row = session.get(PacketDocument, version_id)
        if row is not None:
            row.deleted = True


def record_submission(session: Session, p: dict[str, Any]) -> Packet:
    packet = _packet(session, p)
    packet.unit = p.get("unit")
    packet.applicant_name = p.get("applicant_name")
    packet.route = p.get("route")
    packet.submission = int(p.get("submission") or 1)
    manifest = list(p.get("documents") or [])
    packet.manifest = [d["version_id"] for d in manifest]
    for doc in manifest:  # the manifest is authoritative, even for an upload we missed
        row = session.get(PacketDocument, doc["version_id"])
        if row is None:
            row = PacketDocument(
                version_id=doc["version_id"], application_id=packet.application_id,
                document_id=doc["document_id"], requirement=doc.get("requirement"),
                number=int(doc.get("number") or 1), filename=doc.get("filename") or "",
                deleted=False, uploaded_at=_now())
            session.add(row)
        # The marking may have changed after the upload (intake re-tags until submission).
        if "confidentiality" in doc:
            row.confidentiality = doc.get("confidentiality")
            row.secret_pages = doc.get("secret_pages") or None
    return packet


def _facts(rows: list[tuple[PacketDocument, Inspection | None]]) -> list[DocumentFacts]:
    return [DocumentFacts(document_id=d.document_id, version_id=d.version_id,
                          requirement=d.requirement, filename=d.filename, number=d.number,
                          verdict=i.details if i is not None else None) for d, i in rows]


def documents_of(session: Session, packet: Packet, submitted: bool) -> list[DocumentFacts]:
    """The current version of each document: the manifest once submitted, else the newest."""
    query = (select(PacketDocument, Inspection)
             .outerjoin(Inspection, Inspection.version_id == PacketDocument.version_id)
             .where(PacketDocument.application_id == packet.application_id))
    rows = list(session.execute(query).tuples())
    if submitted:
        wanted = set(packet.manifest or [])
        return _facts([(d, i) for d, i in rows if d.version_id in wanted])
    newest: dict[str, tuple[PacketDocument, Inspection | None]] = {}
    for d, i in rows:
        if d.deleted:
            continue
        if d.document_id not in newest or d.number > newest[d.document_id][0].number:
            newest[d.document_id] = (d, i)
    return _facts(list(newest.values()))


def catalogue_for(session: Session, packet: Packet, default: str,
                  extra_dir: str | None) -> catalogues.Catalogue:
    cycle = session.get(Cycle, packet.cycle)
    version = (cycle.catalogue if cycle is not None else None) or default
    try:
        return catalogues.get(version, extra_dir)
    except catalogues.UnknownCatalogue:
        log.error("cycle %s names catalogue %s, which does not exist; using %s",
                  packet.cycle, version, default)
        return catalogues.get(default, extra_dir)


def _report(session: Session, application_id: str, submission: int
            ) -> CompletenessReport | None:
    return session.execute(select(CompletenessReport).where(
        CompletenessReport.application_id == application_id,
        CompletenessReport.submission == submission)).scalar_one_or_none()


def _save(session: Session, packet: Packet, submission: int, catalogue: str,
          result: Assessment, report: CompletenessReport | None = None) -> CompletenessReport:
    report = report or _report(session, packet.application_id, submission)
    if report is None:
        report = CompletenessReport(id=str(uuid.uuid4()), application_id=packet.application_id,
                                    submission=submission)
        session.add(report)
    report.cycle, report.owner, report.unit = packet.cycle, packet.owner, packet.unit
    report.kind, report.catalogue = packet.kind, catalogue
    report.status, report.pending = result.status, result.pending
    report.counts = result.counts
    report.items = [i.as_dict() for i in result.items]
    report.unexpected = result.unexpected
    report.computed_at = _now()
    return report


def checked_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's items as `packet.checked` carries them: verdict, reasons, versions judged."""
    return [{"requirement": i["requirement"], "status": i["status"],
             "reasons": list(i.get("reasons") or []),
             "versions": sorted({e["version_id"] for e in i.get("evidence") or []
                                 if e.get("version_id")})} for i in items]


def _draft_state(report: CompletenessReport | None) -> tuple[str, list[dict[str, Any]]] | None:
    """(status, items as announced) of a draft checklist as last saved: any change of a
    verdict, a reason or a version judged is announced, not only a change of the status."""
    if report is None or report.pending:
        return None
    return report.status, checked_items(list(report.items or []))


def recompute(session: Session, outbox: Outbox, application_id: str, *,
              default_catalogue: str, catalogue_dir: str | None = None) -> None:
    """Refresh the draft checklist, and the submission's report; announce a finished one."""
    session.flush()
    # One recomputation per packet at a time (scaled workers): the row lock orders them.
    packet = session.get(Packet, application_id, with_for_update=True)
    if packet is None:
        return
    catalogue = catalogue_for(session, packet, default_catalogue, catalogue_dir)
    draft = assess(catalogue, packet.kind, documents_of(session, packet, False), submitted=False)
    checklist = _report(session, packet.application_id, 0)
    before = _draft_state(checklist)
    # Files were still being inspected: if none is now, the upload's inspections have settled
    # and notify tells the owner once for all of them, not once per file.
    was_pending = bool(checklist is not None and checklist.pending)
    checklist = _save(session, packet, 0, catalogue.version, draft, checklist)
    items = checked_items([i.as_dict() for i in draft.items])
    if draft.pending == 0 and before != (draft.status, items):
        # The draft's checklist changed: announce it quietly (no audience) so intake shows it
        # and notify can remind of missing documents before the window closes. Only changes
        # are announced, so an upload that alters nothing makes no event.
        outbox.emit(session, "packet.checked", {
            "application_id": packet.application_id, "cycle": packet.cycle,
            "owner": packet.owner, "status": draft.status, "counts": draft.counts,
            "missing": draft.missing, "report_id": checklist.id, "submission": 0,
            "missing_titles": draft.missing_titles,
            "unit": packet.unit, "items": items, "settled": was_pending, "audience": []})
    if packet.submission <= 0:
        return
    result = assess(catalogue, packet.kind, documents_of(session, packet, True), submitted=True)
    report = _save(session, packet, packet.submission, catalogue.version, result)
    # Announce once per submission, when no document of it is still being inspected.
    if report.announced_at is None and result.pending == 0:
        report.announced_at = _now()
        audience: list[dict[str, str]] = [{"subject": packet.owner}]
        if packet.unit:
            audience.append({"role": "recommender", "unit": packet.unit})
        outbox.emit(session, "packet.checked", {
            "application_id": packet.application_id, "cycle": packet.cycle,
            "owner": packet.owner, "status": result.status, "counts": result.counts,
            "missing": result.missing, "report_id": report.id,
            "missing_titles": result.missing_titles,
            "submission": packet.submission, "unit": packet.unit,
            "items": checked_items([i.as_dict() for i in result.items]),
            "applicant_name": packet.applicant_name, "audience": audience})
