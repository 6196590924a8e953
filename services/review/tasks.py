"""Review's Celery tasks and event handlers."""

from __future__ import annotations

from celery import Celery

from shared.service import ServiceContext


def register(celery: Celery, ctx: ServiceContext) -> None:
    """Review subscribes to acceptance events once the review issue builds assignment."""
