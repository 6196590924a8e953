"""When a failed delivery is tried again, and when it is given up."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_DELAY = 6 * 3600.0


def next_attempt(now: datetime, attempts: int, base_seconds: float) -> datetime:
    """Exponential backoff: base, 2×base, 4×base … after the 1st, 2nd, 3rd failure."""
    delay = min(base_seconds * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    return now + timedelta(seconds=delay)


def exhausted(attempts: int, max_attempts: int) -> bool:
    return attempts >= max_attempts
