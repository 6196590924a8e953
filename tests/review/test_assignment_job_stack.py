"""A panel's assignment as a background job on the real stack: started through the API
(through nginx), carried by review's outbox to review's real worker, polled to its end."""

from __future__ import annotations

from typing import Any

from reviewstack import ReviewDriver
from waiting import poll


def test_a_panel_assigned_as_a_job_on_the_worker_ends_done_with_its_assignments_visible(
        review: ReviewDriver) -> None:
    http, url, op = review.http, review.url, review.operator
    review.cycle_saved()
    apps = {review.accept(f"忻州后台{i}号", app_id=f"job{i}-{review.cycle}") for i in range(3)}
    review.wait_applications(3)
    pool = [review.expert(f"job{i}-{review.cycle}", f"评审单位{i}")["id"] for i in range(3)]
    panel = review.panel("material", 2, 2, pool)

    r = http.post(f"{url}/panels/{panel['id']}/assignment-jobs", headers=op)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running", "done")
    location = r.headers["Location"]
    assert location.endswith(f"/assignment-jobs/{job['id']}")

    again = http.post(f"{url}/panels/{panel['id']}/assignment-jobs", headers=op)
    assert again.status_code == 409
    assert again.json()["code"] in ("assignment.job_running", "assignment.exists")

    def finished() -> dict[str, Any] | None:
        r = http.get(f"{url}/assignment-jobs/{job['id']}", headers=review.supervisor)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body if body["status"] not in ("queued", "running") else None

    done = poll(finished, timeout=90)
    assert (done["status"], done["phase"], done["fraction"], done["pairs"]) == (
        "done", "finished", 1.0, 6)
    assert done["error"] is None and done["requested_by"] == "op-review"

    r = http.get(f"{url}/assignments", headers=op,
                 params={"panel_id": panel["id"], "per_page": 50})
    assert r.status_code == 200, r.text
    pairs = r.json()["items"]
    assert len(pairs) == 6 and {p["application_id"] for p in pairs} == apps
    assert ("op-review", "panel.assigned", f"panel:{panel['id']}") in review.audit_actions()

    r = http.post(f"{url}/assignment-jobs/{job['id']}/cancel", headers=op)
    assert r.status_code == 409 and r.json()["code"] == "assignment.job_finished"
