"""Applications over HTTP: the applicant's details, eligibility at creation and submission, bans
fed by review's events through the real broker."""

from __future__ import annotations

from datetime import date, timedelta

from samples import blank_pdf

from dossier.localstack import AppStack

from .flows import Intake, deliver, new_id_number, new_uscc, unique


def years_ago(years: int, days: int = 0, on: date | None = None) -> str:
    """`years` before `on` (the cycle's application deadline: operating years count to it)."""
    today = on or date.today()
    try:
        then = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        then = today.replace(year=today.year - years, day=28)
    return (then + timedelta(days=days)).isoformat()


def deadline(intake: Intake, cycle: str) -> date:
    r = intake.call("GET", f"/cycles/{cycle}", intake.operator)
    assert r.status_code == 200, r.text
    return date.fromisoformat(r.json()["closes_on"])


def problem(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert body["messages"]["zh-CN"] and body["messages"]["en"]
    return body


def ready_to_submit(intake: Intake, me: dict[str, str], app_id: str) -> None:
    r = intake.upload(me, app_id, "公示证明.pdf", blank_pdf(1), requirement="publicity-proof")
    assert r.status_code == 201, r.text
    r = intake.publicity(me, app_id, r.json()["document_id"])
    assert r.status_code == 200, r.text


def test_an_organisation_founded_exactly_three_years_ago_may_apply(
        intake: Intake, cycle: str) -> None:
    r = intake.create(intake.as_("applicant", unique("a")), cycle,
                      founded_on=years_ago(3, on=deadline(intake, cycle)))
    assert r.status_code == 201, r.text


def test_an_organisation_one_day_short_of_three_years_is_refused_at_creation(
        intake: Intake, cycle: str) -> None:
    r = intake.create(intake.as_("applicant", unique("a")), cycle,
                      founded_on=years_ago(3, days=1, on=deadline(intake, cycle)))
    body = problem(r, 422, "eligibility.operating_years")
    # The verdict names the date it was counted to.
    assert f"按申报截止日 {deadline(intake, cycle).isoformat()} 计算" in body["messages"]["zh-CN"]
    assert body["errors"]["eligibility"][0]["code"] == "eligibility.operating_years"


def test_a_city_government_waiver_recorded_by_the_operator_admits_a_young_organisation(
        intake: Intake, cycle: str) -> None:
    code = new_uscc()
    me = intake.as_("applicant", unique("a"))
    problem(intake.create(me, cycle, credit_code=code, founded_on=years_ago(1)), 422,
            "eligibility.operating_years")
    r = intake.call("PUT", f"/cycles/{cycle}/waivers/{code}", intake.operator,
                    json={"reference": "忻政函〔2026〕12号"})
    assert r.status_code == 200, r.text
    r = intake.create(me, cycle, credit_code=code, founded_on=years_ago(1))
    assert r.status_code == 201, r.text
    assert r.json()["waiver_reference"] == "忻政函〔2026〕12号"
    # The applicant cannot record a waiver for itself.
    r = intake.call("PUT", f"/cycles/{cycle}/waivers/{new_uscc()}", me,
                    json={"reference": "自己批的"})
    problem(r, 403, "auth.forbidden")


def test_an_individual_needs_three_years_in_quality_work(intake: Intake, cycle: str) -> None:
    me = intake.as_("applicant", unique("p"))
    assert intake.create(me, cycle, kind="individual", quality_years=3).status_code == 201
    problem(intake.create(intake.as_("applicant", unique("p")), cycle, kind="individual",
                          quality_years=2), 422, "eligibility.quality_years")


def test_refusing_an_attestation_is_refused_at_once(intake: Intake, cycle: str) -> None:
    me = intake.as_("applicant", unique("a"))
    problem(intake.create(me, cycle, attest_no_violation=False), 422,
            "eligibility.violation_attestation")
    problem(intake.create(me, cycle, attest_no_accident=False), 422,
            "eligibility.accident_attestation")


def test_missing_attestations_are_allowed_in_a_draft_but_stop_the_submission(
        intake: Intake, cycle: str) -> None:
    me = intake.as_("applicant", unique("a"))
    r = intake.create(me, cycle, attest_no_violation=None, attest_no_accident=None)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    ready_to_submit(intake, me, app_id)
    problem(intake.submit(me, app_id), 422, "eligibility.violation_attestation")
    r = intake.submit(me, app_id, attest_no_violation=True, attest_no_accident=True)
    assert r.status_code == 200, r.text


def test_bad_credit_codes_and_identity_numbers_are_refused_with_their_own_codes(
        intake: Intake, cycle: str) -> None:
    me = intake.as_("applicant", unique("a"))
    good = new_uscc()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    problem(intake.create(me, cycle, credit_code=bad), 422, "applicant.credit_code_invalid")
    number = new_id_number()
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    problem(intake.create(me, cycle, kind="individual", id_number=wrong), 422,
            "applicant.id_number_invalid")
    problem(intake.create(me, cycle, county="999999"), 422, "applicant.county_unknown")


def test_the_identity_number_is_stored_encrypted_and_shown_masked(
        intake: Intake, stack: AppStack, cycle: str) -> None:
    me = intake.as_("applicant", unique("p"))
    number = new_id_number()
    r = intake.create(me, cycle, kind="individual", id_number=number)
    assert r.status_code == 201, r.text
    shown = intake.detail(me, r.json()["id"])["id_number"]
    assert shown == number[:3] + "*" * 11 + number[-4:]
    [found] = stack.query("intake", "SELECT * FROM applications WHERE id = :id",
                          id=r.json()["id"])
    row = found._mapping
    assert number not in " ".join(str(v) for v in row.values())
    assert row["id_number_cipher"].startswith("v1.")


def test_one_organisation_applies_once_per_cycle(intake: Intake, cycle: str) -> None:
    code = new_uscc()
    assert intake.create(intake.as_("applicant", unique("a")), cycle,
                         credit_code=code).status_code == 201
    problem(intake.create(intake.as_("applicant", unique("a")), cycle, credit_code=code), 409,
            "application.duplicate")


def test_applications_open_only_in_a_known_open_cycle(intake: Intake) -> None:
    me = intake.as_("applicant", unique("a"))
    problem(intake.create(me, unique("none")[:20]), 422, "cycle.unknown")
    planned = intake.open_cycle(status="planned")["id"]
    problem(intake.create(me, planned), 409, "cycle.not_open")


def test_submission_outside_the_window_is_refused(intake: Intake) -> None:
    the_cycle = intake.open_cycle()
    me = intake.as_("applicant", unique("a"))
    app_id = intake.create(me, the_cycle["id"]).json()["id"]
    ready_to_submit(intake, me, app_id)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    r = intake.call("PUT", f"/cycles/{the_cycle['id']}", intake.operator,
                    json={"opens_on": (date.today() - timedelta(days=40)).isoformat(),
                          "closes_on": yesterday})
    assert r.status_code == 200, r.text
    problem(intake.submit(me, app_id), 409, "cycle.window_closed")


def _programme_cycles(intake: Intake, programme: str, years: list[int]) -> dict[int, str]:
    return {y: intake.open_cycle(unique(f"p{y}")[:20], year=y, programme=programme)["id"]
            for y in years}


def test_a_winner_is_barred_for_two_cycles_a_nominee_is_not(
        intake: Intake, stack: AppStack) -> None:
    programme = unique("prog")
    cycles = _programme_cycles(intake, programme, [2019, 2022, 2025])
    winner, nominee = new_uscc(), new_uscc()
    deliver(stack, "award.decided", {
        "cycle": cycles[2019], "year": 2019, "audience": [], "results": [
            {"application_id": unique("old"), "owner": "w", "kind": "organisation",
             "credit_code": winner, "id_index": None, "tier": "award", "amount": 200000},
            {"application_id": unique("old"), "owner": "n", "kind": "organisation",
             "credit_code": nominee, "id_index": None, "tier": "nomination", "amount": 0}]})

    def barred_in(cycle: str) -> bool:
        r = intake.create(intake.as_("applicant", unique("a")), cycle, credit_code=winner)
        if r.status_code == 201:
            return False
        problem(r, 422, "eligibility.winner_barred")
        return True

    assert barred_in(cycles[2022])
    assert intake.create(intake.as_("applicant", unique("a")), cycles[2022],
                         credit_code=nominee).status_code == 201
    # The third cycle after the award is free again once it exists.
    later = intake.open_cycle(unique("p2028")[:20], year=2028, programme=programme)["id"]
    assert not barred_in(later)


def test_a_revoked_individual_is_barred_for_three_cycles_matched_by_identity(
        intake: Intake, stack: AppStack) -> None:
    from services.intake.applications import Identities
    from shared.config import load_settings

    programme = unique("prog")
    cycles = _programme_cycles(intake, programme, [2016, 2019])
    number = new_id_number()
    settings = load_settings(stack.env())
    index = Identities(settings.field_key()).index.blind_index(number)
    app_id = unique("old")
    deliver(stack, "award.decided", {"cycle": cycles[2016], "year": 2016, "results": [
        {"application_id": app_id, "owner": "x", "kind": "individual", "credit_code": None,
         "id_index": index, "tier": "award", "amount": 30000}]})
    deliver(stack, "award.revoked", {"cycle": cycles[2016], "application_id": app_id,
                                     "owner": "x", "credit_code": None, "id_index": index,
                                     "year": 2017, "ground": "弄虚作假"})

    def code_in(cycle: str) -> str | None:
        r = intake.create(intake.as_("applicant", unique("p")), cycle, kind="individual",
                          id_number=number)
        return "ok" if r.status_code == 201 else r.json()["code"]

    # Counted from 2017: the cycles of 2019, 2025 and 2028 are barred, 2031 is free.
    assert code_in(cycles[2019]) == "eligibility.revoked_barred"
    third = intake.open_cycle(unique("p2025")[:20], year=2025, programme=programme)["id"]
    assert code_in(third) == "eligibility.revoked_barred"
    fourth = intake.open_cycle(unique("p2028")[:20], year=2028, programme=programme)["id"]
    fifth = intake.open_cycle(unique("p2031")[:20], year=2031, programme=programme)["id"]
    assert code_in(fourth) == "eligibility.revoked_barred"
    assert code_in(fifth) == "ok"
