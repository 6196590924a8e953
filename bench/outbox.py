"""outbox: events published through the outbox relay vs a bare `send_task` loop.

The outbox adds a database insert per event and an update per publish; this measures what that
costs against publishing the same envelopes straight to the same Redis. Target: ≥ 0.5.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import redis
from celery import Celery

from shared.db import Database, service_metadata
from shared.events import Outbox

EVENTS = 3000


def _envelope(i: int) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "document.uploaded", "source": "bench",
            "occurred_at": datetime.now(UTC).isoformat(), "payload": _payload(i)}


def _payload(i: int) -> dict[str, Any]:
    """A payload that honours the `document.uploaded` contract, sized like a real one."""
    return {"application_id": str(uuid.uuid4()), "cycle": "2025", "kind": "organisation",
            "owner": f"bench-{i}", "document_id": str(uuid.uuid4()),
            "version_id": str(uuid.uuid4()), "number": 1, "requirement": "self-evaluation",
            "confidentiality": "internal", "secret_pages": [], "filename": f"自评报告-{i}.pdf",
            "object_key": f"2025/a/d/v{i}", "object_version": None, "sha256": "0" * 64,
            "size": 1024, "content_type": "application/pdf"}


def run(env: Any) -> list[str]:
    url = env.backing.redis_url_for(9)
    redis.Redis.from_url(url).flushdb()
    celery = Celery("bench", broker=url, set_as_current=False)
    celery.conf.update(task_serializer="json", broker_transport_options={})

    start = time.perf_counter()
    with celery.producer_or_acquire() as producer:
        for i in range(EVENTS):
            celery.send_task("documents.handle_event", args=[_envelope(i)], queue="documents",
                             producer=producer)
    direct = time.perf_counter() - start
    redis.Redis.from_url(url).flushdb()

    pg_url = env.backing.create_database(f"bench_outbox_{uuid.uuid4().hex[:6]}")
    db = Database(pg_url or f"sqlite:///{env.root / 'bench-outbox.db'}")
    metadata = service_metadata()
    metadata.create_all(db.engine)
    outbox = Outbox(metadata, "intake")
    start = time.perf_counter()
    for i in range(EVENTS):  # one transaction per change, as a request would do
        with db.session() as session:
            outbox.emit(session, "document.uploaded", _payload(i))
    sent = 0
    while sent < EVENTS:
        sent += outbox.relay_once(db, celery, limit=500)
    relayed = time.perf_counter() - start
    queued = redis.Redis.from_url(url).llen("documents")
    ratio = direct / relayed
    return [f"outbox: ratio={ratio:.2f} events={EVENTS} outbox_per_s={EVENTS / relayed:.0f} "
            f"direct_per_s={EVENTS / direct:.0f} queued={queued} db={db.dialect} target>=0.5"]
