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


@dataclass
class Row:
    requirement: str
    label: str  # in the user's language (the catalogue's title, else the id)
    required: bool
    state: str  # met | missing | invalid | attention | pending | optional
    files: list[DocumentVersion] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # already in the user's language
    marks: list[str] = field(default_factory=list)


@dataclass
class Checklist:
    rows: list[Row]
    status: str | None  # the last report's: complete | incomplete | attention
    counts: dict[str, int]
    submission: int | None
    pending: bool  # some file is still being inspected: the page keeps refreshing
    known: bool = True  # False: the cycle's requirement list has not arrived yet


def build(app: Application, lang: str, catalogue: Catalogue | None) -> Checklist:
    """One row per requirement: the report's verdict where it has one, else the files' own.

    Without the cycle's list (`catalogue` None) the rows are the requirements the files and
    the report name, by id."""
    report: dict[str, Any] = app.completeness_report or {}
    reported_missing = set(report.get("missing") or [])
    current: dict[str, list[DocumentVersion]] = {}
    for document in app.documents:
        if document.versions:
            current.setdefault(document.requirement, []).append(document.versions[-1])
    known = requirements_for(catalogue, app.kind)
    rows = [_row(r.id, r.label(lang), r.required, current.get(r.id, []), reported_missing,
                 lang) for r in known]
    ids = {r.id for r in known}
    rows += [_row(req, req, False, files, reported_missing, lang)
             for req, files in current.items() if req not in ids]
    if catalogue is None:  # the report still names what is missing, by id
        ids |= set(current)
        rows += [_row(req, req, True, [], reported_missing, lang)
                 for req in sorted(reported_missing) if req not in ids]
    return Checklist(rows=rows, status=app.completeness, counts=dict(report.get("counts") or {}),
                     submission=report.get("submission"),
                     pending=any(r.state == "pending" for r in rows),
                     known=catalogue is not None)


def _row(requirement: str, label: str, required: bool, files: Sequence[DocumentVersion],
         reported_missing: set[str], lang: str) -> Row:
    row = Row(requirement, label, required, "met", list(files))
    states = [inspection_state(v) for v in files]
    for v, state in zip(files, states, strict=True):
        if state == FAILED:
            row.reasons.append(f"{v.filename}: {inspection_reason(v, lang)}".rstrip(": "))
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
