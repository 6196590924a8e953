"""Rubrics, score validation, aggregation and ranking with caps and vacancy floors (pure logic)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import DossierError
from shared.web.nav import N_


class ScoreInvalid(DossierError):
    code = "review.score_invalid"
    status = 422
    zh = "评分不符合评分标准：{problem}"
    en = "The scores do not fit the rubric: {problem}"


# Per-item texts in a ScoreInvalid's `errors` (English msgids, translated by the pages).
UNKNOWN_ITEM = N_("Not an item of this rubric.")
MISSING_ITEM = N_("Score this item.")
NOT_A_NUMBER = N_("Enter a number.")
OUT_OF_RANGE = N_("Outside 0 to the item's maximum.")


@dataclass(frozen=True)
class Rubric:
    id: str
    title: Mapping[str, str]
    items: dict[str, float]  # item id → maximum points
    floors: Mapping[str, float]
    categories: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> float:
        return float(sum(self.items.values()))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Rubric:
        items: dict[str, float] = {}
        for category in data["categories"]:
            for item in category["items"]:
                if item["id"] in items:
                    raise ValueError(f"rubric {data['id']}: item {item['id']} twice")
                if float(item["max"]) <= 0:
                    raise ValueError(f"rubric {data['id']}: item {item['id']} has no points")
                items[item["id"]] = float(item["max"])
        return cls(id=str(data["id"]), title=data.get("title", {}), items=items,
                   floors=data.get("floors", {}), categories=list(data["categories"]))

    def validate(self, scores: Mapping[str, Any], partial: bool = False) -> dict[str, float]:
        """Every item scored once, within 0..max; returns the clean scores. With `partial`
        (a draft), empty items are left out instead of refused. The problem's `errors` name
        each failing item (English texts the pages translate), so a form can show them next
        to the item."""
        unknown = sorted(set(scores) - set(self.items))
        if unknown:
            raise ScoreInvalid(problem=f"unknown items {', '.join(unknown)}",
                               errors={i: [UNKNOWN_ITEM] for i in unknown})
        missing = [i for i in self.items if scores.get(i) is None or scores.get(i) == ""]
        if missing and not partial:
            raise ScoreInvalid(problem=f"missing items {', '.join(missing)}",
                               errors={i: [MISSING_ITEM] for i in missing})
        clean: dict[str, float] = {}
        errors: dict[str, list[str]] = {}
        problems: list[str] = []
        for item, maximum in self.items.items():
            if item in missing:
                continue
            value = scores[item]
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors[item] = [NOT_A_NUMBER]
                problems.append(f"{item} is not a number")
            elif not 0 <= float(value) <= maximum:
                errors[item] = [OUT_OF_RANGE]
                problems.append(f"{item}={value} outside 0–{maximum:g}")
            else:
                clean[item] = float(value)
        if errors:
            raise ScoreInvalid(problem="; ".join(problems), errors=errors)
        return clean


def stage_score(totals: Sequence[float]) -> float | None:
    """Mean of the experts' totals; with 5 or more, the highest and lowest are dropped once."""
    values = sorted(totals)
    if not values:
        return None
    if len(values) >= 5:
        values = values[1:-1]
    return sum(values) / len(values)


def combined_score(stages: Mapping[str, float | None], weights: Mapping[str, float]
                   ) -> float | None:
    """Weighted mean of the stage scores; None until every weighted stage has a score."""
    used = {s: w for s, w in weights.items() if w > 0}
    scored = {s: v for s in used if (v := stages.get(s)) is not None}
    if not used or len(scored) < len(used):
        return None
    return sum(scored[s] * w for s, w in used.items()) / sum(used.values())


@dataclass(frozen=True)
class Candidate:
    application_id: str
    score: float  # on the rubric's scale
    total: float  # the rubric's maximum
    floors: Mapping[str, float]


@dataclass(frozen=True)
class Placed:
    application_id: str
    rank: int
    score: float
    tier: str | None  # award / nomination / None
    note: str


def rank(candidates: Sequence[Candidate], awards: int, nominations: int) -> list[Placed]:
    """Order by score share; fill at most `awards` then `nominations` places, each only with a
    candidate at or above that tier's floor. Places nobody reaches stay vacant. Equal shares at
    a cap boundary are flagged for the panel instead of being decided silently."""
    shares = {c.application_id: round(c.score / c.total, 9) if c.total else 0.0
              for c in candidates}
    ordered = sorted(candidates, key=lambda c: (-shares[c.application_id], c.application_id))
    placed: list[Placed] = []
    award_left, nomination_left = awards, nominations
    for position, c in enumerate(ordered, start=1):
        share = c.score / c.total if c.total else 0.0
        tier, note = None, ""
        if award_left > 0 and share >= float(c.floors.get("award", 0)):
            tier, award_left = "award", award_left - 1
        elif nomination_left > 0 and share >= float(c.floors.get("nomination", 0)):
            tier, nomination_left = "nomination", nomination_left - 1
        elif share < float(c.floors.get("nomination", 0)):
            note = "below the floor"
        else:
            note = "caps reached"
        placed.append(Placed(c.application_id, position, round(c.score, 4), tier, note))
    for i in range(1, len(placed)):
        before, after = placed[i - 1], placed[i]
        if before.tier != after.tier and shares[before.application_id] == \
                shares[after.application_id]:
            for j in (i - 1, i):
                p = placed[j]
                placed[j] = Placed(p.application_id, p.rank, p.score, p.tier,
                                   "tie at a tier boundary")
    return placed
