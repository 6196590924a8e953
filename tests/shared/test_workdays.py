"""Tests for shared.workdays.

Expected dates in the hand-written cases are worked out in the comments next to
them from the State Council notices (2024, 2025, 2026); the exhaustive check
against ``chinesecalendar`` guards the packaged data file as a whole.
"""

import ast
import json
import pickle
from datetime import date, timedelta
from pathlib import Path

import pytest

from shared.workdays import (
    CALENDAR_FILE_ENV,
    DEFAULT_DATA_FILE,
    CalendarYearUnknown,
    WorkCalendar,
)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.from_files(DEFAULT_DATA_FILE)


@pytest.fixture(autouse=True)
def _no_operator_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # default() reads the environment; a developer's own setting must not leak in.
    monkeypatch.delenv(CALENDAR_FILE_ENV, raising=False)


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# Fictional 2027 data for the operator-file tests (the real notice is not out yet).
# 2027-01-01 is a Friday; 2027-02-08..12 are Mon–Fri; 2027-02-20 is a Saturday.
OPERATOR_2027 = {
    "source": "test fixture, not the real 2027 notice",
    "years": {
        "2027": {
            "holidays": [
                "2027-01-01",
                "2027-02-08",
                "2027-02-09",
                "2027-02-10",
                "2027-02-11",
                "2027-02-12",
            ],
            "workdays": ["2027-02-20"],
        }
    },
}


# -- packaged data ----------------------------------------------------------------


def test_packaged_data_covers_2004_to_2026(cal: WorkCalendar) -> None:
    assert cal.years() == list(range(2004, 2027))
    assert cal.covers(2025)
    assert not cal.covers(2027)
    assert not cal.covers(2003)


def test_matches_chinesecalendar_for_every_covered_date(cal: WorkCalendar) -> None:
    import chinese_calendar as cc  # a dev dependency: never skipped, always cross-checked
    mismatches = []
    for year in cal.years():
        d = date(year, 1, 1)
        while d.year == year:
            if cal.is_workday(d) != cc.is_workday(d):
                mismatches.append(d)
            d += timedelta(days=1)
    assert mismatches == []


def test_packaged_file_is_sorted_and_well_formed() -> None:
    doc = json.loads(DEFAULT_DATA_FILE.read_text(encoding="utf-8"))
    assert isinstance(doc["source"], str)
    assert doc["source"]
    assert list(doc["years"]) == sorted(doc["years"])
    for entry in doc["years"].values():
        assert set(entry) == {"holidays", "workdays"}
        assert entry["holidays"] == sorted(set(entry["holidays"]))
        assert entry["workdays"] == sorted(set(entry["workdays"]))


def test_module_does_not_import_chinesecalendar_or_web_stack() -> None:
    source = Path(__file__).resolve().parents[2] / "shared" / "workdays.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"chinese_calendar", "flask", "celery"}


def test_default_is_the_packaged_calendar() -> None:
    assert WorkCalendar.default().years() == list(range(2004, 2027))


# -- is_workday -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Spring Festival 2025: off Tue 01-28 .. Tue 02-04; Sun 01-26 and Sat 02-08 worked.
        (date(2025, 1, 26), True),  # Sunday, adjusted working day
        (date(2025, 1, 27), True),  # Monday before the break
        (date(2025, 1, 28), False),  # 除夕
        (date(2025, 1, 29), False),  # 春节
        (date(2025, 2, 4), False),  # last day of the break (Tuesday)
        (date(2025, 2, 5), True),
        (date(2025, 2, 8), True),  # Saturday, adjusted working day
        (date(2025, 2, 9), False),  # ordinary Sunday
        # Spring Festival 2026: off Sun 02-15 .. Mon 02-23; Sat 02-14 and Sat 02-28 worked.
        (date(2026, 2, 14), True),
        (date(2026, 2, 23), False),
        (date(2026, 2, 28), True),
        # National Day + Mid-Autumn 2025: off Wed 10-01 .. Wed 10-08;
        # Sun 09-28 and Sat 10-11 worked.
        (date(2025, 9, 28), True),
        (date(2025, 10, 1), False),
        (date(2025, 10, 6), False),  # 中秋, inside the merged break
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),
        (date(2025, 10, 12), False),
        # Ordinary week.
        (date(2025, 3, 3), True),
        (date(2025, 3, 8), False),
    ],
)
def test_is_workday(cal: WorkCalendar, day: date, expected: bool) -> None:
    assert cal.is_workday(day) is expected


# -- publicity_end ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "workdays", "expected"),
    [
        # Plain week: Mon 03-03 .. Fri 03-07.
        (date(2025, 3, 3), 5, date(2025, 3, 7)),
        # Starts on a Saturday: the period begins Mon 03-10 and ends Fri 03-14.
        (date(2025, 3, 8), 5, date(2025, 3, 14)),
        # Mon 09-29 (1), Tue 09-30 (2), break 10-01..10-08, Thu 10-09 (3),
        # Fri 10-10 (4), Sat 10-11 adjusted (5).
        (date(2025, 9, 29), 5, date(2025, 10, 11)),
        # Starts on the adjusted working Sunday 09-28, which counts:
        # 09-28, 09-29, 09-30, 10-09, 10-10.
        (date(2025, 9, 28), 5, date(2025, 10, 10)),
        # Starts inside the break: 10-09, 10-10, 10-11 (Sat, adjusted), Mon 10-13, Tue 10-14.
        (date(2025, 10, 1), 5, date(2025, 10, 14)),
        # Spring Festival 2024 (off 02-10..02-17, Sun 02-18 worked):
        # Thu 02-08, Fri 02-09, Sun 02-18, Mon 02-19, Tue 02-20.
        (date(2024, 2, 8), 5, date(2024, 2, 20)),
        # A one-day period on a working day ends the same day.
        (date(2025, 3, 3), 1, date(2025, 3, 3)),
        # Seven working days from Mon 03-03: 03-03..03-07, Mon 03-10, Tue 03-11.
        (date(2025, 3, 3), 7, date(2025, 3, 11)),
    ],
)
def test_publicity_end(cal: WorkCalendar, start: date, workdays: int, expected: date) -> None:
    assert cal.publicity_end(start, workdays) == expected


def test_publicity_end_default_is_five_working_days(cal: WorkCalendar) -> None:
    assert cal.publicity_end(date(2025, 3, 3)) == date(2025, 3, 7)


def test_publicity_end_rejects_non_positive_length(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cal.publicity_end(date(2025, 3, 3), 0)


def test_publicity_end_on_first_covered_day_does_not_look_at_previous_year(
    cal: WorkCalendar,
) -> None:
    # 2004-01-01 is a holiday (Thursday); Fri 01-02 is the first working day of the
    # period.  2003 is not covered, so peeking at the day before start would raise.
    # 01-02 (Fri), 01-05, 01-06, 01-07, 01-08 (Thu).
    assert cal.publicity_end(date(2004, 1, 1), 5) == date(2004, 1, 8)


# -- add_workdays / next_workday ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2025, 3, 7), 1, date(2025, 3, 10)),  # Fri + 1 -> Mon
        (date(2025, 3, 8), 1, date(2025, 3, 10)),  # Sat + 1 -> Mon
        (date(2025, 3, 3), 0, date(2025, 3, 3)),  # 0 keeps a working day
        (date(2025, 3, 8), 0, date(2025, 3, 10)),  # 0 rolls a weekend forward
        (date(2025, 1, 25), 0, date(2025, 1, 26)),  # ... onto an adjusted Sunday
        (date(2025, 9, 30), 1, date(2025, 10, 9)),  # jumps the National Day break
        (date(2025, 10, 9), -1, date(2025, 9, 30)),  # and back again
        (date(2025, 9, 26), 2, date(2025, 9, 29)),  # Fri + 2: Sun 09-28 counts, then Mon
        # Across the year end: 2026-01-01..03 (Thu–Sat) off, Sun 01-04 worked.
        (date(2025, 12, 31), 1, date(2026, 1, 4)),
    ],
)
def test_add_workdays(cal: WorkCalendar, start: date, n: int, expected: date) -> None:
    assert cal.add_workdays(start, n) == expected


def test_next_workday_is_strictly_after(cal: WorkCalendar) -> None:
    assert cal.next_workday(date(2025, 3, 3)) == date(2025, 3, 4)
    assert cal.next_workday(date(2025, 9, 27)) == date(2025, 9, 28)  # adjusted Sunday
    assert cal.next_workday(date(2025, 10, 1)) == date(2025, 10, 9)


# -- workdays_between -------------------------------------------------------------


def test_workdays_between_same_day(cal: WorkCalendar) -> None:
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 3)) == 1
    assert cal.workdays_between(date(2025, 3, 8), date(2025, 3, 8)) == 0
    assert cal.workdays_between(date(2025, 10, 1), date(2025, 10, 1)) == 0


def test_workdays_between_reversed_is_zero(cal: WorkCalendar) -> None:
    assert cal.workdays_between(date(2025, 3, 7), date(2025, 3, 3)) == 0


def test_workdays_between_is_closed_interval(cal: WorkCalendar) -> None:
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 7)) == 5
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 9)) == 5
    assert cal.workdays_between(date(2025, 3, 3), date(2025, 3, 10)) == 6


def test_workdays_between_counts_adjusted_sundays(cal: WorkCalendar) -> None:
    # Sat 09-27 .. Sun 10-12 (2025): Sun 09-28, 09-29, 09-30, 10-09, 10-10, Sat 10-11.
    assert cal.workdays_between(date(2025, 9, 27), date(2025, 10, 12)) == 6
    # Sat 01-25 .. Sun 02-09 (2025): Sun 01-26, 01-27, 02-05, 02-06, 02-07, Sat 02-08.
    assert cal.workdays_between(date(2025, 1, 25), date(2025, 2, 9)) == 6
    # Sat 02-14 .. Sat 02-28 (2026): Sat 02-14, 02-24..02-27, Sat 02-28.
    assert cal.workdays_between(date(2026, 2, 14), date(2026, 2, 28)) == 6


def test_workdays_between_agrees_with_add_workdays(cal: WorkCalendar) -> None:
    start = date(2025, 1, 2)
    for n in range(1, 60):
        end = cal.add_workdays(start, n)
        assert cal.workdays_between(start, end) == n + 1  # start is a working day


# -- uncovered years --------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2027, 3, 1), date(1999, 10, 1)])
def test_uncovered_year_raises(cal: WorkCalendar, day: date) -> None:
    with pytest.raises(CalendarYearUnknown) as info:
        cal.is_workday(day)
    assert info.value.year == day.year
    message = str(info.value)
    assert str(day.year) in message
    assert CALENDAR_FILE_ENV in message
    assert "2004–2026" in message


def test_uncovered_year_raises_from_every_computation(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarYearUnknown):
        cal.add_workdays(date(2027, 1, 4), 0)
    with pytest.raises(CalendarYearUnknown):
        cal.next_workday(date(1999, 1, 4))
    with pytest.raises(CalendarYearUnknown):
        cal.publicity_end(date(2027, 1, 4))
    with pytest.raises(CalendarYearUnknown):
        cal.workdays_between(date(1999, 12, 1), date(2004, 1, 31))


def test_computation_running_into_uncovered_year_raises(cal: WorkCalendar) -> None:
    # Mon 2026-12-28 .. Thu 12-31 are 4 working days; the 5th would be in 2027.
    with pytest.raises(CalendarYearUnknown) as info:
        cal.publicity_end(date(2026, 12, 28), 5)
    assert info.value.year == 2027
    with pytest.raises(CalendarYearUnknown):
        cal.workdays_between(date(2026, 12, 1), date(2027, 1, 5))
    with pytest.raises(CalendarYearUnknown):
        cal.add_workdays(date(2004, 1, 2), -1)  # 2004-01-01 is off, so it steps into 2003


def test_reversed_interval_is_zero_without_touching_any_year(cal: WorkCalendar) -> None:
    # No date is counted, so no year is needed.
    assert cal.workdays_between(date(2027, 1, 5), date(1999, 1, 1)) == 0


def test_calendar_year_unknown_pickles() -> None:
    # Celery moves task exceptions between processes.
    exc = CalendarYearUnknown(2027, [2025, 2026])
    clone = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
    assert isinstance(clone, CalendarYearUnknown)
    assert clone.year == 2027
    assert str(clone) == str(exc)


# -- operator files ---------------------------------------------------------------


def test_operator_file_adds_2027(tmp_path: Path) -> None:
    extra = _write(tmp_path / "cal2027.json", OPERATOR_2027)
    cal = WorkCalendar.default(extra)
    assert cal.covers(2027)
    assert cal.years()[-1] == 2027
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 2, 20))  # adjusted Saturday
    # Thu 2026-12-31 (4th working day from Mon 12-28), then Mon 2027-01-04 (5th).
    assert cal.publicity_end(date(2026, 12, 28), 5) == date(2027, 1, 4)
    # Packaged years are still there.
    assert not cal.is_workday(date(2025, 10, 1))


def test_operator_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = _write(tmp_path / "cal2027.json", OPERATOR_2027)
    monkeypatch.setenv(CALENDAR_FILE_ENV, str(extra))
    assert WorkCalendar.default().covers(2027)
    monkeypatch.setenv(CALENDAR_FILE_ENV, "")
    assert not WorkCalendar.default().covers(2027)


def test_operator_file_in_yaml(tmp_path: Path) -> None:
    extra = tmp_path / "cal2027.yaml"
    # Unquoted dates and an integer year key, as an operator would naturally write them.
    extra.write_text(
        "source: test fixture\n"
        "years:\n"
        "  2027:\n"
        "    holidays: [2027-01-01, '2027-02-08']\n"
        "    workdays: [2027-02-20]\n",
        encoding="utf-8",
    )
    cal = WorkCalendar.default(extra)
    assert not cal.is_workday(date(2027, 1, 1))
    assert not cal.is_workday(date(2027, 2, 8))
    assert cal.is_workday(date(2027, 2, 20))


def test_later_file_replaces_whole_year(tmp_path: Path) -> None:
    # An operator correction for 2025 that lists only New Year's Day: every other
    # 2025 holiday from the packaged file is gone, not merged.
    fix = _write(
        tmp_path / "fix2025.json",
        {"years": {"2025": {"holidays": ["2025-01-01"], "workdays": []}}},
    )
    cal = WorkCalendar.from_files(DEFAULT_DATA_FILE, fix)
    assert not cal.is_workday(date(2025, 1, 1))
    assert cal.is_workday(date(2025, 10, 1))
    assert not cal.is_workday(date(2025, 9, 28))
    assert not cal.is_workday(date(2024, 10, 1))  # other years untouched


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year_entry", "fragment"),
    [
        # Listed under the wrong year.
        ({"holidays": ["2026-01-01"], "workdays": []}, "2026-01-01"),
        # Holiday on a weekend (2027-01-02 is a Saturday).
        ({"holidays": ["2027-01-02"], "workdays": []}, "2027-01-02"),
        # Adjusted workday on a weekday (2027-01-04 is a Monday).
        ({"holidays": [], "workdays": ["2027-01-04"]}, "2027-01-04"),
        # Same date in both lists.
        ({"holidays": ["2027-01-04"], "workdays": ["2027-01-04"]}, "2027-01-04"),
        # Not a date.
        ({"holidays": ["2027-13-01"], "workdays": []}, "2027-13-01"),
        # Typo in a key: must not silently become a year without holidays.
        ({"holiday": ["2027-01-01"], "workdays": []}, "holidays"),
        # Missing list.
        ({"holidays": ["2027-01-01"]}, "workdays"),
        # A string instead of a list.
        ({"holidays": "2027-01-01", "workdays": []}, "list"),
    ],
)
def test_invalid_year_rejected(tmp_path: Path, year_entry: dict, fragment: str) -> None:
    bad = _write(tmp_path / "bad.json", {"years": {"2027": year_entry}})
    with pytest.raises(ValueError, match=r"bad\.json") as info:
        WorkCalendar.from_files(bad)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"source": "no years key"}',
        '{"years": {"twenty": {"holidays": [], "workdays": []}}}',
    ],
)
def test_invalid_file_shape_rejected(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.json"):
        WorkCalendar.from_files(bad)


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing\.json"):
        WorkCalendar.default(tmp_path / "missing.json")


def test_invalid_operator_file_does_not_fall_back_silently(tmp_path: Path) -> None:
    bad = _write(
        tmp_path / "cal2027.json",
        {"years": {"2027": {"holidays": ["2027-01-02"], "workdays": []}}},
    )
    with pytest.raises(ValueError, match=r"2027-01-02 is a Saturday"):
        WorkCalendar.default(bad)


def test_constructor_validates_mapping() -> None:
    cal = WorkCalendar({2027: {"holidays": ["2027-01-01"], "workdays": ["2027-02-20"]}})
    assert cal.years() == [2027]
    assert not cal.is_workday(date(2027, 1, 1))
    with pytest.raises(ValueError, match="2027-01-02"):
        WorkCalendar({2027: {"holidays": ["2027-01-02"], "workdays": []}}, source="inline")
