"""A panel's assignment as a background job on the real stack: started through the API
(through nginx), carried by review's outbox to review's real worker, polled to its end."""

from __future__ import annotations

import re
from collections.abc import Callable
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
    # Relative to the service's root (behind the proxy url_for adds `/review` itself).
    assert location == f"/api/assignment-jobs/{job['id']}"
    assert http.get(f"{review.stack.url('review')}{location}", headers=op).status_code == 200

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


def test_the_panel_page_starts_a_job_and_shows_its_state_and_failure_in_words(
        review: ReviewDriver, browser_login: Callable[..., Any]) -> None:
    review.cycle_saved()
    review.accept("忻州页面后台一号", app_id=f"jobpage-{review.cycle}")
    review.wait_applications(1)
    pool = [review.expert(f"jobpage{i}-{review.cycle}", f"页面单位{i}")["id"] for i in range(2)]
    panel = review.panel("material", 3, 2, pool)  # two experts cannot give it three
    op = browser_login("operator", "op-jobpage", "业务员")
    path = f"/review/panels/{panel['id']}"
    page = _words(op.get(path))
    assert "data-start-job" in page and "data-assignment-job" not in page

    r = op.post(f"{path}/assignment-jobs")
    assert r.status_code == 303, r.text[:1000]
    page = _words(op.get(path))
    live = re.search(r'data-job-status="(queued|running)"', page)
    if live:  # the worker has not finished yet: the page says so, refreshes, offers 取消
        assert '<meta http-equiv="refresh"' in page and "data-cancel-job" in page
        assert ("排队中" in page) or ("分配中" in page)

    def failed() -> str | None:
        text = _words(op.get(path))
        return text if 'data-job-status="failed"' in text else None

    page = poll(failed, timeout=90)
    assert "失败" in page and "无法完成分配：1 项申报的合格专家不足" in page
    assert '<meta http-equiv="refresh"' not in page and "data-cancel-job" not in page
    assert "data-start-job" in page  # the way is open again, after the panel is fixed
    english = _words(op.get(f"{path}?lang=en"))
    assert "Failed" in english and "cannot get enough eligible experts" in english


def _words(r: Any) -> str:
    assert r.status_code == 200, r.text[:2000]
    assert "[[untranslated" not in r.text, re.findall(r"\[\[untranslated: [^\]]*\]\]", r.text)
    return str(r.text)
