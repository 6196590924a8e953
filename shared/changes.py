"""What a committed transaction changed, as tags a cache can depend on.

Every write through a service's sessions is seen here — ORM objects at flush, and bulk or Core
INSERT/UPDATE/DELETE statements as they execute — and when the transaction commits the set of
tags it touched is handed to a publisher (the page cache's version store). Nothing has to
remember to invalidate: a page that declared what it read is stale exactly when one of those
tags moved.

Tags, per table `t`:
- `t` moves on every write to the table;
- `t.k=v` moves on a write to a row whose partition key `k` (a model's `__change_keys__`) is `v`;
- `t.*` moves on a write whose rows are not known one by one (bulk statements, models without
  partition keys): it stands for every partition.

A page that read the whole table depends on `t`; one that read only the rows with `k=v` depends
on `t.k=v` and `t.*`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

log = logging.getLogger(__name__)

# Bookkeeping tables no page is cached from; their writes (an audit record per page view) would
# otherwise publish on nearly every request.
UNTRACKED = frozenset({"audit_log", "outbox", "processed_events", "dead_letters"})
_PENDING = "dossier.changes"

Publisher = Callable[[set[str]], None]


def table_of(model: Any) -> str:
    return str(model.__table__.name)


def change_keys(model: Any) -> tuple[str, ...]:
    return tuple(getattr(model, "__change_keys__", ()))


def on_table(model: Any) -> list[str]:
    """Depend on every row of `model`'s table."""
    name = table_of(model)
    if name in UNTRACKED:
        raise ValueError(f"{name} is not tracked; a page cannot depend on it")
    return [name]


def on_rows(model: Any, **keys: Any) -> list[str]:
    """Depend on the rows of `model` whose partition keys have these values."""
    name = table_of(model)
    unknown = set(keys) - set(change_keys(model))
    if unknown or not keys:
        raise ValueError(f"{name} is not partitioned by {sorted(unknown) or 'nothing'}")
    return [f"{name}.*", *(f"{name}.{k}={v}" for k, v in keys.items())]


def _instance_tags(instance: Any) -> set[str]:
    name = table_of(instance)
    if name in UNTRACKED:
        return set()
    keys = change_keys(type(instance))
    if not keys:
        return {name, f"{name}.*"}
    tags = {name}
    state = inspect(instance)
    for key in keys:
        # A row moved from one partition to another changes both.
        values = {getattr(instance, key), *(state.attrs[key].history.deleted or ())}
        tags |= {f"{name}.{key}={v}" for v in values if v is not None}
    return tags


def _statement_tags(state: ORMExecuteState) -> set[str]:
    if not (state.is_insert or state.is_update or state.is_delete):
        return set()
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name is None:
        return {"*"}
    if name in UNTRACKED:
        return set()
    return {name, f"{name}.*"}


def _pending(session: Session) -> set[str]:
    return session.info.setdefault(_PENDING, set())  # type: ignore[no-any-return]


def track(factories: Iterable[sessionmaker[Session]], publish: Publisher) -> None:
    """Publish the tags of every committed transaction of sessions made by `factories`."""

    def flushed(session: Session, _context: Any) -> None:
        tags = _pending(session)
        for instance in (*session.new, *session.dirty, *session.deleted):
            if session.is_modified(instance) or instance not in session.dirty:
                tags |= _instance_tags(instance)

    def executed(state: ORMExecuteState) -> None:
        tags = _statement_tags(state)
        if tags:
            _pending(state.session).update(tags)

    def committed(session: Session) -> None:
        tags = session.info.pop(_PENDING, None)
        if not tags:
            return
        try:
            publish(tags)
        except Exception:
            # Committed data stands; pages cached before this commit may be served until their
            # time to live ends. Logged loudly: it means the cache's store is unreachable.
            log.exception("could not publish changes %s", sorted(tags)[:10])

    def rolled_back(session: Session) -> None:
        session.info.pop(_PENDING, None)

    for factory in factories:
        event.listen(factory, "after_flush", flushed)
        event.listen(factory, "do_orm_execute", executed)
        event.listen(factory, "after_commit", committed)
        event.listen(factory, "after_rollback", rolled_back)
