"""The requirement catalogues a cycle may name, for the cycle form.

The catalogues belong to the documents service (it judges packets against them and announces a
cycle's list as `requirements.published`). They are data files, not code: intake reads the
same folders (the shipped one and `DOSSIER_DOCUMENTS_CATALOGUE_DIR`) for each file's `version`
and `title` only, so the operator chooses among the catalogues that exist rather than typing a
version. A version documents does not have would be judged against the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

SHIPPED = Path(__file__).resolve().parents[1] / "documents" / "catalogues"


@dataclass(frozen=True)
class CatalogueChoice:
    version: str
    title: dict[str, str]

    def label(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("zh-CN") or self.version


def available(extra_dir: str | None) -> list[CatalogueChoice]:
    """Every catalogue, a later folder's file winning for the same version (as documents)."""
    found: dict[str, CatalogueChoice] = {}
    for folder in [SHIPPED] + ([Path(extra_dir)] if extra_dir else []):
        for path in sorted(folder.glob("*.y*ml")):
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError):
                continue  # documents refuses a broken file at its start; not offered here
            if not isinstance(data, dict) or not data.get("version"):
                continue
            title = data.get("title")
            titles = ({str(k): str(v) for k, v in title.items()} if isinstance(title, dict)
                      else {"zh-CN": str(title or data["version"])})
            found[str(data["version"])] = CatalogueChoice(str(data["version"]), titles)
    return sorted(found.values(), key=lambda c: c.version)
