"""An open award cycle in intake: applications can only be opened in one."""

from __future__ import annotations

from datetime import date, timedelta

import requests

from shared.auth import issue_token


def ensure_open_cycle(intake_url: str, secret_key: str, cycle: str = "2025") -> None:
    """Create (or re-open) `cycle` with a window around today; idempotent."""
    token = issue_token(secret_key, subject="operator-setup", role="operator", ttl_seconds=600)
    today = date.today()
    r = requests.put(f"{intake_url}/api/cycles/{cycle}",
                     headers={"Authorization": f"Bearer {token}"},
                     json={"year": int(cycle) if cycle.isdigit() else today.year,
                           "title": f"{cycle} 年度市长质量奖", "status": "open",
                           "opens_on": (today - timedelta(days=30)).isoformat(),
                           "closes_on": (today + timedelta(days=90)).isoformat()},
                     timeout=30)
    assert r.status_code == 200, r.text
