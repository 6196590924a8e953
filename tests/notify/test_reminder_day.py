"""The reminder run's day is the office's today from the one clock (Beijing by default), so at
00:30 Beijing time (16:30 UTC the day before) the day's reminders are those of the new day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from services.notify import tasks
from shared import clock


def _ctx(notify_today: str | None = None) -> Any:
    return SimpleNamespace(settings=SimpleNamespace(notify_today=notify_today))


def test_the_reminder_day_is_the_clocks_day_in_beijing() -> None:
    with clock.frozen(datetime(2027, 5, 30, 16, 30, tzinfo=UTC)):
        assert tasks.today(_ctx()) == date(2027, 5, 31)
        assert tasks.today(_ctx(), "2027-06-02") == date(2027, 6, 2)
        assert tasks.today(_ctx("2027-06-03")) == date(2027, 6, 3)
