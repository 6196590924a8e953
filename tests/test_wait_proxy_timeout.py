"""A held request (`?wait=`, `shared/longpoll.py`) must be answered by the service, never cut by
the proxy or gunicorn first: their timeouts for the waitable paths stay above the wait cap."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dossier.localstack import web_argv
from dossier.proxy import compose_conf
from shared.longpoll import MAX_WAITERS, WAIT_CAP_SECONDS

REPO = Path(__file__).resolve().parents[1]
# Time to render, send and cross the proxy once the wait has run out.
HEADROOM = 30


def _seconds(value: str) -> int:
    return int(value.removesuffix("s"))


def _read_timeouts(conf: str, prefix: str) -> list[int]:
    """Every proxy_read_timeout that can apply under `prefix`: the http level's and those of
    locations matching it."""
    found = [_seconds(v) for v in re.findall(r"^  proxy_read_timeout (\S+);", conf, re.M)]
    for match, body in re.findall(r"^    location ([^{]+?) \{\n(.*?)^    \}", conf, re.M | re.S):
        if prefix in match:
            found += [_seconds(v) for v in re.findall(r"proxy_read_timeout (\S+);", body)]
    return found


def test_the_proxy_waits_longer_than_any_held_request() -> None:
    for conf in (compose_conf(), (REPO / "deploy" / "nginx.conf").read_text(encoding="utf-8")):
        timeouts = _read_timeouts(conf, "/intake")
        assert timeouts, "no proxy_read_timeout: nginx's default (60 s) would apply"
        assert min(timeouts) >= WAIT_CAP_SECONDS + HEADROOM


def test_gunicorn_neither_times_out_a_wait_nor_runs_out_of_threads_for_it() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    commands = [svc["command"] for svc in compose["services"].values()
                if isinstance(svc.get("command"), list) and "gunicorn" in svc["command"]]
    assert commands
    for argv in [*commands, web_argv("intake", 8001)]:
        assert int(argv[argv.index("--timeout") + 1]) >= WAIT_CAP_SECONDS + HEADROOM
        # Waits take at most MAX_WAITERS threads; the rest serve everything else.
        assert int(argv[argv.index("--threads") + 1]) >= 2 * MAX_WAITERS
