"""How soon Redis hands out again a task whose worker died: the transport options and the lease
the live worker renews (`shared.task_leases`)."""

from __future__ import annotations

import time

import pytest
import redis

from dossier.localstack import BackingServers
from shared.config import load_settings
from shared.task_leases import LeaseKeeper, renew
from shared.tasks import transport_options

BASE = {"DOSSIER_SECRET_KEY": "s" * 40, "DOSSIER_S3_ACCESS_KEY": "a",
        "DOSSIER_S3_SECRET_KEY": "b"}


@pytest.mark.parametrize(("lease", "restore_every", "lock_lapses_after"), [
    (600, 10, 300), (60, 10, 30), (30, 10, 15), (6, 2, 5), (2, 1, 5)])
def test_a_worker_killed_holding_the_restore_lock_delays_restores_by_half_a_lease_at_most(
        lease: int, restore_every: int, lock_lapses_after: int) -> None:
    # kombu keeps its restore lock 300 s by default; a worker SIGKILLed inside the scan used to
    # stop every restore for five minutes (two kill tests failed in one clean-clone run).
    options = transport_options(load_settings({**BASE,
                                               "DOSSIER_TASK_LEASE_SECONDS": str(lease)}))
    assert options["visibility_timeout"] == lease
    assert options["unacked_restore_interval"] == restore_every
    assert options["unacked_restore_throttle"] == 1
    assert options["unacked_mutex_expire"] == lock_lapses_after


def test_a_dead_worker_is_back_in_line_within_a_minute_by_default() -> None:
    options = transport_options(load_settings(BASE))
    assert options["visibility_timeout"] + options["unacked_restore_interval"] <= 60


@pytest.fixture
def broker(backing: BackingServers) -> redis.Redis:
    # A database of its own (12): a URL names its database, and a `db=` beside it is ignored.
    client = redis.Redis.from_url(backing.redis_url_for(12))
    client.flushdb()
    return client


def test_renewal_moves_only_deliveries_still_held(broker: redis.Redis) -> None:
    broker.zadd("unacked_index", {"held": 100.0, "acked-meanwhile": 100.0})
    broker.zrem("unacked_index", "acked-meanwhile")  # acknowledged between listing and renewal
    assert renew(broker, ["held", "acked-meanwhile"], now=5000.0) == 1
    assert broker.zscore("unacked_index", "held") == 5000.0
    assert broker.zscore("unacked_index", "acked-meanwhile") is None  # not brought back


def test_the_keeper_renews_while_running_and_stops_when_stopped(broker: redis.Redis) -> None:
    broker.zadd("unacked_index", {"running": 1.0})
    keeper = LeaseKeeper(broker, lease_seconds=2, held=lambda: ["running"])
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while (broker.zscore("unacked_index", "running") or 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert broker.zscore("unacked_index", "running") > time.time() - 5
    finally:
        keeper.stop()
        keeper.join(5)
    assert not keeper.is_alive()
