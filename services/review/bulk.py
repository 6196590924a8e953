"""All-or-nothing batches: every item of a bulk request is checked by the single-item action's
own check before anything is stored; one failure refuses the whole batch with a problem per
failing item. The domain functions that store (`scoresheet.submit_many`,
`outcomes.record_opinions`) call `check_all` and store only when it returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared.errors import Concealed, DossierError

# Items per request. An expert's stage rarely holds more than a few dozen dossiers (the load
# cap of a panel), an applicant needs five to seven department opinions: 200 leaves room for
# the largest panel while keeping one request's transaction short.
BULK_LIMIT = 200

Item = TypeVar("Item")
Checked = TypeVar("Checked")


@dataclass(frozen=True)
class ItemProblem:
    """Why one item of a batch was refused: where it is, whose it is, and the single action's
    own code and messages."""

    index: int  # 0-based position in the request's list
    application_id: str | None
    applicant_name: str | None  # None where the caller may not learn the name
    code: str
    zh: str
    en: str
    errors: dict[str, Any] | None = None
    labels: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "application_id": self.application_id,
                               "applicant_name": self.applicant_name, "code": self.code,
                               "messages": {"zh-CN": self.zh, "en": self.en}, **self.labels}
        if self.errors:
            out["errors"] = self.errors
        return out


class BulkRejected(DossierError):
    code = "bulk.rejected"
    status = 422
    zh = "批量提交的 {total} 项中有 {failed} 项未通过校验，全部未保存。请按各项说明修改后重新提交。"
    en = ("{failed} of {total} items failed their checks; nothing was stored. Correct them and "
          "send the whole batch again.")

    def __init__(self, list_name: str, problems: list[ItemProblem], total: int,
                 concealed: list[str]) -> None:
        super().__init__(errors={list_name: [p.as_dict() for p in problems]},
                         failed=len(problems), total=total)
        self.problems = problems
        # Items naming what the caller may not see: the view writes them to the audit log as
        # denied accesses, exactly as the single route's 404 would be.
        self.concealed = concealed


@dataclass(frozen=True)
class Describe:
    """How a batch names its items in a problem: the application, the applicant's name (only
    where the caller may see it) and the key that must not repeat within the batch."""

    application_id: Callable[[Any], str | None]
    applicant_name: Callable[[Any], str | None]
    key: Callable[[Any], str]
    labels: Callable[[Any], dict[str, Any]] = lambda _item: {}


def duplicate(index: int, first: int) -> DossierError:
    return DossierError("bulk.duplicate", status=422,
                        zh="与第 {first} 项重复：同一批次中每项只能出现一次。",
                        en="Repeats item {first_index}: each may appear once per batch.",
                        first=first + 1, first_index=first)


def check_all(list_name: str, items: Sequence[Item], check: Callable[[Item], Checked],
              describe: Describe) -> list[Checked]:
    """Each item's check result, in order; or BulkRejected naming every failing item."""
    results: list[Checked] = []
    problems: list[ItemProblem] = []
    concealed: list[str] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        key = describe.key(item)
        try:
            if key in seen:
                raise duplicate(index, seen[key])
            seen[key] = index
            results.append(check(item))
        except DossierError as exc:
            if isinstance(exc, Concealed):
                concealed.append(exc.target)
            problems.append(ItemProblem(
                index=index, application_id=describe.application_id(item),
                applicant_name=describe.applicant_name(item), code=exc.code, zh=exc.zh,
                en=exc.en, errors=exc.errors, labels=describe.labels(item)))
    if problems:
        raise BulkRejected(list_name, problems, len(items), concealed)
    return results
