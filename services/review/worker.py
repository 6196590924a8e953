"""The review worker: `celery -A services.review.worker worker -Q review`."""

from __future__ import annotations

from services.review.models import metadata
from services.review.tasks import register
from shared.service import ServiceContext
from shared.tasks import make_celery

ctx = ServiceContext.create("review", metadata)
celery = make_celery(ctx)
register(celery, ctx)
