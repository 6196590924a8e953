"""Operators see failed work (dead letters), retry it, and watch the outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from celery import Celery
from waiting import poll

from dossier.localstack import AppStack


def test_a_poison_message_lands_in_dead_letters_and_an_operator_can_retry_it_once(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]]) -> None:
    sender = Celery("test", broker=stack.env()["DOSSIER_REDIS_URL"], set_as_current=False)
    bad = {"id": "poison-1", "type": "document.uploaded"}  # no source, no payload
    sent = sender.send_task("documents.handle_event", args=[bad], queue="documents")
    op = auth("operator", "op-ops")
    url = f"{stack.url('documents')}/api/ops/dead-letters"

    def letters() -> list[dict[str, Any]]:
        r = http.get(url, headers=op)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    first = poll(lambda: [d for d in letters() if d["task_id"] == sent.id])[0]
    assert first["task_name"] == "documents.handle_event"
    assert first["args"] == [bad]
    assert "KeyError" in first["error"]
    assert first["retried_at"] is None

    r = http.post(f"{url}/{first['id']}/retry", headers=op)
    assert r.status_code == 202, r.text
    assert r.json()["retried_at"]
    # Still poison: it fails again, as a new dead letter of its own.
    poll(lambda: [d for d in letters() if d["args"] == [bad] and d["task_id"] != sent.id])
    again = http.post(f"{url}/{first['id']}/retry", headers=op)
    assert again.status_code == 409
    assert again.json()["code"] == "ops.already_retried"
    refused = http.post(f"{url}/{first['id']}/retry", headers=auth("supervisor", "sup"))
    assert refused.status_code == 403


def test_outbox_health_shows_nothing_waiting_when_the_broker_is_up(
        stack: AppStack, http: requests.Session, auth: Callable[..., dict[str, str]]) -> None:
    r = http.get(f"{stack.url('intake')}/api/ops/outbox", headers=auth("supervisor", "sup"))
    assert r.status_code == 200, r.text
    assert r.json()["pending"] == 0
    assert r.json()["last_error"] is None
    assert http.get(f"{stack.url('intake')}/api/ops/outbox",
                    headers=auth("applicant", "a")).status_code == 403
