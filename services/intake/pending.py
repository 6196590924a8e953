"""What the system is still working on for an application or a cycle, in words and codes.

API answers carry it as `pending` so that a client knows whether waiting (`?wait=`, see
`shared.longpoll`) will bring something: an empty list means nothing is under way on the
system's side; what is left is for people (the applicant, a recommender, the office) to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.intake import checklist
from services.intake.models import Application


@dataclass(frozen=True)
class Pending:
    code: str
    zh: str
    en: str
    requirement: str | None = None
    versions: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"code": self.code, "zh-CN": self.zh, "en": self.en}
        if self.requirement is not None:
            found["requirement"] = self.requirement
            found["versions"] = list(self.versions)
        return found


REQUIREMENTS = Pending(
    "requirements.pending",
    "材料服务尚在准备本批次的材料目录，目录到达后清单按目录列出。",
    "The documents service is still preparing this cycle's requirement list; the checklist "
    "follows it once it arrives.")


def of_application(app: Application, catalogue: checklist.Catalogue | None) -> list[Pending]:
    """The work under way for `app`: its requirement list, files being checked, the report on
    its latest submission."""
    found: list[Pending] = []
    if catalogue is None:
        found.append(REQUIREMENTS)
    zh = checklist.build(app, "zh-CN", catalogue)
    en = checklist.build(app, "en", catalogue)
    for row_zh, row_en in zip(zh.rows, en.rows, strict=True):
        if row_zh.state != "pending":
            continue
        # Named by the list's title; by the file names alone while the list has not arrived
        # (the requirement's id is a code, not words).
        named = catalogue is not None and catalogue.find(app.kind, row_zh.requirement)
        names_zh = "、".join(f"《{v.filename}》" for v in row_zh.files)
        names_en = ", ".join(v.filename for v in row_en.files)
        found.append(Pending(
            "inspection.running",
            f"正在检查“{row_zh.label}”的文件{names_zh}。" if named
            else f"正在检查文件{names_zh}。",
            f"Checking the files of \u201c{row_en.label}\u201d: {names_en}." if named
            else f"Checking the files {names_en}.",
            requirement=row_zh.requirement, versions=tuple(v.id for v in row_zh.files)))
    reported = int((app.completeness_report or {}).get("submission") or 0)
    if app.submission > reported and app.status not in ("draft", "returned"):
        found.append(Pending(
            "completeness.report",
            f"材料服务正在核对第{app.submission}次提交的材料，核对报告尚未送达。",
            f"The documents service is checking submission {app.submission}; its "
            "completeness report has not arrived yet."))
    return found
