"""Dossier access for experts: who may see what, and the files as they leave the service.

Every request re-checks assignment and conflict state in the database: no grant is cached, so a
recusal cuts off the very next request (and the next entry of a ZIP being streamed).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.models import (
    Acknowledgement,
    Application,
    Assignment,
    ConflictRecord,
    Expert,
    Panel,
    SessionPledge,
)
from shared import clock
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import Concealed, DossierError, NotFound
from shared.filenames import safe_filename
from shared.outages import dependency_outage
from shared.pagerender import Cache, ViewLimits, is_pdf, stamp_file
from shared.storage import ObjectNotFound, ObjectStore
from shared.watermark import beijing_minute, stamp_text

PLEDGE = ("本人承诺：与该申报者无利害关系；对评审材料中的商业秘密和个人信息严格保密，"
          "不复制、不外传、不用于评审以外的用途。")
# One 承诺书 for a whole review session (one stage of a cycle): what `pledge_session` records.
SESSION_PLEDGE = ("本人承诺：在本次评审中，与所评审的申报者均无利害关系，"
                  "如发现存在利害关系，立即申报回避；对全部评审材料中的商业秘密和个人信息"
                  "严格保密，不复制、不外传、不用于评审以外的用途。")
SESSION = "session"  # Panel.pledge_scope: one pledge per review session


class NotAcknowledged(DossierError):
    code = "dossier.confidentiality_not_acknowledged"
    status = 403
    zh = "查看商业秘密材料前，须先签署该申报材料的保密承诺。"
    en = "Acknowledge confidentiality for this dossier before opening trade-secret documents."


def is_secret(document: Mapping[str, Any]) -> bool:
    return document.get("confidentiality") == "trade-secret" or bool(document.get("secret_pages"))


def expert_for(session: Session, subject: str) -> Expert:
    expert = session.scalars(select(Expert).where(Expert.subject == subject)).first()
    if expert is None or not expert.active:
        raise NotFound()
    return expert


def require_access(session: Session, subject: str, application_id: str
                   ) -> tuple[Expert, Application]:
    """The expert and application, if the expert serves on it now; else 404 (never 403: an
    unassigned or recused expert must not learn that the dossier exists)."""
    expert = expert_for(session, subject)
    serving = session.scalars(select(Assignment.id).where(
        Assignment.expert_id == expert.id, Assignment.application_id == application_id,
        Assignment.status == "active")).first()
    conflicted = session.scalars(select(ConflictRecord.id).where(
        ConflictRecord.expert_id == expert.id, ConflictRecord.application_id == application_id,
        ConflictRecord.withdrawn_at.is_(None))).first()
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound()
    if not serving or conflicted:
        raise Concealed(f"application:{application_id}")
    return expert, application


@dataclass(frozen=True)
class Reader:
    """Who is reading a dossier: a serving expert, or a member of the supervision group."""

    subject: str
    name: str
    expert_id: str | None
    acknowledged: bool


def open_dossier(session: Session, subject: str, role: str, application_id: str
                 ) -> tuple[Reader, Application]:
    """The reader and the application, or 404. Supervisors read every dossier (always
    watermarked with their own name); experts only those they serve on, conflict-free."""
    if role == "supervisor":
        application = session.get(Application, application_id)
        if application is None:
            raise NotFound()
        return Reader(subject, "监督组 supervision", None, True), application
    expert, application = require_access(session, subject, application_id)
    return Reader(expert.subject, expert.name, expert.id,
                  acknowledged(session, expert.id, application.id)), application


def acknowledged(session: Session, expert_id: str, application_id: str) -> bool:
    """Whether a pledge covers this dossier for the expert (see `pledged_dossiers`)."""
    return application_id in pledged_dossiers(session, expert_id, [application_id])


def pledged_dossiers(session: Session, expert_id: str,
                     application_ids: Collection[str] | None = None) -> set[str]:
    """The dossiers (of `application_ids`, default all) a pledge of the expert covers: a pledge
    for the dossier itself, or the pledge for a review session (panel) the expert serves it
    on, unless any stage the expert serves it on asks for one pledge per dossier. A fixed
    number of queries whatever the number of dossiers."""
    acks = select(Acknowledgement.application_id).where(Acknowledgement.expert_id == expert_id)
    serving = select(Assignment.application_id, Panel.id, Panel.pledge_scope).join(
        Panel, Panel.id == Assignment.panel_id).where(
        Assignment.expert_id == expert_id, Assignment.status == "active")
    if application_ids is not None:
        acks = acks.where(Acknowledgement.application_id.in_(list(application_ids)))
        serving = serving.where(Assignment.application_id.in_(list(application_ids)))
    covered = set(session.scalars(acks))
    sessions = set(session.scalars(select(SessionPledge.panel_id).where(
        SessionPledge.expert_id == expert_id)))
    stages: dict[str, list[tuple[str, str]]] = {}
    for app_id, panel_id, scope in session.execute(serving).all():
        stages.setdefault(app_id, []).append((panel_id, scope))
    for app_id, panels in stages.items():
        if all(scope == SESSION for _, scope in panels) and \
                any(panel_id in sessions for panel_id, _ in panels):
            covered.add(app_id)
    return covered


def pledge(session: Session, expert_id: str, application_id: str) -> bool:
    """Record the expert's pledge for this dossier; False when it was already given."""
    if session.scalars(select(Acknowledgement.id).where(
            Acknowledgement.expert_id == expert_id,
            Acknowledgement.application_id == application_id)).first() is not None:
        return False
    session.add(Acknowledgement(id=str(uuid.uuid4()), expert_id=expert_id,
                                application_id=application_id, statement=PLEDGE,
                                at=clock.now()))
    session.flush()
    return True


class PerDossierPledge(DossierError):
    code = "pledge.per_dossier"
    status = 409
    zh = "本评审阶段要求对每份申报材料分别签署保密承诺，请在打开各份材料前逐一签署。"
    en = ("This review stage asks for one confidentiality pledge per dossier: make it before "
          "opening each dossier.")


@dataclass(frozen=True)
class SessionPledgeMade:
    panel: Panel
    pledge: SessionPledge
    new: bool  # False when the expert had already pledged for this session
    dossiers: int  # the dossiers of this session the expert serves on now


def pledge_session(session: Session, audit: AuditLog, who: Principal, panel_id: str
                   ) -> SessionPledgeMade:
    """The expert's one pledge for a review session (a panel): covers every dossier the expert
    serves on in it, conflict-free, while the panel's `pledge_scope` is `session`. 404 for a
    panel the expert does not serve on; 409 `pledge.per_dossier` where the stage asks for one
    pledge per dossier. Audited once (`panel.pledged`); a repeat changes nothing."""
    expert = expert_for(session, who.subject)
    panel = session.get(Panel, panel_id)
    serving = [] if panel is None else serving_in(session, expert.id, panel.id)
    if panel is None or not serving:
        raise Concealed(f"panel:{panel_id}")
    if panel.pledge_scope != SESSION:
        raise PerDossierPledge()
    found = session.scalars(select(SessionPledge).where(
        SessionPledge.expert_id == expert.id, SessionPledge.panel_id == panel.id)).first()
    if found is not None:
        return SessionPledgeMade(panel, found, False, len(serving))
    made = SessionPledge(id=str(uuid.uuid4()), expert_id=expert.id, panel_id=panel.id,
                         statement=SESSION_PLEDGE, at=clock.now())
    session.add(made)
    session.flush()
    audit.append(session, actor=who.subject, role=who.role, action="panel.pledged",
                 target=f"panel:{panel.id}", detail={"stage": panel.stage, "cycle": panel.cycle,
                                                     "dossiers": len(serving)})
    return SessionPledgeMade(panel, made, True, len(serving))


def serving_in(session: Session, expert_id: str, panel_id: str) -> list[str]:
    """The applications the expert serves on in this panel now, conflict-free."""
    assigned = set(session.scalars(select(Assignment.application_id).where(
        Assignment.expert_id == expert_id, Assignment.panel_id == panel_id,
        Assignment.status == "active")))
    conflicted = set(session.scalars(select(ConflictRecord.application_id).where(
        ConflictRecord.expert_id == expert_id, ConflictRecord.withdrawn_at.is_(None))))
    return sorted(assigned - conflicted)


def session_offers(session: Session, expert_id: str, panel_ids: Collection[str]
                   ) -> dict[str, bool]:
    """For each of these panels that takes one pledge per session: whether the expert has
    given it (panels asking for one pledge per dossier are left out)."""
    scoped = set(session.scalars(select(Panel.id).where(Panel.id.in_(list(panel_ids)),
                                                        Panel.pledge_scope == SESSION)))
    given = set(session.scalars(select(SessionPledge.panel_id).where(
        SessionPledge.expert_id == expert_id, SessionPledge.panel_id.in_(list(scoped)))))
    return {panel_id: panel_id in given for panel_id in sorted(scoped)}


def session_for(session: Session, expert_id: str, application_id: str) -> Panel | None:
    """The review session whose one pledge would open this dossier: a panel the expert serves
    it on, when every such panel takes one pledge per session; else None (pledge per dossier)."""
    panels = list(session.scalars(select(Panel).join(
        Assignment, Assignment.panel_id == Panel.id).where(
        Assignment.expert_id == expert_id, Assignment.application_id == application_id,
        Assignment.status == "active").order_by(Panel.created_at)))
    if not panels or any(p.pledge_scope != SESSION for p in panels):
        return None
    return panels[0]


def entry_name(document: Mapping[str, Any]) -> str:
    number = document.get("number") or 1
    return f"{safe_filename(str(document.get('requirement') or 'other'))}/" \
           f"v{number}-{safe_filename(str(document.get('filename') or document['document_id']))}"


def open_document(store: ObjectStore, document: Mapping[str, Any], stamp: str | None,
                  font: str | None = None, limits: ViewLimits | None = None,
                  cache: Cache | None = None) -> Iterator[bytes]:
    """The submitted version's bytes; a trade-secret PDF comes out watermarked with `stamp`
    (in the CJK font file `font`, the DOSSIER_REVIEW_WATERMARK_FONT setting) by the limited
    render process, or not at all (`pdfpages.TooLargeToShow`) when it is too large for that."""
    chunks = store.open(document["object_key"], document.get("object_version"))
    if stamp is None or not is_pdf(document):
        yield from chunks
        return
    with tempfile.TemporaryDirectory(prefix="dossier-stamp-") as tmp:
        source, target = Path(tmp) / "source.pdf", Path(tmp) / "stamped.pdf"
        with source.open("wb") as raw:
            for chunk in chunks:
                raw.write(chunk)
        stamp_file(source, target, document, stamp, font, limits, cache)
        with target.open("rb") as stamped:
            while block := stamped.read(256 * 1024):
                yield block


class MaterialUnavailable(DossierError):
    code = "dossier.material_unavailable"
    status = 503
    zh = "部分申报材料暂时无法读取，未开始下载，请稍后重试。"
    en = "Some of the material cannot be read at the moment; nothing was sent. Try again later."


def is_store_failure(exc: BaseException) -> bool:
    """The object store could not give a file (down, or the object is gone)."""
    return isinstance(exc, ObjectNotFound) or dependency_outage(exc) is not None


def check_readable(store: ObjectStore, documents: list[dict[str, Any]]) -> None:
    """Stat every document's object before anything is sent; an outage raises the store's
    own error (a 503 in shared.http), a missing object MaterialUnavailable (503)."""
    for d in documents:
        try:
            store.stat(d["object_key"], d.get("object_version"))
        except ObjectNotFound as exc:
            raise MaterialUnavailable(detail=str(d.get("document_id"))) from exc


def stamp_for(reader: Reader | Expert, at: datetime | None = None) -> str:
    return stamp_text(reader.name, reader.subject, beijing_minute(at or clock.now()))


def readable(documents: list[dict[str, Any]], has_ack: bool) -> tuple[list[dict[str, Any]],
                                                                       list[dict[str, Any]]]:
    """(documents the expert gets now, trade-secret documents held back until the pledge)."""
    given = [d for d in documents if has_ack or not is_secret(d)]
    held = [d for d in documents if not has_ack and is_secret(d)]
    return given, held


def readme(application: Application, held: list[dict[str, Any]], stamp: str) -> bytes:
    lines = [f"申报者 Applicant: {application.applicant_name}",
             f"申报编号 Application: {application.id}", f"下载 Downloaded: {stamp}", ""]
    if held:
        lines.append("以下商业秘密材料须先签署保密承诺后方可下载 / Held back until you "
                     "acknowledge confidentiality:")
        lines += [f"  - {d.get('filename')}" for d in held]
    return ("\n".join(lines) + "\n").encode("utf-8")


Recheck = Callable[[str], None]
