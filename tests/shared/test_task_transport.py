"""How soon Redis hands out again a task whose worker died (the Celery transport options)."""

from __future__ import annotations

import pytest

from shared.config import load_settings
from shared.tasks import transport_options

BASE = {"DOSSIER_SECRET_KEY": "s" * 40, "DOSSIER_S3_ACCESS_KEY": "a",
        "DOSSIER_S3_SECRET_KEY": "b"}


@pytest.mark.parametrize(("visibility", "restore_every", "lock_lapses_after"), [
    (7200, 10, 300), (600, 10, 300), (60, 10, 30), (6, 2, 5), (2, 1, 5)])
def test_a_worker_killed_holding_the_restore_lock_delays_restores_by_half_a_timeout_at_most(
        visibility: int, restore_every: int, lock_lapses_after: int) -> None:
    # kombu keeps its restore lock 300 s by default; a worker SIGKILLed inside the scan used to
    # stop every restore for five minutes (two kill tests failed in one clean-clone run).
    options = transport_options(load_settings({**BASE,
                                               "DOSSIER_VISIBILITY_TIMEOUT": str(visibility)}))
    assert options["visibility_timeout"] == visibility
    assert options["unacked_restore_interval"] == restore_every
    assert options["unacked_restore_throttle"] == 1
    assert options["unacked_mutex_expire"] == lock_lapses_after
