"""Logging with a correlation id that follows one piece of work across services.

An HTTP request takes its id from `X-Request-ID` (or gets a new one); events carry it in their
envelope as `correlation_id`, and a consumer handling the event works under the same id. So one
grep over all services' logs shows an upload, its inspection and the resulting message.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

correlation_id: ContextVar[str] = ContextVar("dossier_correlation_id", default="-")
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def new_id(candidate: str | None = None) -> str:
    """Keep a caller's id if it is harmless in a log line, else make one."""
    if candidate and _SAFE.match(candidate):
        return candidate
    return uuid.uuid4().hex


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


def configure(service: str, level: str) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_dossier", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._dossier = True  # type: ignore[attr-defined]
    handler.addFilter(_CorrelationFilter())
    handler.setFormatter(logging.Formatter(
        f"%(asctime)s {service} [%(correlation_id)s] %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
