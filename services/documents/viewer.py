"""Opening one document of a packet to read it: who may, which version, and its watermark.

The readers are those of the completeness report (`access.may_read`): the applicant its own
packets, a recommender the packets submitted to its unit, operators, supervisors and admins
every packet. Experts read through review's dossiers (assignment, conflicts, pledge), never
here. The owner reads the newest version of each document; everyone else the version they are
asked to judge — the submitted one once the packet went out.

A trade-secret document (marked by the applicant: the whole file or some pages) is shown to
anyone but its owner with every page watermarked with the reader's name and the Beijing time.
The marking is the one intake announced (upload and submitted manifest) or, whichever says
"secret", the object's own tags, which intake rewrites before its record when the applicant
changes a draft's marking; tags that cannot be read count as secret (fail closed).

No Flask here: callers pass the service context and the principal of the request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from services.documents import packets
from services.documents.access import may_read
from services.documents.models import Inspection, Packet, PacketDocument
from shared.auth import Principal
from shared.errors import Concealed, NotFound
from shared.service import ServiceContext

log = logging.getLogger(__name__)

_TYPES = {"pdf": "application/pdf", "ofd": "application/ofd",
          "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@dataclass(frozen=True)
class Opened:
    """One version of a document as a reader may open it (detached from the database)."""

    application_id: str
    document_id: str
    owner: str
    applicant_name: str | None
    requirement: str | None
    requirement_title: dict[str, str] | None
    filename: str
    number: int
    submitted: bool  # the version of a submission, not a draft's newest upload
    inspected: bool
    readable: bool  # the inspection opened it
    format: str | None
    pages: int | None
    preview: list[str] = field(default_factory=list)
    # The digital signatures the inspection found (`signatures.Signature` dicts).
    signatures: list[dict[str, Any]] = field(default_factory=list)
    marked_secret: bool = False
    secret_pages: list[list[int]] = field(default_factory=list)
    # What `shared.pagerender` needs: object key and version, name, type, size, pages.
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def is_pdf(self) -> bool:
        return self.format == "pdf"


def is_owner(who: Principal, opened: Opened) -> bool:
    return who.role == "applicant" and who.subject == opened.owner


def _choose(session: Any, packet: Packet, document_id: str, owner: bool
            ) -> tuple[PacketDocument, bool] | None:
    """The version `document_id` shows this reader, and whether it is a submitted one."""
    submitted = packet.submission > 0 and not owner
    for facts in packets.documents_of(session, packet, submitted):
        if facts.document_id == document_id:
            row = session.get(PacketDocument, facts.version_id)
            return (row, submitted) if row is not None else None
    return None


def _title(session: Any, packet: Packet, requirement: str | None, settings: Any
           ) -> dict[str, str] | None:
    if not requirement:
        return None
    catalogue = packets.catalogue_for(session, packet, settings.documents_catalogue,
                                      settings.documents_catalogue_dir)
    for item in catalogue.requirements(packet.kind):
        if item.id == requirement:
            return dict(item.title)
    return None


def open_document(ctx: ServiceContext, who: Principal, application_id: str,
                  document_id: str) -> Opened:
    """The document as `who` may read it; NotFound if there is none, and the same answer,
    audited as a denied access, for a packet `who` may not read."""
    with ctx.db.reader() as session:
        packet = session.get(Packet, application_id)
        if packet is None:
            raise NotFound(detail=f"no packet {application_id}")
        if not may_read(who, packet):
            raise Concealed(f"document:{document_id}", detail=f"no packet {application_id}")
        owner = who.role == "applicant"
        chosen = _choose(session, packet, document_id, owner)
        if chosen is None:
            raise NotFound(detail=f"no document {document_id} in {application_id}")
        row, submitted = chosen
        inspection = session.get(Inspection, row.version_id)
        title = _title(session, packet, row.requirement, ctx.settings)
        details = dict(inspection.details or {}) if inspection is not None else {}
        recorded = row.confidentiality or details.get("upload_confidentiality")
        source: dict[str, Any] = {}
        if inspection is not None:
            source = {"document_id": row.document_id, "object_key": inspection.object_key,
                      "object_version": inspection.object_version,
                      "filename": inspection.filename, "size": inspection.size,
                      "pages": inspection.pages,
                      "content_type": _TYPES.get(inspection.format or "", "")}
        return Opened(
            application_id=packet.application_id, document_id=row.document_id,
            owner=packet.owner, applicant_name=packet.applicant_name,
            requirement=row.requirement, requirement_title=title, filename=row.filename,
            number=row.number, submitted=submitted, inspected=inspection is not None,
            readable=bool(inspection is not None and inspection.ok),
            format=inspection.format if inspection is not None else None,
            pages=inspection.pages if inspection is not None else None,
            preview=[str(p) for p in details.get("preview") or []],
            signatures=[dict(s) for s in details.get("signatures") or []],
            marked_secret=recorded == "trade-secret" or bool(row.secret_pages),
            secret_pages=[list(r) for r in row.secret_pages or []], source=source)


def secret(ctx: ServiceContext, opened: Opened) -> bool:
    """Whether this version is a trade secret: the announced marking, or the object's tags."""
    if opened.marked_secret:
        return True
    if not opened.source:
        return False
    try:
        tags = ctx.store.get_tags(opened.source["object_key"],
                                  opened.source.get("object_version"))
    except Exception:  # unreadable tags: watermark rather than show a secret bare
        log.warning("tags of %s unreadable; treating it as a trade secret",
                    opened.source["object_key"], exc_info=True)
        return True
    return tags.get("confidentiality") == "trade-secret" or bool(tags.get("secret-pages"))


def watermarked(ctx: ServiceContext, who: Principal, opened: Opened) -> bool:
    """Pages this reader sees carry their name: a trade secret read by anyone but its owner."""
    return not is_owner(who, opened) and secret(ctx, opened)
