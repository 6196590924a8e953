"""Conflicts answer with the expert's and the applicant's names beside their ids, so an API
client needs no second lookup per row (in process)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from inprocess import service_app

from dossier.localstack import BackingServers
from services.review.models import Application, Expert


def test_every_conflict_answer_names_the_expert_and_the_applicant(
        backing: BackingServers, tmp_path: Path) -> None:
    review = service_app(backing, tmp_path, "review")
    expert_id, app_id = str(uuid.uuid4()), f"app-{uuid.uuid4().hex[:8]}"
    with review.ctx.db.session() as session:
        session.add(Expert(id=expert_id, subject="e-wangli", name="王力",
                           organisation="太原理工大学", fields=[], county=None, email=None,
                           created_at=datetime.now(UTC), language="zh-CN", active=True))
        session.add(Application(id=app_id, cycle="2031", kind="organisation", owner="org-x",
                                applicant_name="太原示范科技有限公司", unit=None, profile={},
                                documents=[], accepted_at=datetime.now(UTC)))
    op = review.auth("operator", "op-names")
    made = review.client.post("/api/conflicts", headers=op, json={
        "expert_id": expert_id, "application_id": app_id, "ground": "dispute",
        "reason": "2024 年合同纠纷"})
    assert made.status_code == 201, made.get_json()
    named = {"expert_id": expert_id, "expert_name": "王力", "expert_subject": "e-wangli",
             "application_id": app_id, "applicant_name": "太原示范科技有限公司"}
    conflict_id = made.get_json()["id"]
    answers = [
        made.get_json(),
        review.client.get(f"/api/conflicts/{conflict_id}", headers=op).get_json(),
        review.client.get("/api/conflicts", headers=op).get_json()["items"][0],
        review.client.get(f"/api/experts/{expert_id}/conflict-check", headers=op
                          ).get_json()["items"][0],
        review.client.post(f"/api/conflicts/{conflict_id}/withdraw", headers=op,
                           json={"reason": "误报，已核实"}).get_json(),
    ]
    for answer in answers:
        assert {k: answer.get(k) for k in named} == named, answer
