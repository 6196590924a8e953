"""Keeping the requirement list the documents service announces for a cycle
(`requirements.published`), for every service that names requirements on its pages.

Each consumer keeps the list in its own table (a model with the columns `cycle`, `catalogue`,
`catalogue_title`, `kinds`, `published_at`, `received_at`); the rule for keeping it is one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def record(session: Session, model: Any, p: Mapping[str, Any],
           published_at: str | datetime) -> bool:
    """Keep the list announced for a cycle; False when a newer one is already kept.

    The announcement is the whole list, so storing it again (a redelivery, a repeated
    `cycle.saved`) changes nothing; announcements of one cycle can arrive out of order across
    workers, hence the time check.
    """
    when = _aware(published_at if isinstance(published_at, datetime)
                  else datetime.fromisoformat(published_at))
    row = _locked_row(session, model, str(p["cycle"]), when)  # a new row carries `when`
    if _aware(row.published_at) > when:
        return False
    catalogue = p.get("catalogue") or {}
    row.catalogue = str(catalogue.get("version") or "")
    row.catalogue_title = catalogue.get("title")
    row.kinds = {str(kind): [dict(item) for item in items or ()]
                 for kind, items in p["kinds"].items()}
    row.published_at = when
    row.received_at = datetime.now(UTC)
    return True


def _locked_row(session: Session, model: Any, cycle: str, when: datetime) -> Any:
    """The cycle's row, created empty if new, locked for the rest of the transaction.

    Two announcements of a new cycle handled at once would both insert; an insert that
    ignores its concurrent twin, then a row lock, puts them one after the other.
    """
    inserts: dict[str, Callable[[Any], PgInsert | SqliteInsert]] = {
        "postgresql": pg_insert, "sqlite": sqlite_insert}
    insert = inserts.get(session.get_bind().dialect.name)
    values: dict[str, Any] = {"cycle": cycle, "catalogue": "", "catalogue_title": None, "kinds": {},
              "published_at": when, "received_at": datetime.now(UTC)}
    if insert is not None:
        session.execute(insert(model).values(**values).on_conflict_do_nothing())
    elif session.get(model, cycle) is None:
        session.add(model(**values))
        session.flush()
    row = session.get(model, cycle, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
