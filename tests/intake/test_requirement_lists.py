"""Intake keeps the requirement list documents announces for each cycle
(`requirements.published`): exactly once per event, a redelivery harmless, an older
announcement never replacing a newer one; readable at `GET /api/cycles/{id}/requirements`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from celery import Celery
from waiting import poll

from dossier.localstack import AppStack
from shared.events import Event

from .flows import Intake


def requirements(intake: Intake, cycle: str) -> dict[str, Any] | None:
    r = intake.call("GET", f"/cycles/{cycle}/requirements", intake.as_("applicant", "someone"))
    assert r.status_code in (200, 404), r.text
    return r.json() if r.status_code == 200 else None


def deliver(stack: AppStack, envelope: dict[str, Any]) -> None:
    """A `requirements.published` as documents' relay sends it, onto intake's queue."""
    celery = Celery("documents-double", set_as_current=False,
                    broker=stack.env()["DOSSIER_REDIS_URL"])
    celery.conf.task_serializer = "json"
    celery.send_task("intake.handle_event", args=[envelope], queue="intake")


def test_intake_keeps_the_list_documents_announces_for_a_saved_cycle(
        intake: Intake, stack: AppStack) -> None:
    cycle = intake.open_cycle()["id"]
    found = poll(lambda: requirements(intake, cycle), 60)
    assert found["cycle"] == cycle and found["catalogue"] == "quality-award-2025"
    org = {r["id"]: r for r in found["kinds"]["organisation"]}
    assert org["self-evaluation"]["title"] == {"zh-CN": "自评报告", "en": "Self-evaluation report"}
    assert org["self-evaluation-table"]["required"] is False
    assert [r["id"] for r in found["kinds"]["individual"]][:2] == [
        "application-form", "personal-statement"]
    # Exactly once: intake's inbox holds documents' one event for this cycle.
    [row] = [r for r in stack.outbox("documents", "requirements.published")
             if r.payload["payload"]["cycle"] == cycle]
    assert stack.processed("intake", row.event_id)

    # A redelivery of the same event changes nothing.
    deliver(stack, row.payload)
    newer = Event(id=str(uuid.uuid4()), type="requirements.published", source="documents",
                  occurred_at=(datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
                  payload={**row.payload["payload"],
                           "catalogue": {"version": "other-2026", "title": None},
                           "kinds": {"organisation": [
                               {"id": "patent-list", "title": {"zh-CN": "专利清单"},
                                "required": True}]}}).envelope()
    older = Event(id=str(uuid.uuid4()), type="requirements.published", source="documents",
                  occurred_at=(datetime.now(UTC) - timedelta(days=1)).isoformat(),
                  payload=row.payload["payload"]).envelope()
    deliver(stack, newer)
    replaced = poll(lambda: (f := requirements(intake, cycle)) and
                    f["catalogue"] == "other-2026" and f)
    assert replaced["kinds"] == {"organisation": [
        {"id": "patent-list", "title": {"zh-CN": "专利清单", "en": "专利清单"}, "required": True,
         "provided_by": "applicant", "formats": [], "multiple": False}]}
    # An announcement older than the kept one, delivered late, is recorded and ignored.
    deliver(stack, older)
    poll(lambda: stack.processed("intake", older["id"]))
    assert requirements(intake, cycle)["catalogue"] == "other-2026"
    count = stack.query("intake", "SELECT count(*) AS n FROM processed_events "
                        "WHERE event_id = :e", e=row.event_id)[0].n
    assert count == 1


def test_requirements_of_an_unknown_cycle_are_a_404(intake: Intake) -> None:
    r = intake.call("GET", "/cycles/no-such-cycle/requirements",
                    intake.as_("applicant", "someone"))
    assert r.status_code == 404
    r = requests.get(f"{intake.stack.url('intake')}/api/cycles/no-such-cycle/requirements")
    assert r.status_code == 401
