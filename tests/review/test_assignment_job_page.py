"""The panel page and the API around a live assignment job, in process (review's app on its own
SQLite database; no worker, so the job stays queued until it is cancelled)."""

from __future__ import annotations

import re
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from inprocess import service_app

from dossier.localstack import BackingServers
from services.review.models import Application, Expert, Panel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from plain_words import raw_codes, visible_text


def test_a_queued_job_shows_in_words_refreshes_politely_and_can_be_cancelled(
        backing: BackingServers, tmp_path: Path) -> None:
    review = service_app(backing, tmp_path, "review")
    now = datetime.now(UTC)
    panel_id = str(uuid.uuid4())
    with review.ctx.db.session() as session:
        session.add_all([
            Application(id="app-page-1", cycle="xz-2027", kind="organisation", owner="o-1",
                        applicant_name="忻州精工机械有限公司", unit="140902", profile={},
                        documents=[], accepted_at=now),
            Expert(id="exp-page-1", subject="e-page-1", name="李明", organisation="山西大学",
                   fields=[], created_at=now, active=True),
            Panel(id=panel_id, cycle="xz-2027", stage="material", per_application=1,
                  max_load=1, require_field_match=False, weight=1.0, pool=[], applications=[],
                  deadline=None, created_at=now)])
    op = review.auth("operator", "op-page")
    client = review.client

    r = client.post(f"/api/panels/{panel_id}/assignment-jobs", headers=op)
    assert r.status_code == 202, r.get_data(as_text=True)
    job = r.get_json()
    assert r.headers["Location"].endswith(f"/api/assignment-jobs/{job['id']}")
    refused = client.post(f"/api/panels/{panel_id}/assignment-jobs", headers=op)
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "assignment.job_running"

    html = client.get(f"/panels/{panel_id}?lang=zh-CN", headers=op).get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="5">' in html
    assert 'data-job-status="queued"' in html and "data-cancel-job" in html
    card = re.search(r"<section[^>]*data-assignment-job.*?</section>", html, re.S)
    assert card is not None
    text = visible_text(card.group(0))
    assert "排队中" in text and "等待后台处理" in text and "进度 0%" in text
    assert not raw_codes(text), raw_codes(text)  # the card in words (the nav names the user)
    assert "data-run-solver" not in html  # no second run while one is live

    r = client.post(f"/api/assignment-jobs/{job['id']}/cancel", headers=op)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    html = client.get(f"/panels/{panel_id}?lang=zh-CN", headers=op).get_data(as_text=True)
    assert "已取消" in visible_text(html) and "refresh" not in html
    assert "data-cancel-job" not in html and "data-start-job" in html
    r = client.get(f"/api/assignment-jobs/{job['id']}",
                   headers=review.auth("supervisor", "sup-page"))
    assert r.get_json()["status"] == "cancelled" and r.get_json()["cancel_requested"] is True
