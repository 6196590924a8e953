"""Each conflict ground is detected from the expert's record and the applicant's profile."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from services.review.conflicts import (
    DATA,
    ExpertFacts,
    detect,
    ground_for_relation,
    normalise_name,
)
from services.review.programme import Programme

TODAY = date(2026, 6, 1)
PROFILE = {"applicant_id": "p1", "kind": "organisation", "name": "忻州示例机械有限公司",
           "credit_code": "91140900MA0K000001", "county": "140902", "industry": "机械制造",
           "legal_representative": "王建国", "related": []}


def grounds(expert: ExpertFacts, profile: dict | None = None) -> set[str]:
    return {f.ground for f in detect(expert, profile or PROFILE, TODAY)}


def test_an_expert_of_the_same_organisation_is_conflicted_by_credit_code() -> None:
    expert = ExpertFacts("李四", "完全不同的名字", "91140900MA0K000001")
    assert grounds(expert) == {"same-organisation"}


def test_an_expert_of_the_same_organisation_is_conflicted_by_name_despite_spacing() -> None:
    assert grounds(ExpertFacts("李四", "忻州 示例机械（有限公司）")) == {"same-organisation"}


def test_former_employment_counts_within_the_window_and_not_after() -> None:
    recent = ExpertFacts("李四", "山西大学", past_affiliations=[
        {"organisation": "忻州示例机械有限公司", "ended_on": "2024-01-31"}])
    old = ExpertFacts("李四", "山西大学", past_affiliations=[
        {"credit_code": "91140900MA0K000001", "organisation": "x", "ended_on": "2022-05-31"}])
    ongoing = ExpertFacts("李四", "山西大学", past_affiliations=[
        {"credit_code": "91140900MA0K000001", "organisation": "x", "ended_on": None}])
    assert grounds(recent) == {"former-employment"}
    assert grounds(old) == set()
    assert grounds(ongoing) == {"former-employment"}


def test_a_relation_the_expert_declared_is_detected_with_its_ground() -> None:
    relative = ExpertFacts("李四", "山西大学", relations=[{"name": "王建国", "relation": "配偶"}])
    adviser = ExpertFacts("李四", "山西大学", relations=[
        {"name": "示例机械", "credit_code": "91140900MA0K000001", "relation": "consultant"}])
    owner = ExpertFacts("李四", "山西大学", relations=[
        {"name": "忻州示例机械有限公司", "relation": "shareholder"}])
    competitor = ExpertFacts("李四", "山西大学", relations=[
        {"name": "忻州示例机械有限公司", "relation": "competitor"}])
    assert grounds(relative) == {"relative"}
    assert grounds(adviser) == {"adviser"}
    assert grounds(owner) == {"ownership"}
    assert grounds(competitor) == {"competitor"}


def test_a_relation_the_applicant_declared_is_detected() -> None:
    profile = {**PROFILE, "related": [
        {"name": "太原咨询有限公司", "credit_code": "91140100CONSULT001", "relation": "顾问"},
        {"name": "李四", "credit_code": None, "relation": "dispute"}]}
    assert grounds(ExpertFacts("赵六", "太原咨询有限公司"), profile) == {"adviser"}
    assert grounds(ExpertFacts("李四", "山西大学"), profile) == {"dispute"}


def test_an_individual_applicant_is_matched_through_the_employer() -> None:
    profile = {"kind": "individual", "name": "周七", "employer": "忻州钢铁集团有限公司",
               "employer_credit_code": "91140900STEEL0001", "related": []}
    assert grounds(ExpertFacts("李四", "忻州钢铁集团", "91140900STEEL0001"), profile) == \
        {"same-organisation"}


def test_an_unrelated_expert_has_no_conflict() -> None:
    assert grounds(ExpertFacts("李四", "山西大学", "12140000UNIV00001", relations=[
        {"name": "别的公司", "relation": "consultant"}])) == set()


def test_relation_words_map_to_grounds_and_unknown_words_to_other() -> None:
    assert ground_for_relation("Spouse") == "relative"
    assert ground_for_relation("前雇员") == "former-employment"
    assert ground_for_relation("同学") == "other"
    assert normalise_name("ＡＢＣ Co., Ltd.") == normalise_name("abc")


def test_the_operators_grounds_file_sets_windows_and_relation_words(tmp_path: Path) -> None:
    shipped = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    shipped["grounds"]["former-employment"]["window_years"] = 1
    shipped["relations"]["relative"].append("表亲")
    (tmp_path / "grounds.yaml").write_text(yaml.safe_dump(shipped, allow_unicode=True),
                                           encoding="utf-8")
    rules = Programme(tmp_path).grounds()
    left = ExpertFacts("李四", "山西大学", past_affiliations=[
        {"organisation": "忻州示例机械有限公司", "ended_on": "2024-12-31"}], relations=[
        {"name": "王建国", "relation": "表亲"}])
    assert {f.ground for f in detect(left, PROFILE, TODAY)} == {"former-employment", "other"}
    assert {f.ground for f in detect(left, PROFILE, TODAY, rules)} == {"relative"}


def test_a_reason_reads_in_chinese_whatever_language_the_relation_was_typed_in() -> None:
    """Issue 15: a relation typed in English showed as "（relative）" inside the reason."""
    expert = ExpertFacts("李四", "山西大学", relations=[{"name": "王建国", "relation": "relative"}])
    [finding] = detect(expert, PROFILE, TODAY)
    assert finding.reason == "专家申报的关系（近亲属关系）：姓名相同：王建国"
    declared = ExpertFacts("李四", "山西大学", relations=[{"name": "王建国", "relation": "配偶"}])
    assert "（配偶）" in detect(declared, PROFILE, TODAY)[0].reason
