"""What a search box typed, as a SQL filter: one way for every service.

A person's `%` or `_` is a character to find, not a LIKE wildcard: `%` alone must not match every
row (and a `_` in a login name must match only underscores). SQLAlchemy's `autoescape` escapes
both, and the escape character itself, and adds the matching `ESCAPE` clause on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement


def contains_text(text: str, *columns: Any) -> ColumnElement[bool]:
    """Rows where any of `columns` contains `text` literally, ignoring letter case."""
    return or_(*(column.icontains(text, autoescape=True) for column in columns))
