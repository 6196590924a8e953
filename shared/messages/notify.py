"""Payloads of the events notify emits (docs/events.md)."""

from __future__ import annotations

from marshmallow import Schema

SCHEMAS: dict[str, type[Schema]] = {}
