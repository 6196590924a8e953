"""The applicant's requirement checklist, from what intake knows: its documents, their
inspection verdicts (`document.inspected`), the completeness report (`packet.checked`) and the
requirements of the cycle's catalogue (`requirements.published`).

The requirement catalogue belongs to the documents service, which announces the list a cycle
uses whenever the cycle is saved; intake keeps the latest list per cycle (`RequirementList`)
and names, flags and offers requirements from it, in the page's language. Titles are data,
not page text: they come in zh-CN and English from the catalogue and are never looked up in
intake's message catalogue. Until a cycle's list has arrived, requirements are shown by their
ids (those the files and the report name) and the page says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.intake.models import Application, DocumentVersion, RequirementList
from shared import requirement_lists
from shared.web.nav import N_


@dataclass(frozen=True)
class Requirement:
    id: str
    title: Mapping[str, str]  # zh-CN and en, from the catalogue
    required: bool = True
    formats: tuple[str, ...] = ()
    multiple: bool = False

    def label(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("zh-CN") or self.id


@dataclass(frozen=True)
class Catalogue:
    """What the applicant hands in for a cycle, per applicant kind (applicant-provided items
    only: those a recommender adds after submission are not the applicant's to upload)."""

    version: str
    kinds: Mapping[str, tuple[Requirement, ...]]

    def requirements(self, kind: str) -> tuple[Requirement, ...]:
        return self.kinds.get(kind, ())

    def find(self, kind: str, requirement: str) -> Requirement | None:
        return next((r for r in self.requirements(kind) if r.id == requirement), None)


def from_kinds(version: str, kinds: Mapping[str, Any]) -> Catalogue:
    """A catalogue from the event's (or the stored) `kinds`."""
    return Catalogue(version=version, kinds={
        kind: tuple(Requirement(id=str(item["id"]), title=dict(item["title"]),
                                required=bool(item.get("required", True)),
                                formats=tuple(item.get("formats") or ()),
                                multiple=bool(item.get("multiple", False)))
                    for item in items or ()
                    if (item.get("provided_by") or "applicant") == "applicant")
        for kind, items in kinds.items()})


def record_requirements(session: Session, p: dict[str, Any], published_at: str | datetime
                        ) -> bool:
    """Keep the list documents announced for a cycle; False when a newer one is kept."""
    return requirement_lists.record(session, RequirementList, p, published_at)


def catalogue_of(session: Session, cycle: str) -> Catalogue | None:
    """The cycle's requirements as last announced, or None while documents has not answered."""
    row = session.get(RequirementList, cycle)
    return None if row is None else from_kinds(row.catalogue, row.kinds or {})


def requirements_for(catalogue: Catalogue | None, kind: str) -> tuple[Requirement, ...]:
    return catalogue.requirements(kind) if catalogue is not None else ()


def label_of(catalogue: Catalogue | None, kind: str, requirement: str, lang: str) -> str:
    """The requirement's title in `lang`; its id as it is when the list does not name it."""
    found = catalogue.find(kind, requirement) if catalogue is not None else None
    return found.label(lang) if found is not None else requirement


def upload_choices(catalogue: Catalogue | None, app: Application, lang: str
                   ) -> list[tuple[str, str]]:
    """(id, label) for the upload form: the catalogue's requirements, then any id the packet's
    documents already use that the list does not name (a new version keeps its requirement)."""
    choices = [(r.id, r.label(lang)) for r in requirements_for(catalogue, app.kind)]
    known = {rid for rid, _label in choices}
    for document in app.documents:
        if catalogue is not None and document.requirement not in known:
            choices.append((document.requirement, document.requirement))
            known.add(document.requirement)
    return choices


@dataclass(frozen=True)
class UploadDefault:
    requirement: str | None  # the requirement chosen first in the upload form
    document_id: str | None  # "upload as": None for a new document


def upload_default(app: Application, built: Checklist, choices: Sequence[tuple[str, str]]
                   ) -> UploadDefault:
    """What the upload form proposes: on a returned packet, a new version of the first file
    to put right (that is why it came back); otherwise a new document of the first item."""
    if app.status == "returned":
        for row in built.to_fix:
            if row.files:
                document = next((d for d in app.documents
                                 if d.versions and d.versions[-1] is row.files[0]), None)
                if document is not None:
                    return UploadDefault(document.requirement, document.id)
    return UploadDefault(choices[0][0] if choices else None, None)


# Inspection states of one version, shown per file.
PENDING, PASSED, FAILED, MARKED = "pending", "passed", "failed", "marked"


def inspection_state(version: DocumentVersion) -> str:
    if version.classification_marks:
        return MARKED
    if version.inspection is None:
        return PENDING
    return PASSED if version.inspection.get("ok") else FAILED


def inspection_reason(version: DocumentVersion, lang: str) -> str:
    """The inspection's reason in the user's language when it sent one (`error.messages`)."""
    error = (version.inspection or {}).get("error") or {}
    messages = error.get("messages") or {}
    return str(messages.get(lang) or messages.get("en") or error.get("message") or "")


# What to do next, per reason code of documents' report (`completeness.REASONS`): the report
# says what is wrong, this says how to put it right, in the page's language.
ADVICE: dict[str, str] = {
    "missing": N_("Upload this document."),
    "unreadable": N_("Save the file again so that it opens normally (not encrypted, not "
                     "damaged, PDF or DOCX) and upload it as a new version of this item."),
    "format": N_("Convert the file to an accepted format and upload it as a new version of "
                 "this item."),
    "too_many_pages": N_("Shorten the document to the page limit and upload it as a new "
                         "version."),
    "too_few_pages": N_("Complete the document and upload it as a new version."),
    "too_long": N_("Shorten the text to the limit and upload it as a new version."),
    "sections_missing": N_("Add the missing parts under numbered headings (such as "
                           "\u201c一、领导\u201d) and upload a new version."),
    "sections_unrecognised": N_("Nothing to do if the document covers these parts: the award "
                                "office checks it by hand. Numbered headings let the check "
                                "find them."),
    "sections_unchecked": N_("Nothing to do if the document covers these parts: the award "
                             "office checks it by hand. A PDF exported with its text lets the "
                             "check read it."),
    "no_text": N_("If you can, upload a PDF exported from the original file (with its text) as "
                  "a new version."),
    "not_sealed_scan": N_("Upload the signed and sealed paper version, scanned, as a new "
                          "version."),
    "classified": N_("Classified material must not be submitted: remove it and upload a new "
                     "version without it."),
    "javascript": N_("Export the file again without scripts (for example, print it to PDF) "
                     "and upload it as a new version."),
    "embedded": N_("Upload the attached files as documents of their own."),
    "encrypted_open": N_("Remove the password protection and upload a new version."),
    "paper": N_("Lay the document out on the required paper size and upload a new version."),
    "several": N_("Delete the extra files of this item, or keep them knowing that the latest "
                  "upload counts."),
}


@dataclass(frozen=True)
class Reason:
    text: str  # what is wrong, in the user's language
    advice: str = ""  # what to do next (a msgid, translated where it is shown)


@dataclass
class Row:
    requirement: str
    label: str  # in the user's language (the catalogue's title, else the id)
    required: bool
    state: str  # met | missing | invalid | attention | pending | optional
    files: list[DocumentVersion] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)

    @property
    def to_fix(self) -> bool:
        return self.state in ("missing", "invalid", "attention") and (
            self.required or self.state != "missing")


@dataclass
class Checklist:
    rows: list[Row]
    # Derived from the rows, never stored apart: pending (some verdict not in yet) | complete
    # | incomplete | attention, so the summary can never contradict a row.
    status: str | None
    counts: dict[str, int]
    submission: int | None
    pending: bool  # some file is still being inspected: the page keeps refreshing
    known: bool = True  # False: the cycle's requirement list has not arrived yet

    @property
    def to_fix(self) -> list[Row]:
        """Everything the applicant must see to, at once (一次性告知)."""
        return [r for r in self.rows if r.to_fix]


def build(app: Application, lang: str, catalogue: Catalogue | None) -> Checklist:
    """One row per requirement, each the verdict of documents' checklist of the current versions
    (`packet.checked`), and the summary counted from the rows. A row whose current files the
    checklist has not judged yet is "being inspected", whatever an older verdict said.

    Without the cycle's list (`catalogue` None) the rows are the requirements the files and
    the report name, by id."""
    report: dict[str, Any] = app.completeness_report or {}
    draft: dict[str, Any] | None = app.draft_checklist
    judged = {str(i["requirement"]): i for i in (draft or {}).get("items") or []}
    reported_missing = ({r for r, i in judged.items() if i.get("status") == "missing"}
                        if draft is not None else set(report.get("missing") or []))
    current: dict[str, list[DocumentVersion]] = {}
    for document in app.documents:
        if document.versions:
            current.setdefault(document.requirement, []).append(document.versions[-1])

    def row(requirement: str, label: str, required: bool, files: Sequence[DocumentVersion]
            ) -> Row:
        # Before documents' first checklist of this packet, a file read fine is not yet
        # "met": it is being judged. (A packet with an older report and no checklist of items,
        # from before checklists carried them, keeps the files' own verdicts.)
        if files and (draft is not None or not report):
            return _judged_row(requirement, label, required, files, judged.get(requirement),
                               lang)
        return _row(requirement, label, required, files, reported_missing, lang)

    known = requirements_for(catalogue, app.kind)
    rows = [row(r.id, r.label(lang), r.required, current.get(r.id, [])) for r in known]
    ids = {r.id for r in known}
    rows += [row(req, req, False, files) for req, files in current.items() if req not in ids]
    if catalogue is None:  # the report still names what is missing, by id
        ids |= set(current)
        rows += [row(req, req, True, []) for req in sorted(reported_missing) if req not in ids]
    counts = {name: sum(1 for r in rows if r.state == name)
              for name in ("met", "missing", "invalid", "attention")}
    counts["missing"] = sum(1 for r in rows if r.state == "missing" and r.required)
    pending = any(r.state == "pending" for r in rows)
    if pending:
        status: str | None = "pending"
    elif draft is None and not report:
        status = None  # nothing uploaded nor judged yet: no summary rather than a guess
    elif counts["missing"] or counts["invalid"]:
        status = "incomplete"
    elif counts["attention"]:
        status = "attention"
    else:
        status = "complete"
    return Checklist(rows=rows, status=status, counts=counts,
                     submission=report.get("submission"), pending=pending,
                     known=catalogue is not None)


def _judged_row(requirement: str, label: str, required: bool,
                files: Sequence[DocumentVersion], item: Mapping[str, Any] | None, lang: str
                ) -> Row:
    """The report's verdict when it judged exactly these versions; else still being inspected."""
    row = Row(requirement, label, required, "pending", list(files))
    for v in files:
        row.marks += list(v.classification_marks or [])
    if item is None or set(item.get("versions") or []) != {v.id for v in files}:
        return row
    row.state = str(item.get("status") or "pending")
    if row.state not in ("met", "missing", "invalid", "attention", "pending", "optional"):
        row.state = "attention"  # a verdict this page has no word for: a person looks
    row.marks = []  # the report's `classified` reason says it, with the page
    for r in item.get("reasons") or []:
        code = str(r.get("code") or "")
        if code == "pending":
            continue
        text = str(r.get(lang) or r.get("zh-CN") or r.get("en") or "")
        row.reasons.append(Reason(text, ADVICE.get(code, "")))
    return row


def _row(requirement: str, label: str, required: bool, files: Sequence[DocumentVersion],
         reported_missing: set[str], lang: str) -> Row:
    """A row from the files' own inspection, for a packet documents has sent no checklist of
    items for yet (announced before checklists carried them)."""
    row = Row(requirement, label, required, "met", list(files))
    states = [inspection_state(v) for v in files]
    for v, state in zip(files, states, strict=True):
        if state == FAILED:
            row.reasons.append(Reason(
                f"{v.filename}: {inspection_reason(v, lang)}".rstrip(": "),
                ADVICE["unreadable"]))
        if state == MARKED:
            row.marks += list(v.classification_marks or [])
    if not files:
        row.state = "missing" if (required or requirement in reported_missing) else "optional"
    elif MARKED in states or FAILED in states:
        row.state = "invalid"
    elif PENDING in states:
        row.state = "pending"
    elif requirement in reported_missing:
        row.state = "missing"
    return row


def api_view(app: Application, catalogue: Catalogue | None) -> dict[str, Any]:
    """The checklist for the API: the page's rows, with titles and reasons in both languages."""
    zh, en = build(app, "zh-CN", catalogue), build(app, "en", catalogue)
    rows = [{"requirement": a.requirement, "title": {"zh-CN": a.label, "en": b.label},
             "required": a.required, "state": a.state,
             "files": [{"version_id": v.id, "document_id": v.document_id,
                        "number": v.number, "filename": v.filename,
                        "inspection": inspection_state(v)} for v in a.files],
             "reasons": [{"zh-CN": ra.text, "en": rb.text}
                         for ra, rb in zip(a.reasons, b.reasons, strict=True)],
             "marks": list(a.marks)}
            for a, b in zip(zh.rows, en.rows, strict=True)]
    return {"application_id": app.id, "status": zh.status, "counts": zh.counts,
            "submission": zh.submission, "known": zh.known, "rows": rows}
