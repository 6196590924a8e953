"""Names of the requirements a dossier's documents were uploaded for, for review's pages.

The requirement catalogue belongs to the documents service, and a cycle may be judged against
any catalogue it has; packets reach review with each document's requirement id only. Documents
announces the list a cycle uses (`requirements.published`, on every `cycle.saved`); review
keeps the latest list per cycle (`RequirementList`) and names documents from it in the page's
language, so an expert reads "自评报告" rather than `self-evaluation` whatever the catalogue.
Titles are data, not page text: they come in zh-CN and English with the list and are never
looked up in review's message catalogue. An id the list does not name, or any id while the
cycle's list has not arrived, is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.review.models import RequirementList


def record(session: Session, p: Mapping[str, Any], published_at: str | datetime) -> bool:
    """Keep the list documents announced for a cycle; False when a newer one is already kept.

    The announcement is the whole list, so storing it again (a redelivery, a repeated
    `cycle.saved`) changes nothing; announcements of one cycle can arrive out of order across
    workers, hence the time check.
    """
    when = (published_at if isinstance(published_at, datetime)
            else datetime.fromisoformat(published_at))
    when = _aware(when)
    cycle = str(p["cycle"])
    row = _locked_row(session, cycle, when)  # a new row carries `when`: it is replaced
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


def _locked_row(session: Session, cycle: str, when: datetime) -> RequirementList:
    """The cycle's row, created empty if new, locked for the rest of the transaction.

    Two announcements of a new cycle handled at once would both insert; an insert that
    ignores its concurrent twin, then a row lock, puts them one after the other.
    """
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}.get(
        session.get_bind().dialect.name)
    values = {"cycle": cycle, "catalogue": "", "catalogue_title": None, "kinds": {},
              "published_at": when, "received_at": datetime.now(UTC)}
    if insert is not None:
        session.execute(insert(RequirementList).values(**values).on_conflict_do_nothing())
    elif session.get(RequirementList, cycle) is None:
        session.add(RequirementList(**values))
        session.flush()
    row = session.get(RequirementList, cycle, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Names:
    """The requirement titles of one cycle, per applicant kind: {kind: {id: {zh-CN, en}}}."""

    titles: Mapping[str, Mapping[str, Mapping[str, str]]]

    def label(self, kind: str, requirement: str | None, lang: str) -> str | None:
        """The title of `requirement` in `lang` (zh-CN when the list has no English), or None
        when the cycle's list does not name it: the page then shows the id."""
        title = self.titles.get(kind, {}).get(requirement or "")
        if not title:
            return None
        return title.get(lang) or title.get("zh-CN") or None


def names_for(session: Session, cycle: str) -> Names:
    """The titles of the cycle's requirements as last announced; empty until they arrive.

    Every item counts, the recommender's too: its documents travel with the packet."""
    row = session.get(RequirementList, cycle)
    kinds = (row.kinds or {}) if row is not None else {}
    return Names({kind: {str(item["id"]): dict(item.get("title") or {}) for item in items or ()
                         if item.get("id")}
                  for kind, items in kinds.items()})
