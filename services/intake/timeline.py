"""The applicant's timeline: every stage of an application, from submission to the outcome,
with its dates. Pure: derived from the application's own history, the acceptance list it was
on, and what review announced (`outcomes.py`); no Flask, no database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from shared import clock

# How far the routing statuses have gone, in order: a later status has passed every earlier one.
PROGRESS = {"draft": 0, "returned": 0, "submitted": 1, "recommended": 2, "accepted": 3,
            "rejected": 3}
RESULT_KEYS = {"award": "award", "nomination": "nomination", None: "not_awarded"}


@dataclass(frozen=True)
class Stage:
    """One step: `key` names it (the page labels it), `state` is done | current | upcoming |
    skipped, `on` / `until` its dates."""

    key: str
    state: str
    on: date | None = None
    until: date | None = None


class Step(Protocol):
    action: str
    at: datetime


class Decided(Protocol):
    listed: bool | None
    publicity_starts_on: date | None
    publicity_ends_on: date | None
    decided_on: date | None
    tier: str | None
    revoked_on: date | None


def _last(history: Iterable[Step], action: str) -> date | None:
    days = [s.at.astimezone(clock.current().zone).date() if s.at.tzinfo else s.at.date()
            for s in history if s.action == action]
    return max(days) if days else None


def derive(status: str, history: Sequence[Step], acceptance: tuple[date, date] | None,
           outcome: Decided | None, today: date) -> list[Stage]:
    """Every stage of the application's way as it stands on `today` (Beijing)."""
    progress = PROGRESS.get(status, 0)

    def routed(key: str, level: int) -> Stage:
        if progress >= level:
            return Stage(key, "done", _last(history, key))
        return Stage(key, "current" if progress == level - 1 else "upcoming")

    stages = [routed("submitted", 1), routed("recommended", 2)]
    if status == "rejected":
        return [*stages, Stage("rejected", "done", _last(history, "rejected"))]
    stages.append(routed("accepted", 3))
    decided = outcome is not None and outcome.decided_on is not None
    listed = outcome.listed if outcome is not None else None
    # Review begins once the acceptance list's publicity is over (Art. 15).
    review_from = acceptance[1] if acceptance else None
    if progress < 3:
        stages.append(Stage("in_review", "upcoming"))
    elif decided or listed is not None:
        stages.append(Stage("in_review", "done", review_from))
    else:
        stages.append(Stage("in_review", "current", review_from))
    if outcome is None or listed is None:
        stages.append(Stage("publicity", "upcoming"))
    elif listed:
        ends = outcome.publicity_ends_on
        running = not decided and (ends is None or today <= ends)
        stages.append(Stage("publicity", "current" if running else "done",
                            outcome.publicity_starts_on, ends))
    else:
        stages.append(Stage("publicity", "skipped"))  # not on the recommendation list
    if outcome is None or outcome.decided_on is None:
        return [*stages, Stage("result", "upcoming")]
    stages.append(Stage(RESULT_KEYS.get(outcome.tier, "not_awarded"), "done",
                        outcome.decided_on))
    if outcome.revoked_on is not None:
        stages.append(Stage("revoked", "done", outcome.revoked_on))
    return stages


def headline(stages: Sequence[Stage]) -> str:
    """The stage that describes the application now: the current one, else the last done."""
    for stage in stages:
        if stage.state == "current":
            return stage.key
    done = [s.key for s in stages if s.state == "done"]
    return done[-1] if done else stages[0].key
