"""A task whose retry cannot be queued (the broker is down) is handed back, never dropped."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery
from celery.exceptions import Reject

from dossier.localstack import free_port_block
from shared.tasks import DossierTask


class Ctx:
    """Only what `DossierTask.retry` reaches: nothing (no counting, no dead letters)."""


def test_a_retry_that_cannot_be_published_requeues_the_delivery_instead_of_dropping_it() -> None:
    dead = free_port_block(1)  # nothing listens here: the broker is down
    app = Celery("outage", broker=f"redis://127.0.0.1:{dead}/0", set_as_current=False)
    app.conf.update(broker_connection_retry=False, broker_connection_max_retries=0,
                    task_publish_retry=False)

    class Base(DossierTask):
        abstract = True

    Base.ctx = Ctx()  # type: ignore[assignment]
    app.Task = Base  # type: ignore[misc]

    @app.task(name="documents.flaky", bind=True, max_retries=5)
    def flaky(self: Any) -> None:
        raise OSError("object store unreachable")

    flaky.push_request(id="t-1", retries=0, called_directly=False, is_eager=False,
                       delivery_info={"exchange": "", "routing_key": "documents"})
    try:
        with pytest.raises(Reject) as raised:
            flaky.retry(exc=OSError("object store unreachable"), countdown=1)
    finally:
        flaky.pop_request()
    # Celery's own `retry` says requeue=False here, and the delivery is acknowledged and lost.
    assert raised.value.requeue is True
