"""The recommending units (county regulators, committees, industry authorities): data, not code."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DEFAULT_FILE = Path(__file__).parent / "data" / "units.yaml"
KINDS = ("county", "zone", "industry")
# The county route (Art. 13) goes through a county-level regulator or one of the committees.
COUNTY_ROUTE_KINDS = ("county", "zone")


@dataclass(frozen=True)
class Unit:
    code: str
    kind: str
    name: str
    name_en: str

    @property
    def route(self) -> str:
        return "county" if self.kind in COUNTY_ROUTE_KINDS else "industry"


@dataclass(frozen=True)
class UnitList:
    programme: str
    units: tuple[Unit, ...]

    def get(self, code: str | None) -> Unit | None:
        return next((u for u in self.units if u.code == code), None)

    def of_route(self, route: str) -> list[Unit]:
        return [u for u in self.units if u.route == route]


@cache
def load_units(path: str | None = None) -> UnitList:
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
    return UnitList(programme=str(raw.get("programme", "default")), units=tuple(units))
