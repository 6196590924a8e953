"""The names behind the ids a service stores: people, applications, cycles.

A service says once, in its app module, which of its tables hold names (`name_records`); pages
then show `{{ subject|person }}`, `{{ cycle|cycle_name }}` and the audit log reads as sentences,
without a page module of its own looking names up. Looked up once per request and id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import g, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import QueryableAttribute, Session

from shared import labels
from shared.web.state import web_state

NameColumns = tuple[QueryableAttribute[Any], QueryableAttribute[Any]]  # (key, name) of a model


@dataclass(frozen=True)
class Names:
    """Where a service finds names: (subject, name) columns for people, per target kind
    ("application" in an audit target "application:<id>") the (id, name) columns, and the
    (id, title) columns of its cycles."""

    people: tuple[NameColumns, ...] = ()
    targets: Mapping[str, NameColumns] = field(default_factory=dict)
    cycles: NameColumns | None = None


NAMES: dict[str, Names] = {}


def name_records(service: str, people: Iterable[NameColumns] = (),
                 targets: Mapping[str, NameColumns] | None = None,
                 cycles: NameColumns | None = None) -> None:
    """Declare where `service` keeps names (called once by the service's app module)."""
    NAMES[service] = Names(tuple(people), dict(targets or {}), cycles)


def names_of(service: str) -> Names:
    return NAMES.get(service) or Names()


def lookup(session: Session, columns: NameColumns, keys: Iterable[str]) -> dict[str, str]:
    wanted = {str(k) for k in keys if k}
    if not wanted:
        return {}
    key, name = columns
    rows = session.execute(select(key, name).where(key.in_(wanted)))
    return {str(k): str(n) for k, n in rows if n}


def _cache() -> dict[str, dict[str, str]]:
    if "dossier_names" not in g:
        g.dossier_names = {"people": {}, "cycles": {}}
    return g.dossier_names  # type: ignore[no-any-return]


def _find(kind: str, key: str) -> str:
    if not has_request_context():
        return ""
    cache = _cache()[kind]
    if key not in cache:
        ctx = web_state().ctx
        spec = names_of(ctx.name)
        columns = list(spec.people) if kind == "people" else (
            [spec.cycles] if spec.cycles is not None else [])
        found = ""
        with ctx.db.reader() as session:
            for cols in columns:
                found = lookup(session, cols, [key]).get(key, "")
                if found:
                    break
        cache[key] = found
    return cache[key]


def person(subject: object, role: str | None, lang: str) -> str:
    """A person's name for an account id; the role's word when the name is not known here."""
    if subject is None or subject == "":
        return ""
    name = _find("people", str(subject))
    if name:
        return name
    if role and labels.knows("role", role):
        return labels.label("role", role, lang)
    return "工作人员" if lang != "en" else "a member of staff"


def cycle_name(cycle: object, lang: str) -> str:
    """A cycle's title (第三届忻州市市长质量奖), or words for its code when no title is kept."""
    if cycle is None or cycle == "":
        return ""
    return _find("cycles", str(cycle)) or labels.cycle_name(cycle, lang)
