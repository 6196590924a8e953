"""Objections against a list under publicity, with the reporter's identity sealed and any
evidence files kept in the object store beside the objection.

Used by the API (signed-in reporters) and the public form (visitors, no account): the rules are
the same, only who is asking differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.orm import Session

from services.review.models import Application, Objection, PublicList
from services.review.registry import now
from shared.audit import AuditLog
from shared.crypto import FieldCipher
from shared.db import Database
from shared.errors import DossierError, NotFound
from shared.events import Outbox
from shared.storage import ObjectStore
from shared.web.nav import N_

REPORTER_PURPOSE = "review.objection_reporter"
MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
SUFFIXES = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".png": "image/png", ".txt": "text/plain",
            ".doc": "application/msword",
            ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
# English msgids: the page shows them translated next to the evidence field.
TOO_MANY = N_("Attach at most 5 files.")
TOO_LARGE = N_("Each file may be at most 10 MB.")
WRONG_TYPE = N_("Attach PDF, JPEG, PNG, Word or plain-text files only.")
EMPTY = N_("An attached file is empty.")


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    data: bytes


def in_window(plist: PublicList, today: date) -> bool:
    return plist.starts_on <= today <= plist.ends_on


def check_evidence(files: Sequence[EvidenceFile]) -> None:
    problem = None
    if len(files) > MAX_FILES:
        problem = TOO_MANY
    elif any(len(f.data) > MAX_FILE_BYTES for f in files):
        problem = TOO_LARGE
    elif any(PurePosixPath(f.filename.lower()).suffix not in SUFFIXES for f in files):
        problem = WRONG_TYPE
    elif any(not f.data for f in files):
        problem = EMPTY
    if problem:
        raise DossierError("objection.evidence_invalid", status=422,
                           zh="证据材料不符合要求：最多 5 个文件，每个不超过 10 MB，限 PDF、"
                              "图片、Word 或文本文件。",
                           en="The evidence files do not fit: at most 5 files of up to 10 MB "
                              "each, PDF, images, Word or text only.",
                           errors={"evidence_files": [problem]})


def file_objection(db: Database, outbox: Outbox, audit: AuditLog, store: ObjectStore,
                   data_key: str, list_id: str, body: Mapping[str, Any], *,
                   subject: str | None, role: str, files: Sequence[EvidenceFile] = (),
                   today: date | None = None) -> Objection:
    """Record an objection during the list's publicity window. A real-name reporter's subject,
    name and contact are sealed at once; an anonymous objection stores no identity at all.

    Checked with no lock held, the evidence stored with no transaction open, then checked
    again and recorded (with its event and audit row) in one short transaction."""
    day = today or date.today()
    with db.reader() as session:
        _check_objection(session, list_id, body, day)
    check_evidence(files)
    sealed = None
    if not body["anonymous"]:
        cipher = FieldCipher(data_key, REPORTER_PURPOSE)
        sealed = cipher.encrypt(json.dumps({
            "subject": subject, "name": body["reporter_name"],
            "contact": body["reporter_contact"]}, ensure_ascii=False))
    objection_id = str(uuid.uuid4())
    stored: list[dict[str, Any]] = []
    for n, f in enumerate(files, start=1):
        key = f"objections/{objection_id}/{n}"
        kind = SUFFIXES[PurePosixPath(f.filename.lower()).suffix]
        store.put(key, io.BytesIO(f.data), length=len(f.data), content_type=kind)
        stored.append({"n": n, "filename": f.filename[:200], "size": len(f.data),
                       "content_type": kind, "sha256": hashlib.sha256(f.data).hexdigest(),
                       "object_key": key})

    def record(session: Session) -> Objection:
        plist = _check_objection(session, list_id, body, day)
        objection = Objection(id=objection_id, list_id=plist.id,
                              application_id=body.get("application_id"),
                              anonymous=body["anonymous"], reporter_sealed=sealed,
                              text=body["text"], evidence=list(body.get("evidence") or []),
                              evidence_files=stored, status="open", received_at=now())
        session.add(objection)
        session.flush()
        outbox.emit(session, "objection.received", {
            "objection_id": objection.id, "list_id": plist.id, "cycle": plist.cycle,
            "application_id": objection.application_id, "anonymous": objection.anonymous,
            "list_kind": plist.kind, "applicant_name": _applicant_name(session, objection),
            "audience": [{"role": "supervisor"}, {"role": "operator"}]})
        # The audit names the objection, never the reporter.
        audit.append(session, actor="reporter", role=role, action="objection.received",
                     target=f"objection:{objection.id}",
                     detail={"list": plist.id, "files": len(stored)})
        return objection

    return db.transact(record)


def _check_objection(session: Session, list_id: str, body: Mapping[str, Any],
                     day: date) -> PublicList:
    plist = session.get(PublicList, list_id)
    if plist is None:
        raise NotFound()
    if not in_window(plist, day):
        raise DossierError("objection.outside_window", status=409,
                           zh="不在公示期内（{start} 至 {end}），不能提出异议。",
                           en="Objections are accepted only during publicity "
                              "({start} to {end}).",
                           start=plist.starts_on.isoformat(), end=plist.ends_on.isoformat())
    listed = {e["application_id"] for e in plist.entries}
    if body.get("application_id") and body["application_id"] not in listed:
        raise DossierError("objection.not_listed", status=422,
                           zh="该申报者不在此名单上。", en="This applicant is not on the list.")
    if not body["anonymous"] and (not body.get("reporter_name")
                                  or not body.get("reporter_contact")):
        raise DossierError("objection.reporter_required", status=422,
                           zh="实名异议须填写姓名和联系方式。",
                           en="A real-name objection needs a name and a contact.")
    return plist


def evidence_file(objection: Objection, n: int) -> dict[str, Any]:
    for f in objection.evidence_files or []:
        if int(f["n"]) == n:
            return dict(f)
    raise NotFound()


def _applicant_name(session: Session, objection: Objection) -> str | None:
    """The name the objection concerns, so its message names it rather than an id."""
    if not objection.application_id:
        return None
    app = session.get(Application, objection.application_id)
    return app.applicant_name if app is not None else None
