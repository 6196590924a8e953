"""The intake worker: `celery -A services.intake.worker worker -Q intake`."""

from __future__ import annotations

from services.intake.models import metadata
from services.intake.tasks import register
from shared.service import ServiceContext
from shared.tasks import make_celery

ctx = ServiceContext.create("intake", metadata)
celery = make_celery(ctx)
register(celery, ctx)
