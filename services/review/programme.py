"""The award programme's data: rubrics, required opinions, amounts, recusal grounds.

Defaults ship in `services/review/data/`; an operator folder (`DOSSIER_REVIEW_DATA_DIR`)
overrides any file, for every cycle (`<folder>/<file>`) or for one (`<folder>/<cycle>/<file>`),
so points, departments and amounts change without code. Files are re-read when they change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from services.review.scoring import Rubric
from shared.errors import DossierError

DEFAULTS = Path(__file__).resolve().parent / "data"
_cache: dict[tuple[str, float], Any] = {}


class Programme:
    def __init__(self, override: str | Path | None = None) -> None:
        self.override = Path(override) if override else None

    def path(self, name: str, cycle: str | None = None) -> Path | None:
        candidates = []
        if self.override is not None:
            if cycle:
                candidates.append(self.override / cycle / name)
            candidates.append(self.override / name)
        candidates.append(DEFAULTS / name)
        return next((p for p in candidates if p.is_file()), None)

    def load(self, name: str, cycle: str | None = None) -> Any:
        path = self.path(name, cycle)
        if path is None:
            raise DossierError("review.data_missing", status=404,
                               zh="缺少评审数据文件：{name}", en="Review data file missing: {name}",
                               name=name)
        key = (str(path), path.stat().st_mtime)
        if key not in _cache:
            _cache[key] = yaml.safe_load(path.read_text(encoding="utf-8"))
        return _cache[key]

    def rubric(self, kind: str, cycle: str | None = None) -> Rubric:
        if self.path(f"rubrics/{kind}.yaml", cycle) is None:
            raise DossierError("review.rubric_unknown", status=404,
                               zh="没有该类申报者的评分标准。",
                               en="There is no rubric for this kind of applicant.")
        return Rubric.from_data(self.load(f"rubrics/{kind}.yaml", cycle))

    def opinions(self, cycle: str | None = None) -> dict[str, Any]:
        return dict(self.load("opinions.yaml", cycle))

    def awards(self, cycle: str | None = None) -> dict[str, Any]:
        return dict(self.load("awards.yaml", cycle))

    def publicity(self, cycle: str | None = None) -> dict[str, Any]:
        """Issuing office and objection channels that every list's notice names."""
        return dict(self.load("publicity.yaml", cycle))

    def grounds(self) -> dict[str, Any]:
        """Recusal grounds, windows and relation words: one set for all cycles, since an
        expert's conflicts are detected before any cycle's panel exists."""
        return dict(self.load("grounds.yaml"))
