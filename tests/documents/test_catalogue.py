"""The requirement catalogue: shipped data loads, operator files add or override, bad files
are refused when loaded, not half-applied."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.documents import catalogue


def test_the_shipped_catalogue_has_both_applicant_kinds_with_bilingual_titles() -> None:
    found = catalogue.get("quality-award-2025")
    assert set(found.kinds) == {"organisation", "individual"}
    for reqs in found.kinds.values():
        for req in reqs:
            assert req.title["zh-CN"] and req.title["en"]
            assert set(req.formats) <= catalogue.FORMATS
    sealed = {r.id for r in found.requirements("organisation") if r.sealed_scan}
    assert {"application-form", "commitment", "business-licence"} <= sealed


def test_an_operator_folder_adds_a_catalogue_version(tmp_path: Path) -> None:
    (tmp_path / "small.yaml").write_text(yaml.safe_dump({
        "version": "small-2028", "title": {"zh-CN": "简版", "en": "Short"},
        "kinds": {"individual": [{"id": "cv", "title": {"zh-CN": "简历", "en": "CV"},
                                  "formats": ["pdf"], "max_pages": 2}]}},
        allow_unicode=True), encoding="utf-8")
    found = catalogue.get("small-2028", str(tmp_path))
    assert [r.id for r in found.requirements("individual")] == ["cv"]
    assert found.requirements("individual")[0].max_pages == 2
    assert catalogue.get("quality-award-2025", str(tmp_path)).version == "quality-award-2025"


@pytest.mark.parametrize(("change", "message"), [
    ({"formats": ["exe"]}, "formats"),
    ({"title": {"zh-CN": "只有中文"}}, "title"),
    ({"max_pagez": 3}, "unknown keys"),
    # What YAML makes of `{zh-CN: 测量、分析与改进, en: Measurement, analysis and improvement}`.
    ({"title": yaml.safe_load("{zh-CN: 测量, en: Measurement, analysis and improvement}")},
     "quote a title"),
])
def test_a_malformed_requirement_is_refused_with_where_it_is(
        change: dict[str, object], message: str) -> None:
    item = {"id": "x", "title": {"zh-CN": "甲", "en": "A"}, **change}
    with pytest.raises(catalogue.BadCatalogue, match=message):
        catalogue.parse({"version": "v", "title": {"zh-CN": "目录", "en": "C"},
                         "kinds": {"organisation": [item]}}, "bad.yaml")


def test_an_unknown_version_is_a_404_error_in_both_languages() -> None:
    with pytest.raises(catalogue.UnknownCatalogue) as caught:
        catalogue.get("nope")
    assert caught.value.status == 404
    assert "nope" in caught.value.zh and "nope" in caught.value.en
