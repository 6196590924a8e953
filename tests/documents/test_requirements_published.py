"""Documents announces the requirements of a cycle's catalogue (`requirements.published`) when
it handles `cycle.saved`: the shipped catalogue's items of both kinds, titles in zh-CN and en,
once per `cycle.saved` however often that event is delivered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from events import Intake
from waiting import poll

from dossier.localstack import AppStack
from services.documents import catalogue as catalogues
from shared.events import Event


def announced(stack: AppStack, cycle: str) -> list[dict[str, Any]]:
    return [r.payload["payload"] for r in stack.outbox("documents", "requirements.published")
            if r.payload["payload"]["cycle"] == cycle]


def cycle_saved(cycle: str, catalogue: str | None) -> dict[str, Any]:
    return Event(id=str(uuid.uuid4()), type="cycle.saved", source="intake",
                 occurred_at=datetime.now(UTC).isoformat(), payload={
                     "cycle": cycle, "year": 2026, "title": "测试届次", "opens_on": "2026-03-01",
                     "closes_on": "2026-06-30", "status": "planned",
                     "caps": {"awards": 3, "nominations": 10}, "catalogue": catalogue,
                     "audience": []}).envelope()


def test_cycle_saved_announces_the_shipped_catalogues_requirements_of_both_kinds(
        stack: AppStack) -> None:
    intake = Intake(stack)
    cycle = f"rq-{uuid.uuid4().hex[:8]}"
    envelope = cycle_saved(cycle, "quality-award-2025")
    intake.celery.send_task("documents.handle_event", args=[envelope], queue="documents")
    [event] = poll(lambda: announced(stack, cycle))
    shipped = catalogues.get("quality-award-2025")
    assert event["catalogue"] == {"version": "quality-award-2025", "title": shipped.title}
    assert event["audience"] == []  # a fact for intake's pages, not a notification
    assert set(event["kinds"]) == {"organisation", "individual"}
    for kind in ("organisation", "individual"):
        assert [(r["id"], r["title"], r["required"], r["provided_by"], r["formats"],
                 r["multiple"]) for r in event["kinds"][kind]] == [
            (r.id, r.title, r.required, r.provided_by, list(r.formats), r.multiple)
            for r in shipped.requirements(kind)]
    org = {r["id"]: r for r in event["kinds"]["organisation"]}
    assert org["overview"]["title"] == {"zh-CN": "组织概述", "en": "Organisation overview"}
    assert org["trade-secret-list"]["required"] is False
    assert org["recommendation"]["provided_by"] == "recommender"
    assert event["kinds"]["individual"][0]["title"]["zh-CN"] == "申报表（本人签字）"

    # The same cycle.saved delivered again is handled once: no second announcement.
    intake.celery.send_task("documents.handle_event", args=[envelope], queue="documents")
    poll(lambda: stack.query("documents", "SELECT count(*) AS n FROM processed_events "
                             "WHERE event_id = :e", e=envelope["id"])[0].n == 1)
    intake.send("cycle.saved", {**envelope["payload"], "cycle": f"{cycle}-x"})
    poll(lambda: announced(stack, f"{cycle}-x"))  # a later event went through meanwhile
    assert len(announced(stack, cycle)) == 1


def test_a_cycle_naming_no_or_an_unknown_catalogue_announces_the_default(
        stack: AppStack) -> None:
    intake = Intake(stack)
    plain, unknown = f"rq-{uuid.uuid4().hex[:8]}", f"rq-{uuid.uuid4().hex[:8]}"
    for cycle, catalogue in ((plain, None), (unknown, "no-such-catalogue")):
        intake.celery.send_task("documents.handle_event",
                                args=[cycle_saved(cycle, catalogue)], queue="documents")
    for cycle in (plain, unknown):
        [event] = poll(lambda cycle=cycle: announced(stack, cycle))
        assert event["catalogue"]["version"] == "quality-award-2025"
        assert len(event["kinds"]["organisation"]) == len(
            catalogues.get("quality-award-2025").requirements("organisation"))
