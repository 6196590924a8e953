"""The event contract stays whole: every event has a payload schema and a line in the docs."""

from __future__ import annotations

from pathlib import Path

from shared.events import SUBSCRIPTIONS
from shared.messages import _all

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_every_subscribed_event_has_a_payload_schema_and_no_schema_is_orphaned() -> None:
    schemas = _all()
    assert sorted(set(SUBSCRIPTIONS) - set(schemas)) == []
    assert sorted(set(schemas) - set(SUBSCRIPTIONS)) == []


def test_every_payload_schema_carries_an_audience_for_notify() -> None:
    missing = [name for name, schema in _all().items() if "audience" not in schema().fields]
    assert missing == []


def test_every_event_is_documented_in_the_catalogue() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert [t for t in SUBSCRIPTIONS if f"| `{t}` |" not in text] == []
