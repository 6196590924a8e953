"""`examples/api_client.py` runs a whole cycle against the real stack through the one origin, as
an integrator would run it (a separate process, public endpoints only, no server secret), and
the cycle ends as its truth says: the best applicant wins the award, the second the nomination,
the third (below the floor) nothing; every expert pledged once for the session and scored the
whole stage in one request (issue 23, point 5).

The staff accounts exist beforehand, as in an office: each is invited (`dossier invite`) and sets
its password on the public set-password page; the example is given their logins and passwords."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from intake.flows import new_uscc
from samples import headed_pdf, scan_pdf

from dossier.localstack import AppStack
from services.intake.invitations import invite
from shared.auth import issue_token
from shared.config import load_settings

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
SEVEN = ["一、领导", "二、战略", "三、顾客与市场", "四、资源", "五、过程管理",
         "六、测量、分析与改进", "七、结果"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# (name, share of every item's maximum): caps of 1 award and 1 nomination, floors 60 % / 55 %.
APPLICANTS = [("忻州示例精工机械有限公司", 0.92), ("忻州示例华泰建材有限公司", 0.80),
              ("忻州示例清源食品有限公司", 0.50)]
TRUTH = {"忻州示例精工机械有限公司": "award", "忻州示例华泰建材有限公司": "nomination"}


def _staff(stack: AppStack, role: str, subject: str, name: str, password: str,
           unit: str | None = None) -> dict[str, str]:
    """An invited staff account whose person set the password on the public page."""
    link = invite(load_settings(stack.env()), role=role, subject=subject, name=name, unit=unit)
    path = link.removeprefix(stack.public_url)
    token = re.search(r"token=([^&]+)", path).group(1)  # type: ignore[union-attr]
    with requests.Session() as browser:
        page = browser.get(stack.public_url + path, timeout=20)
        assert page.status_code == 200, page.text[:300]
        r = browser.post(f"{stack.public_url}/intake/set-password", allow_redirects=False,
                         timeout=20, data={"csrf_token": CSRF.search(page.text).group(1),  # type: ignore[union-attr]
                                           "token": token, "password": password,
                                           "password_again": password})
        assert r.status_code == 303, r.text[:500]
    return {"login": subject, "password": password}


def _files(stack: AppStack, folder: Path) -> dict[str, str]:
    """One PDF per requirement of the default catalogue, shaped as its inspection expects."""
    token = issue_token(stack.secret_key, subject="example-files", role="operator",
                        ttl_seconds=600)
    catalogue = requests.get(f"{stack.public_url}/documents/api/catalogue", timeout=20,
                             params={"kind": "organisation"},
                             headers={"Authorization": f"Bearer {token}"}).json()
    folder.mkdir(parents=True)
    files = {}
    for req in catalogue["kinds"]["organisation"]:
        data = headed_pdf(SEVEN) if req.get("sections") else \
            scan_pdf() if req.get("sealed_scan") else headed_pdf([req["title"]["zh-CN"]])
        path = folder / f"{req['id']}.pdf"
        path.write_bytes(data)
        files[req["id"]] = str(path)
    return files


def _scenario(stack: AppStack, tmp_path: Path) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    experts = []
    for i in range(4):
        login = f"example-expert-{i}-{tag}"
        experts.append({**_staff(stack, "expert", login, f"示例专家{i}",
                                 f"Qz7!river-lantern-e{i}-{tag}"),
                        "name": f"示例专家{i}", "organisation": f"山西省质量研究院第{i}所",
                        "fields": ["装备制造"]})
    applicants = []
    for i, (name, share) in enumerate(APPLICANTS):
        applicants.append({
            "name": name, "credit_code": new_uscc(), "email": f"a{i}@example.org",
            "password": f"Qz7!harbour-maple-{i}-{tag}", "county": "140902",
            "industry": "装备制造", "founded_on": "2012-06-01", "legal_representative": "张三",
            "files": _files(stack, tmp_path / f"applicant-{i}"), "trade_secrets": ["evidence"],
            "publicity_proof": "publicity-proof", "share": share})
    return {
        "cycle": f"ex-{tag}", "title": "第三届忻州市市长质量奖（示例）",
        "programme": f"example-{tag}", "caps": {"awards": 1, "nominations": 1},
        "per_application": 3, "max_load": 3,
        "people": {
            "operator": {"login": "see-environment", "password": "see-environment"},
            "recommender": _staff(stack, "recommender", f"example-county-{tag}", "忻府区推荐人",
                                  f"Qz7!river-county-{tag}", unit="140902"),
            "experts": experts},
        "applicants": applicants}


@pytest.mark.timeout(600)  # a whole cycle of three packets, inspections included, shared cores
def test_the_example_client_runs_a_whole_cycle_through_public_endpoints(
        stack: AppStack, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    operator = _staff(stack, "operator", f"example-office-{tag}", "示例评审办",
                      f"Qz7!office-lantern-{tag}")
    scenario = _scenario(stack, tmp_path)
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario, ensure_ascii=False), encoding="utf-8")
    # Only the base URL and the people's own credentials: no secret key, no database address.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "DOSSIER_OPERATOR_LOGIN": operator["login"],
           "DOSSIER_OPERATOR_PASSWORD": operator["password"]}
    run = subprocess.run([sys.executable, str(ROOT / "examples" / "api_client.py"),
                          "--base-url", stack.public_url, str(path)],
                         env=env, capture_output=True, text=True, timeout=540)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "award(s) decided" in run.stdout
    # every applicant's packet went in one batch request, and no file on its own
    calls = {line.split(maxsplit=1)[1]: int(line.split()[0])
             for line in run.stdout.splitlines() if line.startswith("  ")}
    batches = calls["POST /intake/api/applications/{id}/documents/batch"]
    assert batches == len(scenario["applicants"]), calls
    assert "POST /intake/api/applications/{id}/documents" not in calls, calls

    supervisor = {"Authorization": "Bearer " + issue_token(
        stack.secret_key, subject="example-check", role="supervisor", ttl_seconds=600)}
    review = f"{stack.public_url}/review/api"
    awards = requests.get(f"{review}/awards", headers=supervisor, timeout=20,
                          params={"cycle": scenario["cycle"]}).json()["items"]
    assert {a["applicant_name"]: a["tier"] for a in awards} == TRUTH

    def audit(action: str) -> list[dict[str, Any]]:
        query: dict[str, str | int] = {"action": action, "per_page": 100}
        items: list[dict[str, Any]] = requests.get(
            f"{review}/audit", headers=supervisor, timeout=20, params=query).json()["items"]
        return items

    experts = {e["login"] for e in scenario["people"]["experts"]}
    pledges = [a for a in audit("panel.pledged") if a["actor"] in experts]
    assert sorted(a["actor"] for a in pledges) == sorted(experts)  # one per expert and session
    assert not [a for a in audit("dossier.acknowledged") if a["actor"] in experts]
    scored = [a for a in audit("score.submitted") if a["actor"] in experts]
    assert len(scored) == 9  # 3 applicants × 3 experts each
    for actor in experts:  # each expert's scores came in one request: its batch is all of them
        mine = [a["detail"]["batch"] for a in scored if a["actor"] == actor]
        assert mine == [len(mine)] * len(mine), (actor, mine)
