"""The applicant's requirement checklist, from what intake knows: its documents, their
inspection verdicts (`document.inspected`) and the completeness report (`packet.checked`).

The requirement catalogue belongs to the documents service; intake keeps only the ids and
labels of the requirements an applicant uploads for (the labels are msgids of intake's page
catalogue), so the upload form can offer them and the checklist can name them. A requirement id
intake does not know is shown as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.intake.models import Application, DocumentVersion


def N_(msgid: str) -> str:
    return msgid


@dataclass(frozen=True)
class Requirement:
    id: str
    label: str  # English msgid
    required: bool = True


# Mirrors the documents service's catalogue (quality-award-2025), applicant-provided items.
REQUIREMENTS: dict[str, tuple[Requirement, ...]] = {
    "organisation": (
        Requirement("application-form", N_("Application form")),
        Requirement("overview", N_("Organisation overview")),
        Requirement("self-evaluation", N_("Self-evaluation report")),
        Requirement("self-evaluation-table", N_("Self-evaluation score table"), False),
        Requirement("business-licence", N_("Business licence or legal-person certificate")),
        Requirement("financials", N_("Audited accounts of the last three years")),
        Requirement("evidence", N_("Supporting evidence")),
        Requirement("no-accident", N_("No major accident in three years (proof or statement)")),
        Requirement("compliance", N_("Compliance certificates (environment, safety, tax)")),
        Requirement("publicity-proof", N_("Proof of internal publicity")),
        Requirement("commitment", N_("Authenticity pledge (with the no-state-secret statement)")),
        Requirement("trade-secret-list", N_("Trade-secret declaration"), False),
    ),
    "individual": (
        Requirement("application-form", N_("Application form (signed)")),
        Requirement("personal-statement", N_("Personal statement of quality work")),
        Requirement("evidence", N_("Achievements and evidence")),
        Requirement("employer-opinion", N_("Employer's opinion (sealed)")),
        Requirement("publicity-proof", N_("Proof of internal publicity")),
        Requirement("commitment", N_("Authenticity pledge")),
    ),
}

# Inspection states of one version, shown per file.
PENDING, PASSED, FAILED, MARKED = "pending", "passed", "failed", "marked"


def requirements_for(kind: str) -> tuple[Requirement, ...]:
    return REQUIREMENTS.get(kind, ())


def label_of(kind: str, requirement: str) -> str:
    for r in requirements_for(kind):
        if r.id == requirement:
            return r.label
    return requirement


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
    label: str
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


def build(app: Application, lang: str) -> Checklist:
    """One row per requirement: the report's verdict where it has one, else the files' own."""
    report: dict[str, Any] = app.completeness_report or {}
    reported_missing = set(report.get("missing") or [])
    current: dict[str, list[DocumentVersion]] = {}
    for document in app.documents:
        if document.versions:
            current.setdefault(document.requirement, []).append(document.versions[-1])
    known = requirements_for(app.kind)
    rows = [_row(r.id, r.label, r.required, current.get(r.id, []), reported_missing, lang)
            for r in known]
    ids = {r.id for r in known}
    rows += [_row(req, req, False, files, reported_missing, lang)
             for req, files in current.items() if req not in ids]
    return Checklist(rows=rows, status=app.completeness, counts=dict(report.get("counts") or {}),
                     submission=report.get("submission"),
                     pending=any(r.state == "pending" for r in rows))


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
