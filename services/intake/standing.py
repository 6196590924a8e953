"""Intake publishes every account's standing to Redis, where every service's auth guard reads it
(`shared.account_states`): each change once its transaction commits, and all of them when the
web app or the worker starts and every `REPUBLISH_SECONDS` in the worker, so a write lost while
Redis was away, or a flushed Redis, heals without anyone acting."""

from __future__ import annotations

import logging
import threading

from services.intake.accounts import every_standing
from shared import account_states
from shared.service import ServiceContext

log = logging.getLogger(__name__)


def install(ctx: ServiceContext) -> None:
    """Publish the standing each committed transaction of this context changed."""
    account_states.track(ctx.db.factories, ctx.account_states.publish)


def publish_all(ctx: ServiceContext) -> int:
    """Rewrite every account's record (none overwrites a newer one) and mark them published."""
    with ctx.db.reader() as session:
        states = list(every_standing(session))
    return ctx.account_states.publish(states, complete=True)


def try_publish_all(ctx: ServiceContext) -> None:
    try:
        count = publish_all(ctx)
        log.debug("published the standing of %d accounts", count)
    except Exception:
        # Until one rewrite succeeds, services answer 503 rather than trust unchecked tokens.
        log.warning("could not publish account standing; retrying later", exc_info=True)


def start_republisher(ctx: ServiceContext,
                      every: float = account_states.REPUBLISH_SECONDS) -> threading.Event:
    """A daemon thread in the intake worker; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        try_publish_all(ctx)
        while not stop.wait(every):
            try_publish_all(ctx)

    threading.Thread(target=loop, name="account-standing", daemon=True).start()
    return stop
