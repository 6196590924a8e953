"""The watermark's time is Beijing time, as every page shows it (issue 15, point 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from services.review.dossiers import stamp_for


def test_the_watermark_says_beijing_time() -> None:
    reader = SimpleNamespace(name="王专家", subject="expert-42")
    text = stamp_for(reader, at=datetime(2026, 11, 25, 18, 30, tzinfo=UTC))  # type: ignore[arg-type]
    assert "2026-11-26 02:30 北京时间" in text and "UTC" not in text
