"""Which failures mean a dependency is down: the object store, the broker or the database.

One table for every service. The HTTP layer (`shared.http`) answers them with 503, the code and
`Retry-After` (never a 500); domain code asks `dependency_outage` to tell an outage from a bad
file. Kept free of Flask so that domain modules may use it.
"""

from __future__ import annotations

import sqlite3

import kombu.exceptions
import redis
import sqlalchemy.exc
import urllib3.exceptions
from minio.error import S3Error, ServerError

from shared.errors import DossierError

# Exception class → the stable code a caller sees and the seconds to wait before trying again.
DEPENDENCY_OUTAGES: tuple[tuple[type[Exception], str, int], ...] = (
    (urllib3.exceptions.HTTPError, "dependency.object_store_unavailable", 30),
    (ServerError, "dependency.object_store_unavailable", 30),
    (S3Error, "dependency.object_store_unavailable", 30),  # 5xx answers only, see _is_outage
    (redis.exceptions.ConnectionError, "dependency.broker_unavailable", 15),
    (redis.exceptions.TimeoutError, "dependency.broker_unavailable", 15),
    (kombu.exceptions.OperationalError, "dependency.broker_unavailable", 15),
    (sqlalchemy.exc.OperationalError, "dependency.database_unavailable", 10),
    (sqlalchemy.exc.InterfaceError, "dependency.database_unavailable", 10),
)


def dependency_outage(exc: BaseException) -> tuple[DossierError, int] | None:
    """The 503 error (and Retry-After seconds) for a dependency failure, else None. Looks
    through the cause chain: a failure re-raised as another exception is found too."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for cls, code, retry_after in DEPENDENCY_OUTAGES:
            if isinstance(current, cls) and _is_outage(current):
                return DossierError(code, detail=type(current).__name__), retry_after
        current = current.__cause__ or current.__context__
    return None


# SQLite reports a missing table as an OperationalError too: that is a bug (500), not an outage.
_SQLITE_OUTAGES = ("is locked", "unable to open", "disk i/o", "database or disk is full")


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, S3Error):  # an answer from the store: only its own failures count
        response = exc.response
        return response is None or int(getattr(response, "status", 500)) >= 500
    if isinstance(exc, sqlalchemy.exc.OperationalError) and isinstance(exc.orig,
                                                                       sqlite3.Error):
        return any(words in str(exc.orig).lower() for words in _SQLITE_OUTAGES)
    return True
