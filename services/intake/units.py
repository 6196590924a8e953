"""The recommending units (county regulators, committees, industry authorities): data the
operator keeps on the units page, seeded once from the units file (migration 0009)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.intake.models import RecommendingUnit
from shared.audit import AuditLog
from shared.auth import Principal
from shared.errors import DossierError, NotFound

DEFAULT_FILE = Path(__file__).parent / "data" / "units.yaml"
KINDS = ("county", "zone", "industry")
# The county route (Art. 13) goes through a county-level regulator or one of the committees.
COUNTY_ROUTE_KINDS = ("county", "zone")
# Administrative division codes (GB/T 2260) or short codes such as IND-GX; they appear in
# accounts, packets and events, so they never change once given.
CODE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")


def N_(msgid: str) -> str:
    return msgid


@dataclass(frozen=True)
class Unit:
    code: str
    kind: str
    name: str
    name_en: str
    active: bool = True

    @property
    def route(self) -> str:
        return "county" if self.kind in COUNTY_ROUTE_KINDS else "industry"


@dataclass(frozen=True)
class UnitList:
    """`units`: the active units, the ones a packet can be routed to and an account can belong
    to; `retired`: deactivated ones, still named on the packets and accounts that carry them."""

    programme: str
    units: tuple[Unit, ...]
    retired: tuple[Unit, ...] = ()
    programme_name: str = ""  # as people write it, e.g. 忻州市市长质量奖
    programme_name_en: str = ""

    def get(self, code: str | None) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

    def find(self, code: str | None) -> Unit | None:
        """Any unit ever listed, active or not (for names)."""
        return self.get(code) or next((u for u in self.retired if u.code == code), None)

    def of_route(self, route: str) -> list[Unit]:
        return [u for u in self.units if u.route == route]


@cache
def load_units(path: str | None = None) -> UnitList:
    """The units file: the seed of the table, and the programme's name."""
    raw = yaml.safe_load(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
    units = []
    for entry in raw["units"]:
        if entry["kind"] not in KINDS:
            raise ValueError(f"unit {entry['code']}: kind must be one of {KINDS}")
        units.append(Unit(code=str(entry["code"]), kind=entry["kind"], name=entry["name"],
                          name_en=entry.get("name_en", entry["name"])))
    codes = [u.code for u in units]
    if len(codes) != len(set(codes)):
        raise ValueError("unit codes must be unique")
    return UnitList(programme=str(raw.get("programme", "default")), units=tuple(units),
                    programme_name=str(raw.get("programme_name") or ""),
                    programme_name_en=str(raw.get("programme_name_en") or ""))


def current(session: Session, units_file: str | None) -> UnitList:
    """The units as the operator keeps them now (every reader reads this, never the file)."""
    rows = session.execute(select(RecommendingUnit).order_by(
        RecommendingUnit.position, RecommendingUnit.code)).scalars()
    units = [Unit(code=r.code, kind=r.kind, name=r.name, name_en=r.name_en, active=r.active)
             for r in rows]
    shipped = load_units(units_file)
    return UnitList(programme=shipped.programme,
                    units=tuple(u for u in units if u.active),
                    retired=tuple(u for u in units if not u.active),
                    programme_name=shipped.programme_name,
                    programme_name_en=shipped.programme_name_en)


def _invalid(errors: dict[str, list[str]]) -> DossierError:
    return DossierError("validation.failed", errors=errors)


def save_unit(session: Session, audit: AuditLog, who: Principal, code: str | None,
              fields: dict[str, Any]) -> RecommendingUnit:
    """Add a unit (`code` None: the code comes in `fields`) or change one; `active` False
    deactivates it (no new packets or recommender accounts; old ones keep its name)."""
    now = datetime.now(UTC)
    unit = None if code is None else session.get(RecommendingUnit, code, with_for_update=True)
    if code is not None and unit is None:
        raise NotFound(detail=f"unit {code}")
    errors: dict[str, list[str]] = {}
    name = str(fields.get("name") or "").strip()
    name_en = str(fields.get("name_en") or "").strip() or name
    kind = fields.get("kind") or (unit.kind if unit else "")
    if not name:
        errors["name"] = [N_("Enter the unit's name.")]
    elif len(name) > 200 or len(name_en) > 200:
        errors["name"] = [N_("At most 200 characters.")]
    if kind not in KINDS:
        errors["kind"] = [N_("Choose the kind of unit.")]
    if unit is None:
        new_code = str(fields.get("code") or "").strip()
        if not CODE.match(new_code):
            errors["code"] = [N_("1 to 20 letters, digits, hyphens or underscores, e.g. "
                                 "140902 or IND-GX.")]
        elif session.get(RecommendingUnit, new_code) is not None:
            errors["code"] = [N_("A unit with this code exists already.")]
    if errors:
        raise _invalid(errors)
    clash = session.execute(select(RecommendingUnit.code).where(
        RecommendingUnit.name == name,
        RecommendingUnit.code != (unit.code if unit else ""))).first()
    if clash:
        raise _invalid({"name": [N_("Another unit has this name.")]})
    created = unit is None
    before = None if unit is None else _facts(unit)
    if unit is None:
        last = session.execute(select(func.max(RecommendingUnit.position))).scalar()
        unit = RecommendingUnit(code=new_code, created_at=now, active=True,
                                position=(last or 0) + 1)
        session.add(unit)
    unit.kind, unit.name, unit.name_en = kind, name, name_en
    if "active" in fields and fields["active"] is not None:
        unit.active = bool(fields["active"])
    if before == _facts(unit):
        return unit  # nothing changed, nothing to record
    unit.updated_at = now
    session.flush()
    audit.append(session, actor=who.subject, role=who.role,
                 action="unit.created" if created else "unit.updated",
                 target=f"unit:{unit.code}", detail={"before": before, "after": _facts(unit)})
    return unit


def _facts(unit: RecommendingUnit) -> dict[str, Any]:
    return {"kind": unit.kind, "name": unit.name, "name_en": unit.name_en,
            "active": bool(unit.active)}


def get_unit(session: Session, code: str) -> RecommendingUnit:
    unit = session.get(RecommendingUnit, code)
    if unit is None:
        raise NotFound(detail=f"unit {code}")
    return unit
