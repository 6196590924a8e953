"""Event payload schemas, one module per producing service (see docs/events.md).

`Outbox.emit` validates every payload whose type has a schema here, so a producer that drifts
from the contract fails in its own tests rather than in a consumer at run time. Consumers load
payloads with the same schemas; unknown fields are ignored so producers can add fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.auth import ROLES


class PayloadSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class Addressee(PayloadSchema):
    """One entry of `audience`: a subject, or a role (optionally within one unit)."""

    subject = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    unit = fields.String()


def audience_field() -> fields.List[dict[str, Any]]:
    return fields.List(fields.Nested(Addressee), load_default=list)


class EventPayload(PayloadSchema):
    """The top level of every event's payload: whom it concerns, then the event's own fields."""

    audience = audience_field()


@cache
def _all() -> dict[str, type[Schema]]:
    # Imported here, not at module top, so each producer module can use PayloadSchema.
    from shared.messages import documents, intake, notify, review

    merged: dict[str, type[Schema]] = {}
    for module in (intake, documents, review, notify):
        for name, schema in module.SCHEMAS.items():
            if name in merged and merged[name] is not schema:
                raise RuntimeError(f"two schemas for event {name!r}")
            merged[name] = schema
    return merged


@cache
def schema_for(event_type: str) -> Schema | None:
    # One instance per event type: every emit validates, and building a schema costs more
    # than loading a payload with it (marshmallow schemas are safe to reuse across threads).
    schema = _all().get(event_type)
    return schema() if schema else None


def check_payload(event_type: str, payload: Mapping[str, Any]) -> None:
    """Raise ValueError when `payload` does not match the event's declared schema."""
    schema = schema_for(event_type)
    if schema is None:
        return
    try:
        schema.load(dict(payload))
    except ValidationError as exc:
        raise ValueError(f"payload of {event_type} breaks its contract: {exc.messages}") from exc


def load_payload(event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A consumer's view of a payload: validated and typed when a schema exists."""
    schema = schema_for(event_type)
    return dict(payload) if schema is None else dict(schema.load(dict(payload)))
