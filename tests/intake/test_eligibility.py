"""Eligibility rules (Art. 9–11, 26), each on both sides of its boundary."""

from __future__ import annotations

from datetime import date

import pytest

from services.intake.eligibility import (
    Candidate,
    Context,
    NotEligible,
    PastResult,
    check,
    ensure_eligible,
    years_completed,
)

ON = date(2028, 4, 10)
YEARS = (2025, 2028, 2031, 2034, 2037)  # one cycle every 3 years


def org(**kw: object) -> Candidate:
    base = {"kind": "organisation", "founded_on": date(2015, 1, 1), "attest_no_violation": True,
            "attest_no_accident": True}
    return Candidate(**{**base, **kw})  # type: ignore[arg-type]


def person(**kw: object) -> Candidate:
    base = {"kind": "individual", "quality_years": 10, "attest_no_violation": True}
    return Candidate(**{**base, **kw})  # type: ignore[arg-type]


def codes(candidate: Candidate, *, on: date = ON, year: int = 2028,
          history: tuple[PastResult, ...] = (), complete: bool = True) -> list[str]:
    ctx = Context(on=on, cycle_year=year, programme_years=YEARS, history=history)
    return [code for code, _ in check(candidate, ctx, complete=complete)]


def test_an_organisation_operating_exactly_three_years_is_eligible() -> None:
    assert codes(org(founded_on=date(2025, 4, 10))) == []


def test_an_organisation_one_day_short_of_three_years_is_not() -> None:
    assert codes(org(founded_on=date(2025, 4, 11))) == ["eligibility.operating_years"]


def test_a_city_government_waiver_admits_a_younger_organisation() -> None:
    assert codes(org(founded_on=date(2027, 1, 1), waiver=True)) == []


def test_a_leap_day_founding_completes_its_years_on_the_first_of_march() -> None:
    assert years_completed(date(2024, 2, 29), date(2027, 2, 28)) == 2
    assert years_completed(date(2024, 2, 29), date(2027, 3, 1)) == 3


def test_a_missing_founding_date_fails_only_at_submission() -> None:
    assert codes(org(founded_on=None), complete=False) == []
    assert codes(org(founded_on=None)) == ["eligibility.founding_date_missing"]


def test_an_individual_with_exactly_three_years_in_quality_work_is_eligible() -> None:
    assert codes(person(quality_years=3)) == []


def test_an_individual_with_two_years_in_quality_work_is_not() -> None:
    assert codes(person(quality_years=2)) == ["eligibility.quality_years"]


def test_missing_quality_years_fail_only_at_submission() -> None:
    assert codes(person(quality_years=None), complete=False) == []
    assert codes(person(quality_years=None)) == ["eligibility.quality_years_missing"]


@pytest.mark.parametrize("make", [org, person])
def test_the_no_violation_attestation_is_required(make: type[Candidate]) -> None:
    assert codes(make(attest_no_violation=True)) == []
    assert codes(make(attest_no_violation=False), complete=False) == [
        "eligibility.violation_attestation"]
    assert codes(make(attest_no_violation=None), complete=False) == []
    assert codes(make(attest_no_violation=None)) == ["eligibility.violation_attestation"]


def test_an_organisation_must_attest_no_major_accident_in_three_years() -> None:
    assert codes(org(attest_no_accident=True)) == []
    assert codes(org(attest_no_accident=False), complete=False) == [
        "eligibility.accident_attestation"]
    assert codes(org(attest_no_accident=None)) == ["eligibility.accident_attestation"]


def test_the_accident_attestation_is_not_asked_of_individuals() -> None:
    assert codes(person(attest_no_accident=None)) == []


def test_a_winner_is_barred_for_the_next_two_cycles_and_free_in_the_third() -> None:
    won = (PastResult(year=2025, tier="award"),)
    assert codes(org(), year=2028, history=won) == ["eligibility.winner_barred"]
    assert codes(org(), year=2031, history=won) == ["eligibility.winner_barred"]
    assert codes(org(), year=2034, history=won) == []


def test_a_nominee_may_apply_again_in_the_next_cycle() -> None:
    assert codes(org(), year=2028, history=(PastResult(year=2025, tier="nomination"),)) == []


def test_a_revoked_award_bars_three_cycles_counted_from_the_revocation_year() -> None:
    revoked = (PastResult(year=2025, tier="award", revoked_year=2026),)
    for year in (2028, 2031, 2034):
        assert codes(org(), year=year, history=revoked) == ["eligibility.revoked_barred"], year
    assert codes(org(), year=2037, history=revoked) == []


def test_a_revocation_in_a_cycle_year_counts_that_cycle_as_the_first() -> None:
    revoked = (PastResult(year=2025, tier="award", revoked_year=2028),)
    assert codes(org(), year=2034, history=revoked) == ["eligibility.revoked_barred"]
    assert codes(org(), year=2037, history=revoked) == []


def test_every_failure_is_reported_with_the_first_as_the_problem_code() -> None:
    ctx = Context(on=ON, cycle_year=2028, programme_years=YEARS)
    with pytest.raises(NotEligible) as caught:
        ensure_eligible(org(founded_on=date(2027, 1, 1), attest_no_accident=False), ctx,
                        complete=True)
    error = caught.value
    assert error.code == "eligibility.operating_years"
    assert error.status == 422
    assert "3 年" in error.zh and "3 years" in error.en
    assert [e["code"] for e in error.errors["eligibility"]] == [
        "eligibility.operating_years", "eligibility.accident_attestation"]
