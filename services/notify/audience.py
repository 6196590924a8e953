"""Who receives an event: the producer's `audience`, or the defaults in
`templates/audiences.yaml`, resolved to accounts through the recipient directory."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.notify.models import Recipient

AUDIENCES = Path(__file__).parent / "templates" / "audiences.yaml"


@lru_cache(maxsize=2)
def default_rules(path: Path = AUDIENCES) -> dict[str, list[dict[str, str]]]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def default_audience(event_type: str, payload: dict[str, Any]) -> list[dict[str, str]]:
    """Addressees from the rules for `event_type`, read out of the payload."""
    found: list[dict[str, str]] = []
    for rule in default_rules().get(event_type, []):
        sources = payload.get(rule["each"]) if "each" in rule else [payload]
        for source in sources if isinstance(sources, list) else []:
            if not isinstance(source, dict):
                continue
            if "subject" in rule:
                subject = source.get(rule["subject"])
                if subject:
                    found.append({"subject": str(subject)})
            elif "unit" in rule:
                unit = source.get(rule["unit"])
                if unit:
                    found.append({"role": rule["role"], "unit": str(unit)})
            else:
                found.append({"role": rule["role"]})
    return found


def addressees(event_type: str, payload: dict[str, Any]) -> list[dict[str, str]]:
    given = payload.get("audience")
    if isinstance(given, list) and given:
        return [a for a in given if isinstance(a, dict)]
    return default_audience(event_type, payload)


def worth_telling(event_type: str, payload: dict[str, Any]) -> bool:
    """Whether an event is news someone must act on, so each person gets one message where
    they used to get one per file:

    - one file's inspection is not: the owner hears once when the packet's inspections have
      settled (a draft's `packet.checked` with `settled`), with what needs doing;
    - a draft's checklist that changed for another reason feeds reminders only;
    - a submission's completeness check is (once per submission, worded per role)."""
    if event_type == "document.inspected":
        return False
    if event_type == "packet.checked" and payload.get("submission") == 0:
        return bool(payload.get("settled"))
    return True


def resolve(session: Session, audience: Iterable[dict[str, str]]) -> list[str]:
    """Subjects, in a stable order and each once. A named subject counts even if the directory
    does not know it yet (the inbox works without an address); roles reach active accounts."""
    subjects: dict[str, None] = {}
    conditions = []
    for a in audience:
        if a.get("subject"):
            subjects[str(a["subject"])] = None
        elif a.get("role"):
            cond = Recipient.role == a["role"]
            if a.get("unit"):
                cond = cond & (Recipient.unit == str(a["unit"]))
            conditions.append(cond)
    if conditions:
        rows = session.execute(select(Recipient.subject).where(
            Recipient.active.is_(True), or_(*conditions)).order_by(Recipient.subject))
        for (subject,) in rows:
            subjects[subject] = None
    return list(subjects)
