"""Turning an event into messages: templates are data, rendered in a Jinja2 sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = Path(__file__).parent / "templates" / "messages.yaml"
LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True)
class Rendered:
    title: dict[str, str]
    body: dict[str, str]


@lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATES) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for event_type, langs in data.items():
        missing = [lang for lang in LANGUAGES if lang not in langs]
        if missing:
            raise ValueError(f"{path}: {event_type} lacks {', '.join(missing)}")
    return data


_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def render(event_type: str, payload: dict[str, Any], path: Path = TEMPLATES) -> Rendered | None:
    """Both languages of the message for `event_type`; None if no template exists."""
    template = load_templates(path).get(event_type)
    if template is None:
        return None
    title = {lang: _env.from_string(template[lang]["title"]).render(**payload).strip()
             for lang in LANGUAGES}
    body = {lang: _env.from_string(template[lang]["body"]).render(**payload).strip()
            for lang in LANGUAGES}
    return Rendered(title, body)
