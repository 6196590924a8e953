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
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.review.models import RequirementList
from shared import requirement_lists


def record(session: Session, p: Mapping[str, Any], published_at: str | datetime) -> bool:
    """Keep the list documents announced for a cycle; False when a newer one is kept."""
    return requirement_lists.record(session, RequirementList, p, published_at)


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
