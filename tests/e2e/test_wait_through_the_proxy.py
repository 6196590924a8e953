"""Waiting without polling on the whole stack (issue 23, point 4): a client holds a request
through nginx with `If-None-Match` and `?wait=` and is answered when the documents service's
work reaches intake (real Redis, workers, nginx), long before the wait runs out.

The documents worker is paused (SIGSTOP to its process group) while the client starts waiting,
so the work is certainly still pending when the request arrives; it resumes a moment later. A
request that was not woken would be answered only when its wait ran out (304 / 404): each test
asserts the answer came after the resumption and well before that."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests
from intake.flows import Intake, unique
from samples import text_pdf

from dossier.localstack import AppStack
from shared.longpoll import WAIT_CAP_SECONDS

pytestmark = pytest.mark.stack

WAIT = WAIT_CAP_SECONDS
# Woken means answered this much before the wait would have run out, at the latest.
MARGIN = 8.0


@pytest.fixture
def intake(stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(stack, http)


@contextmanager
def documents_paused(stack: AppStack) -> Iterator[Callable[[], float]]:
    """The documents worker stopped; calling the yielded function resumes it (and says when)."""
    worker = stack.procs["documents-worker"]
    worker.kill(signal.SIGSTOP)
    resumed: list[float] = []

    def resume() -> float:
        if not resumed:
            worker.kill(signal.SIGCONT)
            resumed.append(time.monotonic())
        return resumed[0]

    try:
        yield resume
    finally:
        resume()


class Held:
    """A GET through the proxy in a thread of its own, with the time its answer came."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.answered = 0.0
        self.response: requests.Response | None = None
        self._thread = threading.Thread(target=self._get, args=(url, headers), daemon=True)
        self._thread.start()

    def _get(self, url: str, headers: dict[str, str]) -> None:
        self.response = requests.get(url, headers=headers, timeout=WAIT + 30)
        self.answered = time.monotonic()

    def result(self) -> requests.Response:
        self._thread.join(WAIT + 40)
        assert self.response is not None, "no answer"
        return self.response


def _let_it_arrive() -> None:
    """Time for the request to reach the service and start waiting (it cannot be answered
    before the pause ends: nothing it waits for can happen while documents is stopped)."""
    time.sleep(1.5)


def test_a_client_waiting_on_the_checklist_is_woken_when_documents_finishes(
        stack: AppStack, intake: Intake) -> None:
    cycle = intake.open_cycle()["id"]
    intake.requirements(cycle)
    owner = intake.as_("applicant", unique("owner"))
    r = intake.create(owner, cycle, name="忻州市等待精密机械有限公司")
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    url = f"{stack.public_url}/intake/api/applications/{app_id}/checklist"
    with documents_paused(stack) as resume:
        up = intake.upload(owner, app_id, "自评报告.pdf", text_pdf(["自评报告"]))
        assert up.status_code == 201, up.text
        before = requests.get(url, headers=owner, timeout=10)
        assert before.status_code == 200, before.text
        assert [p["code"] for p in before.json()["pending"]] == ["inspection.running"]
        etag = before.headers["ETag"]
        held = Held(f"{url}?wait={WAIT}", {**owner, "If-None-Match": etag})
        _let_it_arrive()
        resumed = resume()
        answer = held.result()
    assert answer.status_code == 200, answer.text
    assert answer.headers["ETag"] != etag
    assert held.answered >= resumed, "answered before documents did anything"
    took = held.answered - held.started
    assert took < WAIT - MARGIN, f"answered after {took:.1f}s: the wait ran out, nobody woke it"

    # Waiting on until nothing is pending: each answer is a change, none the wait running out.
    body, etag = answer.json(), answer.headers["ETag"]
    while body["pending"]:
        again = Held(f"{url}?wait={WAIT}", {**owner, "If-None-Match": etag})
        r = again.result()
        assert r.status_code == 200, f"{r.status_code} after {again.answered - again.started}s"
        body, etag = r.json(), r.headers["ETag"]
    assert {row["requirement"]: row["state"] for row in body["rows"]}["self-evaluation"] in (
        "met", "attention", "invalid")
    # The application says the same, with its own ETag; a repeat with it is a 304.
    detail = requests.get(f"{stack.public_url}/intake/api/applications/{app_id}",
                          headers=owner, timeout=10)
    assert detail.json()["pending"] == []
    assert requests.get(detail.url, headers={**owner, "If-None-Match": detail.headers["ETag"]},
                        timeout=10).status_code == 304


def test_a_client_waiting_for_a_pending_requirement_list_gets_it_when_published(
        stack: AppStack, intake: Intake) -> None:
    anyone = intake.as_("applicant", unique("reader"))
    with documents_paused(stack) as resume:
        cycle = intake.open_cycle()["id"]  # documents answers `cycle.saved` with the list
        url = f"{stack.public_url}/intake/api/cycles/{cycle}/requirements"
        pending = requests.get(url, headers=anyone, timeout=10)
        assert pending.status_code == 404
        assert pending.json()["code"] == "cycle.requirements_pending"
        held = Held(f"{url}?wait={WAIT}", anyone)
        _let_it_arrive()
        resumed = resume()
        answer = held.result()
    assert answer.status_code == 200, answer.text
    assert answer.json()["cycle"] == cycle and answer.json()["kinds"]["organisation"]
    assert answer.headers["ETag"]
    assert held.answered >= resumed
    took = held.answered - held.started
    assert took < WAIT - MARGIN, f"answered after {took:.1f}s: the wait ran out, nobody woke it"
