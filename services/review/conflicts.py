"""Conflict-of-interest detection between an expert and an applicant (pure logic).

Organisations are matched by unified social credit code first and by normalised name second:
e-mail domains and addresses say nothing for Chinese applicants. Each finding names its ground
(a code from `data/grounds.yaml`) and a reason a person can check.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent / "data" / "grounds.yaml"
_LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "co.,ltd.", "co.,ltd",
                   "co.ltd", "ltd.", "ltd", "inc.", "inc")


# Separates a finding from the date its window was counted to ("…；按现场评审日 2026-07-01 计算").
DATE_MARK = "；按"


@dataclass(frozen=True)
class Finding:
    ground: str
    reason: str


@dataclass(frozen=True)
class ExpertFacts:
    name: str
    organisation: str
    organisation_credit_code: str | None = None
    past_affiliations: list[Mapping[str, Any]] = field(default_factory=list)
    relations: list[Mapping[str, Any]] = field(default_factory=list)


@cache
def grounds() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


Rules = Mapping[str, Any]  # the content of grounds.yaml (shipped, or the operator's copy)


def ground_codes(rules: Rules | None = None) -> list[str]:
    return list((rules or grounds())["grounds"])


def ground_for_relation(relation: str, rules: Rules | None = None) -> str:
    """Map a declared relation word ('spouse', '顾问', 'relative') to a ground code."""
    rules = rules or grounds()
    word = (relation or "").strip().lower()
    if word in rules["grounds"]:
        return word
    for code, words in rules["relations"].items():
        if any(word == w.lower() or (len(w) > 1 and w.lower() in word) for w in words):
            return code
    return "other"


def normalise_name(name: str | None) -> str:
    """Full-width/half-width, spaces, brackets and common legal suffixes do not distinguish."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "()（）·.,，")
    for suffix in _LEGAL_SUFFIXES:
        plain = suffix.replace(".", "").replace(",", "")
        if text.endswith(plain) and len(text) > len(plain) + 1:
            text = text[: -len(plain)]
            break
    return text


def normalise_code(code: str | None) -> str:
    return unicodedata.normalize("NFKC", code or "").strip().upper()


def _parse_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


@dataclass(frozen=True)
class Party:
    """A named organisation or person on the applicant's side."""

    name: str
    credit_code: str
    role: str  # what this party is to the applicant, for the reason text


def applicant_parties(profile: Mapping[str, Any]) -> list[Party]:
    """The applicant itself, its employer (individuals), legal representative."""
    parties = [Party(str(profile.get("name") or ""), normalise_code(profile.get("credit_code")),
                     "申报者")]
    if profile.get("employer") or profile.get("employer_credit_code"):
        parties.append(Party(str(profile.get("employer") or ""),
                             normalise_code(profile.get("employer_credit_code")),
                             "申报者所在单位"))
    return parties


def _same_party(name: str, code: str | None, party: Party) -> str | None:
    """How an organisation/person matches `party`: by credit code or by name, else None."""
    code = normalise_code(code)
    if code and party.credit_code and code == party.credit_code:
        return f"统一社会信用代码相同：{code}"
    if name and party.name and normalise_name(name) == normalise_name(party.name):
        return f"名称相同：{party.name}"
    return None


def dated(reason: str, on: date, basis: str) -> str:
    """A windowed finding's reason with the date its window was counted to."""
    return f"{reason}{DATE_MARK}{basis} {on.isoformat()} 计算"


def undated(reason: str) -> str:
    """The finding without its date: the same finding counted to another date."""
    return reason.split(DATE_MARK, 1)[0]


def detect(expert: ExpertFacts, profile: Mapping[str, Any], on: date,
           rules: Rules | None = None, basis: str = "评审日") -> list[Finding]:
    """Every ground on which `expert` must not review the applicant described by `profile`.
    Time windows (former employment, ended relations) are counted back from `on`, the review
    date the cycle names (`basis` says which, in words); never from the wall clock."""
    rules = rules or grounds()
    windows = {code: g.get("window_years") for code, g in rules["grounds"].items()}
    parties = applicant_parties(profile)
    found: list[Finding] = []

    def windowed(ground: str, ended: date | None) -> bool:
        return ended is not None and windows.get(ground) is not None

    def within(ground: str, ended: date | None) -> bool:
        if ended is None or not windowed(ground, ended):
            return True
        return ended >= _years_before(on, int(windows[ground]))

    def stamp(ground: str, ended: date | None, reason: str) -> str:
        return dated(reason, on, basis) if windowed(ground, ended) else reason

    # Same organisation: the expert works for the applicant or its employer (same legal entity).
    for party in parties:
        how = _same_party(expert.organisation, expert.organisation_credit_code, party)
        if how:
            found.append(Finding("same-organisation", f"专家现任职单位即{party.role}：{how}"))

    # Former employment or board seat within the window.
    for past in expert.past_affiliations:
        ended = _parse_date(past.get("ended_on"))
        for party in parties:
            how = _same_party(str(past.get("organisation") or ""), past.get("credit_code"),
                              party)
            if how and within("former-employment", ended):
                until = ended.isoformat() if ended else "至今"
                found.append(Finding("former-employment", stamp(
                    "former-employment", ended, f"专家曾任职于{party.role}（至 {until}）：{how}")))

    # Relations the expert declared towards the applicant, its employer or its representative.
    people = {normalise_name(profile.get("name")), normalise_name(
        profile.get("legal_representative"))} - {""}
    for rel in expert.relations:
        ground = ground_for_relation(str(rel.get("relation") or ""), rules)
        ended = _parse_date(rel.get("ended_on"))
        if not within(ground, ended):
            continue
        hit = None
        for party in parties:
            hit = hit or _same_party(str(rel.get("name") or ""), rel.get("credit_code"), party)
        if not hit and normalise_name(rel.get("name")) in people:
            hit = f"姓名相同：{rel.get('name')}"
        if hit:
            found.append(Finding(ground, stamp(
                ground, ended, f"专家申报的关系（{_said(rel, ground, rules)}）：{hit}")))

    # Relations the applicant declared towards the expert or the expert's organisation.
    expert_party = Party(expert.organisation, normalise_code(expert.organisation_credit_code),
                         "专家单位")
    for rel in profile.get("related") or []:
        ground = ground_for_relation(str(rel.get("relation") or ""), rules)
        name = str(rel.get("name") or "")
        hit = _same_party(name, rel.get("credit_code"), expert_party)
        if not hit and name and normalise_name(name) == normalise_name(expert.name):
            hit = f"与专家同名：{expert.name}"
        if hit:
            found.append(Finding(ground, f"申报者申报的关系（{_said(rel, ground, rules)}）：{hit}"))

    return _unique(found)


def _said(rel: Mapping[str, Any], ground: str, rules: Rules) -> str:
    """The relation as declared when it is in Chinese; otherwise the ground's name, so a word
    typed in English ("relative") does not land in a Chinese reason."""
    word = str(rel.get("relation") or "").strip()
    if word and not word.isascii():
        return word
    return str(rules["grounds"].get(ground, {}).get("zh") or word)


def _keys(names: Iterable[Any], codes: Iterable[Any]) -> set[str]:
    keys = {f"name:{normalise_name(n)}" for n in names if n and normalise_name(n)}
    return keys | {f"code:{normalise_code(c)}" for c in codes if c and normalise_code(c)}


def applicant_keys(profile: Mapping[str, Any]) -> set[str]:
    """Every name and code a detection rule can match on the applicant's side. A pair whose
    key sets do not meet has no conflict, so the registry checks only pairs that share one."""
    related = list(profile.get("related") or [])
    return _keys([profile.get("name"), profile.get("employer"),
                  profile.get("legal_representative"), *(r.get("name") for r in related)],
                 [profile.get("credit_code"), profile.get("employer_credit_code"),
                  *(r.get("credit_code") for r in related)])


def expert_keys(expert: ExpertFacts) -> set[str]:
    """The expert's side of `applicant_keys`."""
    pasts, rels = expert.past_affiliations, expert.relations
    return _keys([expert.name, expert.organisation, *(p.get("organisation") for p in pasts),
                  *(r.get("name") for r in rels)],
                 [expert.organisation_credit_code, *(p.get("credit_code") for p in pasts),
                  *(r.get("credit_code") for r in rels)])


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        if (f.ground, f.reason) not in seen:
            seen.add((f.ground, f.reason))
            out.append(f)
    return out
