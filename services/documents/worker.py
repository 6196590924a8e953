"""The documents worker: `celery -A services.documents.worker worker -Q documents`."""

from __future__ import annotations

from services.documents.models import metadata
from services.documents.tasks import register
from shared.service import ServiceContext
from shared.tasks import make_celery

ctx = ServiceContext.create("documents", metadata)
celery = make_celery(ctx)
register(celery, ctx)
