"""Objections against a list under publicity, with the reporter's identity sealed and any
evidence files kept in the object store beside the objection.

Used by the API (signed-in reporters) and the public form (visitors, no account): the rules are
the same, only who is asking differs. Handling (investigation, resolution, reading evidence or the
sealed reporter) is one function each, called alike by the API and the office pages, and each
writes its own audit record.

The reporter gets a receipt code, not the objection's id: short enough to type from paper
(12 Crockford base32 characters, the last a check symbol, shown as XXXX-XXXX-XXXX), random
enough not to be guessed (55 bits), and opening only the status and the published answer.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.review.models import Application, Cycle, Objection, PublicList
from services.review.registry import now
from shared import clock
from shared.audit import AuditLog
from shared.auth import Principal
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
NO_ANSWER = N_("Write the answer the reporter will read.")
BAD_CODE = N_("Check the receipt code: 12 letters and digits.")
# Who may open the evidence files (Art. 6 and 16: the office handles, the supervision group
# oversees); anyone else is told the file does not exist.
EVIDENCE_READERS = ("operator", "supervisor")
# Crockford's symbols (no I, L, O, U) less Z: 31, a prime, so the weighted check below catches
# every single wrong symbol and every swap of neighbours (with 32 symbols, 0 and Z collide).
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXY"
CODE_DATA = 11
# What people mistype for Crockford's symbols.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    data: bytes


def _check_symbol(data: str) -> str:
    # Weighted sum modulo the prime 31 with distinct weights: any one wrong character and any
    # swap of two neighbours changes it.
    return ALPHABET[sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(data)) % len(ALPHABET)]


def new_receipt_code() -> str:
    data = "".join(secrets.choice(ALPHABET) for _ in range(CODE_DATA))
    return data + _check_symbol(data)


def normalise_code(raw: str) -> str | None:
    """The stored form of a typed receipt code (case, dashes, spaces, O/I/L forgiven), or None
    when it cannot be one (wrong length, letter or check symbol)."""
    code = "".join(raw.upper().split()).replace("-", "").translate(_READ_AS)
    if len(code) != CODE_DATA + 1 or any(c not in ALPHABET for c in code):
        return None
    return code if _check_symbol(code[:-1]) == code[-1] else None


def display_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


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
    day = today or clock.today()
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
                              evidence_files=stored, status="open", received_at=now(),
                              receipt_code=new_receipt_code())
        session.add(objection)
        session.flush()
        concerned = session.get(Application, objection.application_id) \
            if objection.application_id else None
        outbox.emit(session, "objection.received", {
            "objection_id": objection.id, "list_id": plist.id, "cycle": plist.cycle,
            "application_id": objection.application_id, "anonymous": objection.anonymous,
            "applicant_name": concerned.applicant_name if concerned else None,
            "case_number": concerned.case_number if concerned else None,
            "list_kind": plist.kind,
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


def _audit(session: Session, audit: AuditLog, who: Principal, action: str,
           objection: Objection, **detail: Any) -> None:
    audit.append(session, actor=who.subject, role=who.role, action=action,
                 target=f"objection:{objection.id}", detail=detail)


def _find(session: Session, objection_id: str) -> Objection:
    found = session.get(Objection, objection_id)
    if found is None:
        raise NotFound()
    return found


def read_evidence(session: Session, audit: AuditLog, who: Principal, objection_id: str,
                  n: int) -> dict[str, Any]:
    """One evidence file's record for the operator or the supervision group (404 for anyone
    else), the reading audited before the bytes are served."""
    if who.role not in EVIDENCE_READERS:
        raise NotFound()
    objection = _find(session, objection_id)
    found = evidence_file(objection, n)
    _audit(session, audit, who, "objection.evidence_read", objection, n=n)
    return found


def reveal_reporter(session: Session, audit: AuditLog, who: Principal, data_key: str,
                    objection_id: str) -> dict[str, Any]:
    """The sealed reporter, for the supervision group only (Art. 25); audited first."""
    if who.role != "supervisor":
        raise NotFound()
    objection = _find(session, objection_id)
    _audit(session, audit, who, "objection.reporter_read", objection)
    if objection.reporter_sealed is None:
        return {"objection_id": objection.id, "anonymous": True, "subject": None,
                "name": None, "contact": None}
    sealed = json.loads(FieldCipher(data_key, REPORTER_PURPOSE).decrypt(
        objection.reporter_sealed))
    return {"objection_id": objection.id, "anonymous": False, **sealed}


def begin_investigation(session: Session, audit: AuditLog, who: Principal, objection_id: str
                        ) -> Objection:
    """Mark an open objection as under investigation: the reporter's page says so."""
    objection = _find(session, objection_id)
    if objection.status != "open":
        raise DossierError("objection.resolved", status=409, zh="该异议已处理。",
                           en="This objection has already been resolved.")
    if objection.investigating_since is None:
        objection.investigating_since = now()
        _audit(session, audit, who, "objection.investigating", objection)
    return objection


def resolve(session: Session, audit: AuditLog, who: Principal, objection_id: str, *,
            outcome: str, resolution: str, answer: str | None) -> Objection:
    """Uphold or dismiss an open objection; `answer` is what the reporter reads."""
    objection = _find(session, objection_id)
    if objection.status != "open":
        raise DossierError("objection.resolved", status=409, zh="该异议已处理。",
                           en="This objection has already been resolved.")
    objection.status, objection.resolution = outcome, resolution
    objection.answer = (answer or "").strip() or None
    objection.resolved_at, objection.resolved_by = now(), who.subject
    _audit(session, audit, who, "objection.resolved", objection, outcome=outcome)
    return objection


@dataclass(frozen=True)
class FollowUp:
    """What the receipt code opens: never the text, the evidence or who reported."""

    receipt_code: str
    status: str  # received / investigating / answered
    received_at: datetime
    investigating_since: datetime | None
    answered_at: datetime | None
    outcome: str | None
    answer: str | None
    list_kind: str
    cycle_title: str


def follow(session: Session, raw_code: str) -> FollowUp:
    """The status of the objection a receipt code names (NotFound for any other code)."""
    code = normalise_code(raw_code)
    if code is None:
        raise DossierError("objection.code_invalid", status=422,
                           zh="回执编号有误，请核对（共 12 位字母和数字）。",
                           en="This receipt code is not valid: check it (12 letters and digits).",
                           errors={"code": [BAD_CODE]})
    objection = session.scalars(select(Objection).where(Objection.receipt_code == code)).first()
    if objection is None:
        raise NotFound()
    plist = session.get(PublicList, objection.list_id)
    cycle = session.get(Cycle, plist.cycle) if plist else None
    answered = objection.status != "open"
    status = "answered" if answered else \
        "investigating" if objection.investigating_since else "received"
    return FollowUp(receipt_code=code, status=status, received_at=objection.received_at,
                    investigating_since=objection.investigating_since,
                    answered_at=objection.resolved_at if answered else None,
                    outcome=objection.status if answered else None,
                    answer=objection.answer if answered else None,
                    list_kind=plist.kind if plist else "",
                    cycle_title=(cycle.title if cycle else plist.cycle) if plist else "")
