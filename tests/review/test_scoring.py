"""Rubrics, validation against item maxima, trimmed means, caps and vacancy floors."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.review.programme import Programme
from services.review.scoring import Candidate, ScoreInvalid, rank, stage_score

FLOORS = {"award": 0.60, "nomination": 0.55}


def test_the_organisation_rubric_totals_1000_points_over_seven_categories() -> None:
    rubric = Programme().rubric("organisation")
    assert rubric.total == 1000
    assert len(rubric.categories) == 7
    assert Programme().rubric("individual").total > 0


def test_a_score_above_an_item_maximum_or_missing_an_item_is_refused() -> None:
    rubric = Programme().rubric("individual")
    full = dict.fromkeys(rubric.items, 0)
    assert rubric.validate({**full, "qualities.ethics": 100})["qualities.ethics"] == 100
    with pytest.raises(ScoreInvalid, match=r"qualities.ethics=100.5"):
        rubric.validate({**full, "qualities.ethics": 100.5})
    with pytest.raises(ScoreInvalid, match="missing"):
        rubric.validate({"qualities.ethics": 1})
    with pytest.raises(ScoreInvalid, match="unknown"):
        rubric.validate({**full, "bonus": 1})
    with pytest.raises(ScoreInvalid):
        rubric.validate({**full, "qualities.ethics": -1})


def test_four_experts_give_the_plain_mean_and_five_the_trimmed_mean() -> None:
    assert stage_score([10, 20, 30, 100]) == 40
    assert stage_score([10, 20, 30, 40, 100]) == 30  # 10 and 100 dropped
    assert stage_score([50, 50, 50, 50, 50]) == 50  # equal extremes: one of each dropped
    assert stage_score([]) is None


def test_at_most_three_awards_and_ten_nominations_are_placed() -> None:
    candidates = [Candidate(f"a{i:02d}", 900 - i, 1000, FLOORS) for i in range(20)]
    placed = rank(candidates, 3, 10)
    assert [p.tier for p in placed].count("award") == 3
    assert [p.tier for p in placed].count("nomination") == 10
    assert [p.application_id for p in placed if p.tier == "award"] == ["a00", "a01", "a02"]
    assert placed[13].tier is None and placed[13].note == "caps reached"


def test_a_place_stays_vacant_below_the_floor_and_exactly_at_it_is_filled() -> None:
    candidates = [Candidate("exact", 600, 1000, FLOORS), Candidate("nominee", 599.9, 1000, FLOORS),
                  Candidate("low", 549.9, 1000, FLOORS)]
    placed = {p.application_id: p for p in rank(candidates, 3, 10)}
    assert placed["exact"].tier == "award"
    assert placed["nominee"].tier == "nomination"  # below the award floor: award stays vacant
    assert placed["low"].tier is None and placed["low"].note == "below the floor"


def test_an_equal_score_across_a_cap_boundary_is_flagged() -> None:
    candidates = [Candidate("a", 800, 1000, FLOORS), Candidate("b", 800, 1000, FLOORS)]
    placed = rank(candidates, 1, 10)
    assert [p.tier for p in placed] == ["award", "nomination"]
    assert all(p.note == "tie at a tier boundary" for p in placed)


def test_an_operator_folder_overrides_data_for_every_cycle_or_for_one(tmp_path: Path) -> None:
    (tmp_path / "c2028" / "rubrics").mkdir(parents=True)
    (tmp_path / "c2028" / "rubrics" / "individual.yaml").write_text(
        "id: individual-2028\nfloors: {award: 0.7, nomination: 0.6}\ncategories:\n"
        "  - id: all\n    items:\n      - {id: all.overall, max: 100}\n", encoding="utf-8")
    (tmp_path / "opinions.yaml").write_text(
        "required: {public: [police], enterprise: [police, taxation]}\n", encoding="utf-8")
    programme = Programme(tmp_path)
    assert programme.rubric("individual", "c2028").total == 100
    assert programme.rubric("individual", "c2028").floors["award"] == 0.7
    assert programme.rubric("individual", "c2025").id == "individual-default"
    assert programme.opinions("c2025")["required"]["enterprise"] == ["police", "taxation"]
    assert programme.awards("c2028")["amounts"]["award"]["organisation"] == 200000
    assert Programme().opinions()["required"]["public"] == ["police", "discipline",
                                                            "organisation"]
