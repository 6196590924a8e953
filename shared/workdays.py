"""Chinese working-day calendar (工作日历) for deadlines and publicity periods.

Statutory holidays and the adjusted working weekends (调休) that go with them are
decided by the State Council year by year, so no rule can compute them: they are
data.  The package ships a data file generated from the ``chinesecalendar``
package; operators extend it with their own file (``DOSSIER_CALENDAR_FILE``)
when a new year is published.

Any computation that touches a date in a year the data does not cover raises
:class:`CalendarYearUnknown` instead of falling back to plain Mon–Fri, because a
publicity period that silently ends inside the Spring Festival break is worse
than a clear error an operator can fix.
"""

import json
import os
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Self

import yaml

__all__ = [
    "CALENDAR_FILE_ENV",
    "DEFAULT_DATA_FILE",
    "CalendarYearUnknown",
    "WorkCalendar",
]

CALENDAR_FILE_ENV = "DOSSIER_CALENDAR_FILE"
DEFAULT_DATA_FILE = Path(__file__).resolve().parent / "data" / "cn_workdays.json"

_ONE_DAY = timedelta(days=1)
_YEAR_KEYS = frozenset({"holidays", "workdays"})


def _format_years(years: Iterable[int]) -> str:
    """Render years as compact ranges ("2004–2026, 2028") for error messages."""
    ordered = sorted(set(years))
    if not ordered:
        return "none"
    parts: list[str] = []
    first = prev = ordered[0]
    for y in [*ordered[1:], None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        parts.append(str(first) if first == prev else f"{first}–{prev}")
        if y is not None:
            first = prev = y
    return ", ".join(parts)


class CalendarYearUnknown(Exception):
    """A computation needed a year the calendar has no holiday data for."""

    def __init__(self, year: int, covered: Iterable[int] = ()) -> None:
        self.year = year
        self.covered: tuple[int, ...] = tuple(sorted(covered))
        # Keep the constructor arguments in .args so the exception survives pickling
        # (Celery ships task exceptions between processes).
        super().__init__(year, self.covered)

    def __str__(self) -> str:
        return (
            f"The working-day calendar has no data for year {self.year} "
            f"(covered years: {_format_years(self.covered)}). Statutory holidays are "
            f"not guessed; an operator can extend the calendar with a data file in the "
            f"format of shared/data/cn_workdays.json by setting {CALENDAR_FILE_ENV}."
        )


def _parse_day(value: Any, *, source: str, year: int, kind: str) -> date:
    # YAML turns unquoted 2027-01-01 into a date already; JSON gives strings.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{source}: year {year} {kind}: {value!r} is not an ISO date (YYYY-MM-DD)")


def _parse_year_key(key: Any, *, source: str) -> int:
    # bool is an int subclass; a YAML "yes:" key must not become year 1.
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.strip().isdigit():
        return int(key)
    raise ValueError(f"{source}: {key!r} is not a year")


class WorkCalendar:
    """Working days in mainland China for the years the data covers.

    A day is a working day if it is Mon–Fri and not a listed holiday, or it is
    Sat/Sun and listed as an adjusted working day.
    """

    def __init__(
        self,
        years: Mapping[Any, Mapping[str, Iterable[Any]]],
        *,
        source: str = "<calendar data>",
    ) -> None:
        """Build from ``{year: {"holidays": [...], "workdays": [...]}}``.

        ``source`` only names the origin in validation errors.  Raises ``ValueError``
        on malformed data.
        """
        self._holidays: dict[int, frozenset[date]] = {}
        self._workdays: dict[int, frozenset[date]] = {}
        if not isinstance(years, Mapping):
            raise ValueError(f"{source}: year data must be a mapping of year -> entry")
        for raw_year, entry in years.items():
            year = _parse_year_key(raw_year, source=source)
            holidays, workdays = self._validate_year(year, entry, source=source)
            self._holidays[year] = holidays
            self._workdays[year] = workdays

    @staticmethod
    def _validate_year(
        year: int, entry: Any, *, source: str
    ) -> tuple[frozenset[date], frozenset[date]]:
        if not isinstance(entry, Mapping):
            raise ValueError(
                f"{source}: year {year} must map to an object with 'holidays' and 'workdays' lists"
            )
        # Both lists are required (even if empty) and nothing else is allowed: a typo
        # such as "holiday" must not turn into a year that silently has no holidays.
        keys = set(entry)
        if keys != _YEAR_KEYS:
            missing = sorted(_YEAR_KEYS - keys)
            unknown = sorted(str(k) for k in keys - _YEAR_KEYS)
            raise ValueError(
                f"{source}: year {year} must have exactly the keys 'holidays' and "
                f"'workdays' (missing: {missing or 'none'}, unknown: {unknown or 'none'})"
            )
        parsed: dict[str, frozenset[date]] = {}
        for kind in ("holidays", "workdays"):
            values = entry[kind]
            if isinstance(values, str | bytes) or not isinstance(values, Iterable):
                raise ValueError(f"{source}: year {year} '{kind}' must be a list of dates")
            days: set[date] = set()
            for value in values:
                d = _parse_day(value, source=source, year=year, kind=kind)
                if d.year != year:
                    raise ValueError(
                        f"{source}: {d.isoformat()} is listed under year {year} "
                        f"but belongs to {d.year}"
                    )
                is_weekend = d.weekday() >= 5
                if kind == "holidays" and is_weekend:
                    raise ValueError(
                        f"{source}: holiday {d.isoformat()} is a {d:%A}; only Mon–Fri "
                        f"days off belong in 'holidays' (weekends are off anyway)"
                    )
                if kind == "workdays" and not is_weekend:
                    raise ValueError(
                        f"{source}: adjusted workday {d.isoformat()} is a {d:%A}; only "
                        f"Sat/Sun working days belong in 'workdays'"
                    )
                days.add(d)
            parsed[kind] = frozenset(days)
        # Unreachable given the weekday checks above, but it states the invariant
        # directly and keeps the message clear if those rules ever change.
        both = parsed["holidays"] & parsed["workdays"]
        if both:
            raise ValueError(
                f"{source}: {min(both).isoformat()} is listed as both a holiday and a workday"
            )
        return parsed["holidays"], parsed["workdays"]

    # -- construction from files -------------------------------------------------

    @classmethod
    def from_files(cls, *paths: str | os.PathLike[str]) -> Self:
        """Load and merge data files (JSON, or YAML for .yaml/.yml).

        Each file has the shape ``{"source": "...", "years": {"2027": {...}}}``.
        A year in a later file replaces that whole year from earlier files: a
        year's holidays and adjusted workdays are published together, so mixing
        two versions of one year would be wrong.
        """
        merged: dict[int, dict[str, list[date]]] = {}
        for path in paths:
            label = os.fspath(path)
            for year, (holidays, workdays) in cls._load_file(Path(path), label).items():
                merged[year] = {"holidays": sorted(holidays), "workdays": sorted(workdays)}
        return cls(merged, source=" + ".join(os.fspath(p) for p in paths) or "<no files>")

    @classmethod
    def _load_file(
        cls, path: Path, label: str
    ) -> dict[int, tuple[frozenset[date], frozenset[date]]]:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{label}: cannot read calendar file: {exc}") from exc
        try:
            if path.suffix.lower() in {".yaml", ".yml"}:
                doc = yaml.safe_load(text)
            else:
                doc = json.loads(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ValueError(f"{label}: not valid {path.suffix or 'JSON'}: {exc}") from exc
        if not isinstance(doc, Mapping) or not isinstance(doc.get("years"), Mapping):
            raise ValueError(
                f"{label}: expected an object with a 'years' mapping, "
                f'e.g. {{"source": "...", "years": {{"2027": '
                f'{{"holidays": [...], "workdays": [...]}}}}}}'
            )
        # Validate per file so errors name the file that is actually wrong.
        result: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        for raw_year, entry in doc["years"].items():
            year = _parse_year_key(raw_year, source=label)
            if year in result:
                raise ValueError(f"{label}: year {year} is listed twice")
            result[year] = cls._validate_year(year, entry, source=label)
        return result

    @classmethod
    def default(cls, extra_path: str | os.PathLike[str] | None = None) -> Self:
        """The packaged calendar, extended by an operator file if there is one.

        ``extra_path`` defaults to the ``DOSSIER_CALENDAR_FILE`` environment
        variable so the hint in :class:`CalendarYearUnknown` works however the
        caller is wired; an empty value means no operator file.
        """
        if extra_path is None:
            extra_path = os.environ.get(CALENDAR_FILE_ENV) or None
        paths: list[str | os.PathLike[str]] = [DEFAULT_DATA_FILE]
        if extra_path is not None:
            paths.append(extra_path)
        return cls.from_files(*paths)

    # -- queries -----------------------------------------------------------------

    def covers(self, year: int) -> bool:
        return year in self._holidays

    def years(self) -> list[int]:
        return sorted(self._holidays)

    def _require(self, year: int) -> None:
        if year not in self._holidays:
            raise CalendarYearUnknown(year, self._holidays)

    def is_workday(self, d: date) -> bool:
        self._require(d.year)
        if d in self._holidays[d.year]:
            return False
        if d in self._workdays[d.year]:
            return True
        return d.weekday() < 5

    def next_workday(self, d: date) -> date:
        """The first working day strictly after ``d`` (``d`` itself never counts)."""
        d += _ONE_DAY
        while not self.is_workday(d):
            d += _ONE_DAY
        return d

    def add_workdays(self, start: date, n: int) -> date:
        """The date ``n`` working days after ``start`` (before it if ``n`` < 0).

        ``start`` itself is never counted: Friday + 1 is the next Monday (given no
        holiday), and a Saturday + 1 is also that Monday.  ``n == 0`` rolls
        ``start`` forward to a working day: ``start`` if it is one, otherwise the
        next one.  Every day stepped over must be in a covered year.
        """
        if n == 0:
            return start if self.is_workday(start) else self.next_workday(start)
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        d = start
        while remaining:
            d += step
            if self.is_workday(d):
                remaining -= 1
        return d

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in the closed interval [start, end]; 0 if ``end`` < ``start``."""
        if end < start:
            return 0
        # Check every year first so a long interval fails before doing any work.
        for year in range(start.year, end.year + 1):
            self._require(year)
        count = 0
        d = start
        while d <= end:
            if self.is_workday(d):
                count += 1
            d += _ONE_DAY
        return count

    def publicity_end(self, start: date, workdays: int = 5) -> date:
        """Last day of a publicity period (公示期) starting on ``start``.

        The period lasts ``workdays`` working days and ``start`` counts as the
        first one if it is a working day; otherwise the period begins on the next
        working day.  Monday 2025-03-03 with 5 working days ends Friday 2025-03-07.
        """
        if workdays < 1:
            raise ValueError(f"a publicity period needs at least 1 working day, got {workdays}")
        # Rolling forward with n=0 makes start count when it is itself a working day,
        # without ever looking at the day before start (which may be an uncovered year).
        first = self.add_workdays(start, 0)
        return self.add_workdays(first, workdays - 1)

    def __repr__(self) -> str:
        return f"WorkCalendar(years={_format_years(self._holidays)})"
