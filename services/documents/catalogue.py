"""The requirement catalogue: which documents a packet needs, read from versioned YAML files."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from shared.errors import DossierError

SHIPPED = Path(__file__).resolve().parent / "catalogues"
FORMATS = frozenset({"pdf", "docx", "image", "ofd"})
KINDS = ("organisation", "individual")


class UnknownCatalogue(DossierError):
    code = "catalogue.unknown"
    status = 404
    zh = "找不到材料目录 {version}。"
    en = "Requirement catalogue {version} does not exist."


class BadCatalogue(ValueError):
    """A catalogue file that does not describe requirements; raised when it is loaded."""


@dataclass(frozen=True)
class Section:
    id: str
    title: dict[str, str]
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Requirement:
    id: str
    title: dict[str, str]
    required: bool = True
    formats: tuple[str, ...] = ("pdf", "docx", "image")
    max_pages: int | None = None
    min_pages: int | None = None
    max_characters: int | None = None
    sections: tuple[Section, ...] = ()
    sealed_scan: bool = False
    text_expected: bool = False
    multiple: bool = False
    provided_by: str = "applicant"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "required": self.required,
                "formats": list(self.formats), "max_pages": self.max_pages,
                "min_pages": self.min_pages, "max_characters": self.max_characters,
                "sections": [{"id": s.id, "title": s.title} for s in self.sections],
                "sealed_scan": self.sealed_scan, "text_expected": self.text_expected,
                "multiple": self.multiple, "provided_by": self.provided_by}


@dataclass(frozen=True)
class Catalogue:
    version: str
    title: dict[str, str]
    paper: str | None
    kinds: dict[str, tuple[Requirement, ...]] = field(default_factory=dict)

    def requirements(self, kind: str | None) -> tuple[Requirement, ...]:
        return self.kinds.get(kind or "organisation", ())


def _title(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not raw.get("zh-CN") or not raw.get("en"):
        raise BadCatalogue(f"{where}: title needs zh-CN and en")
    # An unquoted comma in a YAML flow mapping (`{en: Measurement, analysis}`) silently cuts
    # the title and adds a key: refuse it rather than show half a title.
    extra = sorted(str(k) for k in raw if k not in ("zh-CN", "en"))
    if extra:
        raise BadCatalogue(f"{where}: title has unexpected keys {extra} "
                           "(quote a title that contains a comma)")
    return {"zh-CN": str(raw["zh-CN"]), "en": str(raw["en"])}


def _requirement(raw: dict[str, Any], where: str) -> Requirement:
    formats = tuple(raw.get("formats") or ("pdf", "docx", "image"))
    if not set(formats) <= FORMATS:
        raise BadCatalogue(f"{where}: formats must be among {sorted(FORMATS)}")
    if "pdf" in formats and "ofd" not in formats:
        # OFD (GB/T 33190) is the national fixed-layout format that stands in for PDF (electronic
        # licences, invoices, official documents): what accepts PDF accepts OFD, also in the
        # catalogue versions written before OFD was accepted (a used version is never edited).
        formats = (*formats, "ofd")
    sections = tuple(Section(id=str(s["id"]), title=_title(s.get("title"), f"{where}.{s['id']}"),
                             keywords=tuple(str(k) for k in s.get("keywords") or ()))
                     for s in raw.get("sections") or ())
    known = {"id", "title", "required", "formats", "max_pages", "min_pages", "max_characters",
             "sections", "sealed_scan", "text_expected", "multiple", "provided_by"}
    if set(raw) - known:
        raise BadCatalogue(f"{where}: unknown keys {sorted(set(raw) - known)}")
    return Requirement(
        id=str(raw["id"]), title=_title(raw.get("title"), where),
        required=bool(raw.get("required", True)), formats=formats,
        max_pages=raw.get("max_pages"), min_pages=raw.get("min_pages"),
        max_characters=raw.get("max_characters"), sections=sections,
        sealed_scan=bool(raw.get("sealed_scan", False)),
        text_expected=bool(raw.get("text_expected", False)),
        multiple=bool(raw.get("multiple", False)),
        provided_by=str(raw.get("provided_by", "applicant")))


def parse(data: dict[str, Any], source: str) -> Catalogue:
    if not isinstance(data, dict) or "version" not in data or "kinds" not in data:
        raise BadCatalogue(f"{source}: needs version and kinds")
    kinds: dict[str, tuple[Requirement, ...]] = {}
    for kind, items in data["kinds"].items():
        if kind not in KINDS:
            raise BadCatalogue(f"{source}: unknown applicant kind {kind!r}")
        reqs = tuple(_requirement(item, f"{source}:{kind}.{item.get('id')}") for item in items)
        ids = [r.id for r in reqs]
        if len(ids) != len(set(ids)):
            raise BadCatalogue(f"{source}: duplicate requirement ids in {kind}")
        kinds[kind] = reqs
    return Catalogue(version=str(data["version"]), title=_title(data.get("title"), source),
                     paper=data.get("paper"), kinds=kinds)


@lru_cache(maxsize=8)
def load_all(extra_dir: str | None = None) -> dict[str, Catalogue]:
    found: dict[str, Catalogue] = {}
    folders = [SHIPPED] + ([Path(extra_dir)] if extra_dir else [])
    for folder in folders:
        for path in sorted(folder.glob("*.y*ml")):
            catalogue = parse(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
            found[catalogue.version] = catalogue
    return found


def get(version: str, extra_dir: str | None = None) -> Catalogue:
    catalogues = load_all(extra_dir)
    if version not in catalogues:
        raise UnknownCatalogue(version=version)
    return catalogues[version]
