"""Which departments' opinions an applicant needs depends on its sector (Art. 17)."""

from __future__ import annotations

import pytest

from services.review.models import Application
from services.review.outcomes import sector


def _app(kind: str, **profile: str) -> Application:
    return Application(id="a", cycle="c", kind=kind, owner="o", profile=profile)


@pytest.mark.parametrize(("kind", "profile", "expected"), [
    ("organisation", {"credit_code": "12140900MB0123456X"}, "public"),  # 事业单位
    ("organisation", {"credit_code": "11140900000000000A"}, "public"),  # 机关
    ("organisation", {"credit_code": "91140900MA0K7Q1X2B"}, "enterprise"),
    ("organisation", {"credit_code": "52140900MJ0000000X"}, "enterprise"),  # 民政: social org
    ("organisation", {}, "enterprise"),
    ("individual", {"employer_credit_code": "12140900MB0123456X"}, "public"),
    ("individual", {"employer_credit_code": "91140900MA0K7Q1X2B"}, "enterprise"),
    ("organisation", {"credit_code": "91140900MA0K7Q1X2B", "sector": "public"}, "public"),
    ("organisation", {"credit_code": "12140900MB0123456X", "sector": "enterprise"},
     "enterprise"),
])
def test_the_sector_comes_from_the_profile_or_else_the_credit_code(
        kind: str, profile: dict[str, str], expected: str) -> None:
    assert sector(_app(kind, **profile)) == expected
