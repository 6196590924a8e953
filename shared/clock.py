"""One clock for every date rule: today and now in the office's time zone (Asia/Shanghai by
default, setting `DOSSIER_TIMEZONE`), so a publicity window or a deadline means the same day in
every process, whatever zone the machine runs in. Tests freeze it with `frozen(...)`.

Processes set the zone once at start (`configure`, called by the service context); code asks
`today()` / `now()` here instead of `date.today()` or `datetime.now()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


class Clock:
    """The wall clock in one zone, or a fixed instant when frozen."""

    def __init__(self, zone: str = DEFAULT_ZONE, fixed: datetime | None = None) -> None:
        self.zone = ZoneInfo(zone)
        self.fixed = fixed

    def now(self) -> datetime:
        """An aware datetime in the configured zone."""
        moment = self.fixed if self.fixed is not None else datetime.now(UTC)
        return moment.astimezone(self.zone)

    def today(self) -> date:
        return self.now().date()


_clock = Clock()


def configure(zone: str | None) -> None:
    """Set the zone of this process's clock (from `Settings.timezone`); keeps a frozen time."""
    global _clock
    _clock = Clock(zone or DEFAULT_ZONE, _clock.fixed)


def current() -> Clock:
    return _clock


def now() -> datetime:
    return _clock.now()


def today() -> date:
    return _clock.today()


@contextmanager
def frozen(at: date | datetime) -> Iterator[Clock]:
    """Tests: the clock stands still at `at` (a date means noon of that day in the zone)."""
    global _clock
    before = _clock
    if isinstance(at, datetime):
        moment = at if at.tzinfo else at.replace(tzinfo=before.zone)
    else:
        moment = datetime.combine(at, time(12), tzinfo=before.zone)
    _clock = Clock(before.zone.key, moment)
    try:
        yield _clock
    finally:
        _clock = before
