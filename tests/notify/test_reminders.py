"""Reminders fall on the right working day around Chinese holidays, and go out once, through
the real worker, on the day given to the task (no waiting for the wall clock)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from notify_support import MailSink, Notify, Unique
from waiting import poll

from services.notify.reminders import is_due, workdays_left
from shared.workdays import WorkCalendar


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.default()


def test_a_period_ending_on_friday_is_reminded_on_thursday(calendar: WorkCalendar) -> None:
    friday = date(2025, 9, 26)
    assert not is_due(calendar, date(2025, 9, 24), friday, 1)
    assert is_due(calendar, date(2025, 9, 25), friday, 1)


def test_the_reminder_before_a_holiday_comes_on_the_last_working_day_before_it(
        calendar: WorkCalendar) -> None:
    # National Day 2025: 1–8 October off, Sunday 28 September worked instead.
    due = date(2025, 10, 9)
    assert workdays_left(calendar, date(2025, 9, 30), due) == 1
    assert is_due(calendar, date(2025, 9, 30), due, 1)
    assert not is_due(calendar, date(2025, 9, 29), due, 1)
    assert not is_due(calendar, date(2025, 10, 3), due, 1)  # a holiday: nobody is at work


def test_an_adjusted_working_weekend_counts_as_a_working_day(calendar: WorkCalendar) -> None:
    # Saturday 11 October 2025 is a working day; a period ending then is reminded on Friday.
    assert is_due(calendar, date(2025, 10, 10), date(2025, 10, 11), 1)
    assert workdays_left(calendar, date(2025, 9, 26), date(2025, 9, 29)) == 2


def test_a_missed_run_still_reminds_on_the_last_day_but_never_after(
        calendar: WorkCalendar) -> None:
    assert is_due(calendar, date(2025, 9, 26), date(2025, 9, 26), 1)
    assert not is_due(calendar, date(2025, 9, 29), date(2025, 9, 26), 1)


def run_reminders(notify: Notify, day: str) -> None:
    """Run the beat task for `day` through the broker and wait until the worker ran it."""
    worker = notify.stack.procs["notify-worker"]
    task_id = notify.celery.send_task("notify.send_reminders", args=[day], queue="notify").id
    needle = f"notify.send_reminders[{task_id}] succeeded".encode()
    poll(lambda: needle in worker.log.read_bytes()[worker.log_offset:], 30, 0.1)


def test_reminders_reach_the_right_people_once_on_the_right_day(
        notify: Notify, smtp: MailSink, unique: Unique) -> None:
    owner, expert, operator = unique("owner"), unique("expert"), unique("op")
    cycle, list_id = unique("cycle"), unique("list")
    notify.account(owner, email=f"{owner}@example.cn")
    notify.account(expert, role="expert", language="en")
    notify.account(operator, role="operator")
    notify.send_and_wait("cycle.saved", {
        "cycle": cycle, "year": 2025, "title": "2025 年度", "opens_on": "2025-08-01",
        "closes_on": "2025-10-09", "status": "open", "caps": {}, "catalogue": None},
        source="intake")
    notify.send_and_wait("packet.checked", {
        "application_id": unique("app"), "cycle": cycle, "owner": owner,
        "status": "incomplete", "counts": {"met": 8, "missing": 1, "invalid": 0,
                                           "attention": 0},
        "missing": ["quality-report"], "report_id": "r", "submission": 0, "audience": [],
        "missing_titles": [{"zh-CN": "质量报告", "en": "Quality report"}]},
        source="documents")  # a draft's checklist, as documents announces it
    notify.send_and_wait("assignment.made", {
        "cycle": cycle, "stage": "materials", "expert": expert, "deadline": "2025-10-10",
        "applications": [{"application_id": "a", "applicant_name": "甲"}]})
    notify.send_and_wait("list.published", {
        "list_id": list_id, "cycle": cycle, "kind": "recommendation",
        "starts_on": "2025-09-22", "ends_on": "2025-09-29", "entries": []})

    def titles(subject: str, role: str, kind: str) -> list[str]:
        return [m["title"] for m in notify.inbox(subject, role, event_type=kind)["items"]]

    assert titles(owner, "applicant", "packet.checked") == []  # a draft's checklist is no news
    # Friday 26 September: too early for all three (Sunday 28 is a working day, so the list
    # closing on Monday 29 still has 2 working days to go).
    run_reminders(notify, "2025-09-26")
    assert titles(operator, "operator", "reminder.publicity_closing") == []
    # Sunday 28 September, a working day: the publicity reminder (1 working day left) goes
    # out, and the missing documents one (29, 30 September and 9 October left before the
    # window closes on 9 October, after the National Day holiday).
    run_reminders(notify, "2025-09-28")
    [closing] = poll(lambda: titles(operator, "operator", "reminder.publicity_closing"), 30)
    assert "公示即将结束" in closing
    [missing] = poll(lambda: titles(owner, "applicant", "reminder.documents_missing"), 30)
    def reminder_mails() -> list[Any]:
        return [m for m in smtp.to(f"{owner}@example.cn")
                if m.message["Subject"] == "申报即将截止，材料尚未补齐"]

    [mail] = poll(reminder_mails, 30)
    # The missing item by its name, never its code.
    assert "质量报告" in mail.text and "quality-report" not in mail.text
    assert "2025-10-09" in mail.text
    # The review deadline (Friday 10 October) is reminded on Thursday 9, the first working day
    # after the holiday, in the expert's language.
    run_reminders(notify, "2025-09-30")
    run_reminders(notify, "2025-10-09")
    [review] = poll(lambda: titles(expert, "expert", "reminder.review_deadline"), 30)
    assert notify.inbox(expert, "expert", lang="en", event_type="reminder.review_deadline"
                        )["items"][0]["title"] == "Review deadline: 2025-10-10"
    # A second run on the same day (or a redelivered task) adds nothing.
    run_reminders(notify, "2025-10-09")
    run_reminders(notify, "2025-09-28")
    assert len(titles(operator, "operator", "reminder.publicity_closing")) == 1
    assert len(titles(owner, "applicant", "reminder.documents_missing")) == 1
    assert len(titles(expert, "expert", "reminder.review_deadline")) == 1
    assert len(reminder_mails()) == 1
    assert review and missing


def test_complete_documents_retire_the_missing_documents_reminder(
        notify: Notify, unique: Unique) -> None:
    owner, cycle, app = unique("owner"), unique("cycle"), unique("app")
    notify.send_and_wait("cycle.saved", {
        "cycle": cycle, "year": 2025, "title": "t", "opens_on": "2025-08-01",
        "closes_on": "2025-09-30", "status": "open", "caps": {}, "catalogue": None})
    checked = {"application_id": app, "cycle": cycle, "owner": owner, "report_id": "r",
               "counts": {"met": 1, "missing": 1, "invalid": 0, "attention": 0},
               "missing": ["x"]}
    notify.send_and_wait("packet.checked", {**checked, "status": "incomplete"})
    notify.send_and_wait("packet.checked", {**checked, "status": "complete", "missing": []})
    run_reminders(notify, "2025-09-29")
    assert notify.inbox(owner, event_type="reminder.documents_missing")["total"] == 0


def test_beat_runs_the_reminders_daily_at_the_configured_beijing_time() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "DOSSIER_SECRET_KEY": "s" * 40, "DOSSIER_S3_ACCESS_KEY": "a",
           "DOSSIER_S3_SECRET_KEY": "b", "DOSSIER_NOTIFY_REMINDER_TIME": "07:45"}
    out = subprocess.run(
        [sys.executable, "-c", "from services.notify.worker import celery as c; "
         "e = c.conf.beat_schedule['notify-reminders']; "
         "print(e['task'], e['schedule'].hour, e['schedule'].minute, c.conf.timezone)"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
        cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["notify.send_reminders", "{7}", "{45}", "Asia/Shanghai"]
