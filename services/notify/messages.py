"""Turning an event into messages: templates are data, rendered in a Jinja2 sandbox.

The built-in templates live in `templates/messages.yaml`; an operator's file
(`DOSSIER_NOTIFY_TEMPLATES`) overrides any entry without a code change. Templates only ever see
a confidential-free view of the payload (`confidentiality.safe_context`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import ChainableUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from services.notify.confidentiality import safe_context
from shared import labels

TEMPLATES = Path(__file__).parent / "templates" / "messages.yaml"
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


class TemplateFileError(ValueError):
    """A template file is unreadable or an entry is incomplete; raised at load time."""


@dataclass(frozen=True)
class Rendered:
    title: dict[str, str]
    body: dict[str, str]


# A payload field a producer left out renders as nothing rather than losing the message; the
# sandbox keeps an operator's template from reaching Python internals.
_env = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False,
                            trim_blocks=True, lstrip_blocks=True)
# Words for codes (shared/labels.py), as on the pages: `{{ stage | label('stage') }}` in zh-CN,
# `{{ stage | label('stage', 'en') }}` in English.
_env.filters.update(label=lambda code, group, lang="zh-CN": labels.label(group, code, lang),
                    unit_name=lambda code, lang="zh-CN": labels.unit_name(code, lang),
                    title_in=lambda titles, lang="zh-CN": labels.title_in(titles, lang))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateFileError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateFileError(f"{path}: expected a mapping of event type to templates")
    return data


@lru_cache(maxsize=8)
def load_templates(path: Path = TEMPLATES, override: str | None = None
                   ) -> dict[str, dict[str, tuple[Template, Template]]]:
    """Compiled (title, body) per event type and language; the override file wins."""
    data = _read(path)
    if override:
        for event_type, langs in _read(Path(override)).items():
            data[event_type] = {**data.get(event_type, {}), **(langs or {})}
    compiled: dict[str, dict[str, tuple[Template, Template]]] = {}
    for event_type, langs in data.items():
        missing = [lang for lang in LANGUAGES if lang not in (langs or {})]
        if missing:
            raise TemplateFileError(f"{event_type} lacks {', '.join(missing)}")
        try:
            compiled[event_type] = {
                lang: (_env.from_string(str(langs[lang]["title"])),
                       _env.from_string(str(langs[lang]["body"])))
                for lang in LANGUAGES}
        except (KeyError, TypeError, TemplateError) as exc:
            raise TemplateFileError(f"{event_type}: {exc}") from exc
    return compiled


def render(event_type: str, payload: dict[str, Any], override: str | None = None,
           extra: dict[str, Any] | None = None) -> Rendered | None:
    """Both languages of the message for `event_type`; None if no template exists."""
    templates = load_templates(TEMPLATES, override).get(event_type)
    if templates is None:
        return None
    context = {**safe_context(payload), **(extra or {})}
    title = {lang: " ".join(t.render(context).split()) for lang, (t, _) in templates.items()}
    body = {lang: b.render(context).strip() for lang, (_, b) in templates.items()}
    return Rendered(title, body)


def known_event_types(override: str | None = None) -> list[str]:
    return sorted(load_templates(TEMPLATES, override))
