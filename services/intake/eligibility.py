"""Who may apply (measures Art. 9–11 and 26): pure rules, each failure with its own code.

Checked when an application is created, with what is known by then, and again in full at
submission. Attestations not yet given are no failure at creation (the applicant gives them on
the form later) but are one at submission; an attestation explicitly refused fails at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.errors import DossierError

MIN_OPERATING_YEARS = 3
MIN_QUALITY_YEARS = 3
WINNER_BARRED_CYCLES = 2  # Art. 11: not in the next two cycles
REVOKED_BARRED_CYCLES = 3  # Art. 26: three cycles counted from the year of revocation


@dataclass(frozen=True)
class Failure:
    code: str
    zh: str
    en: str


FAILURES: dict[str, Failure] = {f.code: f for f in (
    Failure("eligibility.operating_years",
            "组织依法设立并正常运营须满 3 年（成立于 {founded}，"
            "按申报截止日 {on} 计算未满 3 年）；如经市政府同意放宽，请由受理机构登记。",
            "An organisation must have operated for at least 3 years (founded {founded}; "
            "counted to the application deadline {on}, under 3 years) unless the operator "
            "records a city-government waiver."),
    Failure("eligibility.founding_date_missing", "请填写组织成立日期。",
            "The organisation's founding date is required."),
    Failure("eligibility.quality_years",
            "个人从事质量相关工作须满 3 年（申报为 {years} 年）。",
            "An individual needs at least 3 years in quality work (declared: {years})."),
    Failure("eligibility.quality_years_missing", "请填写从事质量工作的年限。",
            "The years in quality work are required."),
    Failure("eligibility.violation_attestation",
            "须承诺无违法、违规、违纪行为。",
            "The applicant must attest to no violations of law, regulations or discipline."),
    Failure("eligibility.accident_attestation",
            "须承诺近 3 年未发生重大质量、安全、环境事故。",
            "The applicant must attest to no major quality, safety or environmental accident "
            "in the last 3 years."),
    Failure("eligibility.winner_barred",
            "获奖者在其后两届内不得再次申报（{year} 年获奖）：{record}。",
            "A winner may not apply in the next two cycles (award of {year}): {record_en}."),
    Failure("eligibility.revoked_barred",
            "奖项被撤销者自撤销年度起三届内不得申报（{year} 年撤销）：{record}。",
            "A holder whose award was revoked may not apply for three cycles counted from the "
            "revocation year ({year}): {record_en}."),
)}


def described(failures: Sequence[tuple[str, dict[str, object]]]) -> list[dict[str, str]]:
    """Each failure with its words in both languages."""
    return [{"code": c, "zh-CN": FAILURES[c].zh.format(**p), "en": FAILURES[c].en.format(**p)}
            for c, p in failures]


class NotEligible(DossierError):
    status = 422

    def __init__(self, failures: Sequence[tuple[str, dict[str, Any]]]) -> None:
        code, params = failures[0]
        f = FAILURES[code]
        super().__init__(
            code, zh=f.zh, en=f.en,
            errors={"eligibility": described(failures)},
            **params)


@dataclass(frozen=True)
class Candidate:
    kind: str  # organisation | individual
    founded_on: date | None = None
    quality_years: int | None = None
    attest_no_violation: bool | None = None
    attest_no_accident: bool | None = None
    waiver: bool = False  # the city government relaxed the operating years (Art. 9 (1))


@dataclass(frozen=True)
class PastResult:
    """One earlier outcome of the same applicant in the same programme."""

    year: int  # the cycle's year
    tier: str  # award | nomination
    revoked_year: int | None = None
    # The record behind a ban, cited in its message (该单位曾获第二届…（2023 年，历史记录导入…）).
    record: str = ""
    record_en: str = ""


@dataclass(frozen=True)
class Context:
    on: date  # the day the rule is counted to: the cycle's application deadline
    cycle_year: int
    programme_years: Sequence[int] = field(default_factory=tuple)  # all cycles' years
    history: Sequence[PastResult] = field(default_factory=tuple)


def years_completed(start: date, on: date) -> int:
    """Whole years from `start` to `on`; a 29 February start completes on 28 February."""
    years = on.year - start.year
    if (on.month, on.day) < (start.month, start.day):
        years -= 1
    return years


def cycles_in(years: Iterable[int], first: int, last: int) -> int:
    return len({y for y in years if first <= y <= last})


def check(candidate: Candidate, ctx: Context, *, complete: bool) -> list[tuple[str, dict]]:
    """Every failure as (code, params); `complete` is True at submission."""
    failures: list[tuple[str, dict]] = []
    if candidate.kind == "organisation":
        if candidate.founded_on is None:
            if complete and not candidate.waiver:
                failures.append(("eligibility.founding_date_missing", {}))
        elif (not candidate.waiver
              and years_completed(candidate.founded_on, ctx.on) < MIN_OPERATING_YEARS):
            failures.append(("eligibility.operating_years",
                             {"founded": candidate.founded_on.isoformat(),
                              "on": ctx.on.isoformat()}))
    else:
        if candidate.quality_years is None:
            if complete:
                failures.append(("eligibility.quality_years_missing", {}))
        elif candidate.quality_years < MIN_QUALITY_YEARS:
            failures.append(("eligibility.quality_years", {"years": candidate.quality_years}))
    if candidate.attest_no_violation is False or (
            complete and candidate.attest_no_violation is not True):
        failures.append(("eligibility.violation_attestation", {}))
    if candidate.kind == "organisation" and (
            candidate.attest_no_accident is False
            or (complete and candidate.attest_no_accident is not True)):
        failures.append(("eligibility.accident_attestation", {}))
    failures.extend(_bans(ctx))
    return failures


def _bans(ctx: Context) -> list[tuple[str, dict]]:
    years = {*ctx.programme_years, ctx.cycle_year}
    found: list[tuple[str, dict]] = []
    for past in ctx.history:
        if past.revoked_year is not None:
            # Counted from the revocation year: that year's cycle (if any) is the first.
            if (past.revoked_year <= ctx.cycle_year
                    and cycles_in(years, past.revoked_year, ctx.cycle_year)
                    <= REVOKED_BARRED_CYCLES):
                found.append(("eligibility.revoked_barred", _cite(past, past.revoked_year)))
            continue  # a revoked award is no longer an award
        if past.tier != "award" or past.year > ctx.cycle_year:
            continue  # nominees may apply again
        if cycles_in(years, past.year + 1, ctx.cycle_year) <= WINNER_BARRED_CYCLES:
            found.append(("eligibility.winner_barred", _cite(past, past.year)))
    return found


def _cite(past: PastResult, year: int) -> dict[str, object]:
    return {"year": year, "record": past.record or f"{past.year} 年的评审结果",
            "record_en": past.record_en or f"the result of {past.year}"}


def ensure_eligible(candidate: Candidate, ctx: Context, *, complete: bool) -> None:
    failures = check(candidate, ctx, complete=complete)
    if failures:
        raise NotEligible(failures)
