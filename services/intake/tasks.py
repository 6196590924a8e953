"""Intake's Celery tasks and event handlers (thin: load, call domain, save, emit)."""

from __future__ import annotations

from celery import Celery

from shared.service import ServiceContext


def register(celery: Celery, ctx: ServiceContext) -> None:
    """Intake consumes `packet.checked` once the completeness report exists (intake issue)."""
