"""The notify worker: `celery -A services.notify.worker worker -Q notify`."""

from __future__ import annotations

from services.notify.models import metadata
from services.notify.tasks import register
from shared.service import ServiceContext
from shared.tasks import make_celery

ctx = ServiceContext.create("notify", metadata)
celery = make_celery(ctx)
register(celery, ctx)
