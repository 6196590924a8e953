"""A whole award cycle driven through Dossier's public API, as an integrator would write it.

Only public endpoints behind the one origin (nginx) are used; no server secret is needed:

  applicants   POST /intake/api/register               (each gets its own bearer token)
  staff        POST /intake/api/sign-in                (login names and passwords they were given)
  operator     PUT  /intake/api/cycles/{cycle}          open the cycle
  applicants   POST /intake/api/applications, one POST …/documents per file, PUT …/publicity,
               POST …/submit
  recommender  POST /intake/api/applications/{id}/recommend
  operator     POST /intake/api/applications/{id}/accept, POST …/cycles/{c}/acceptance-lists,
               POST /review/api/experts, POST /review/api/panels, POST …/panels/{p}/assign
  experts      POST /review/api/panels/{p}/pledge       one pledge per review session
               PUT  /review/api/panels/{p}/scores       every score of the stage in one request
  operator     PUT  /review/api/applications/{id}/opinions   all department opinions at once
               POST /review/api/cycles/{c}/recommendation, POST …/decision

Usage:
    python examples/api_client.py --base-url http://127.0.0.1:8000 scenario.json

`scenario.json` names the cycle, the staff's logins and passwords (keep the file private; the
operator's may come from DOSSIER_OPERATOR_LOGIN / DOSSIER_OPERATOR_PASSWORD instead), and the
applicants with their files by requirement id and the share of the points the experts give
them. The publicity lists are started 30 days back with a recorded reason, so that the cycle
can run in one go; a real office waits for each window to close instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import requests

T = TypeVar("T")
BEIJING = ZoneInfo("Asia/Shanghai")  # the office's day, whatever zone this client runs in


class ApiError(Exception):
    """A refusal from the API: its stable `code` and the problem document."""

    def __init__(self, method: str, url: str, status: int, problem: dict[str, Any]) -> None:
        self.status, self.problem = status, problem
        self.code = str(problem.get("code", ""))
        super().__init__(f"{method} {url}: {status} {self.code} {problem.get('title', '')}"
                         f" {json.dumps(problem.get('errors') or {}, ensure_ascii=False)}")


class Api:
    """One person's view of the API: the base URL and their bearer token."""

    def __init__(self, base_url: str, token: str | None = None,
                 http: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = http or requests.Session()
        self.calls: list[str] = []  # "METHOD /path", for the curious (and the example's test)

    def as_(self, token: str) -> Api:
        other = Api(self.base_url, token, self.http)
        other.calls = self.calls  # one log for the whole run
        return other

    def call(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = f"{self.base_url}{path}"
        self.calls.append(f"{method} {path.split('?')[0]}")
        r = self.http.request(method, url, headers=headers, timeout=120, **kw)
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"title": r.text[:200]}
            raise ApiError(method, path, r.status_code, problem)
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.call("POST", path, json=body if body is not None else {})

    def put(self, path: str, body: Any) -> Any:
        return self.call("PUT", path, json=body)


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 180) -> T:
    """Ask again until `check` answers (the services hand work to each other asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    raise TimeoutError(f"still waiting after {timeout:.0f} s: {what}")


def today() -> date:
    return datetime.now(BEIJING).date()


# -- people -----------------------------------------------------------------------------------

def sign_in(api: Api, login: str, password: str) -> Api:
    answer = api.post("/intake/api/sign-in", {"login": login, "password": password})
    return api.as_(answer["token"])


def register(api: Api, applicant: dict[str, Any], password: str) -> Api:
    """An organisation opens its account (or signs in, when it already has one)."""
    body = {"kind": "organisation", "name": applicant["name"],
            "credit_code": applicant["credit_code"], "email": applicant["email"],
            "password": password}
    try:
        answer = api.post("/intake/api/register", body)
    except ApiError as exc:
        if exc.status != 409:
            raise
        return sign_in(api, applicant["credit_code"], password)
    return api.as_(answer["token"])


# -- intake -----------------------------------------------------------------------------------

def open_cycle(operator: Api, scenario: dict[str, Any]) -> None:
    day = today()
    operator.put(f"/intake/api/cycles/{scenario['cycle']}", {
        "year": scenario.get("year", day.year), "title": scenario["title"], "status": "open",
        "programme": scenario.get("programme", "mayor-quality-award"),
        "opens_on": (day - timedelta(days=30)).isoformat(),
        "closes_on": (day + timedelta(days=60)).isoformat(),
        "caps": scenario.get("caps", {"awards": 3, "nominations": 10})})


def requirements(api: Api, cycle: str, kind: str) -> list[dict[str, Any]]:
    """The cycle's requirement list (404 `cycle.requirements_pending` until documents has
    announced it)."""
    def fetch() -> list[dict[str, Any]] | None:
        try:
            return list(api.get(f"/intake/api/cycles/{cycle}/requirements")["kinds"][kind])
        except ApiError as exc:
            if exc.code != "cycle.requirements_pending":
                raise
            return None

    return wait_for("the cycle's requirement list", fetch)


def apply(me: Api, cycle: str, applicant: dict[str, Any],
          needed: list[dict[str, Any]]) -> str:
    """Open the application, upload one file per requirement, record the internal publicity
    and submit once every file is inspected."""
    app = me.post("/intake/api/applications", {
        "cycle": cycle, "kind": "organisation", "name": applicant["name"],
        "credit_code": applicant["credit_code"], "county": applicant["county"],
        "industry": applicant["industry"], "founded_on": applicant["founded_on"],
        "legal_representative": applicant["legal_representative"],
        "attest_no_violation": True, "attest_no_accident": True})
    uploaded: dict[str, str] = {}
    secret = set(applicant.get("trade_secrets", []))
    for requirement in needed:
        version = _upload(me, app["id"], requirement["id"],
                          Path(applicant["files"][requirement["id"]]),
                          requirement["id"] in secret)
        uploaded[requirement["id"]] = version["document_id"]

    def inspected() -> bool:
        try:
            report = me.get(f"/documents/api/applications/{app['id']}/completeness")
        except ApiError as exc:
            if exc.status != 404:  # 404: documents has not heard of the first upload yet
                raise
            return False
        return report["pending"] == 0

    wait_for(f"inspection of {applicant['name']}'s files", inspected)
    day = today()
    me.put(f"/intake/api/applications/{app['id']}/publicity", {
        "starts_on": (day - timedelta(days=30)).isoformat(),
        "ends_on": (day - timedelta(days=2)).isoformat(),
        "document_id": uploaded[applicant["publicity_proof"]]})
    me.post(f"/intake/api/applications/{app['id']}/submit", {
        "route": "county", "attest_no_state_secrets": True, "attest_authentic": True})
    return str(app["id"])


def _upload(me: Api, app_id: str, requirement: str, path: Path, secret: bool) -> Any:
    """One file through the single-file upload endpoint (multipart: fields, then the file)."""
    with path.open("rb") as fh:
        return me.call("POST", f"/intake/api/applications/{app_id}/documents",
                       data={"requirement": requirement,
                             "confidentiality": "trade-secret" if secret else "internal"},
                       files={"file": (path.name, fh, "application/pdf")})


def recommend(recommender: Api, operator: Api, me: Api, app_id: str) -> None:
    """The county recommends once the completeness report is back; the office accepts."""
    wait_for("the completeness report", lambda: me.get(
        f"/intake/api/applications/{app_id}").get("completeness"))
    recommender.post(f"/intake/api/applications/{app_id}/recommend", {
        "opinion": "材料齐全，情况属实，同意推荐。", "government_reference": "忻府政函〔2026〕8号"})
    operator.post(f"/intake/api/applications/{app_id}/accept")


# -- review -----------------------------------------------------------------------------------

def expert_ids(operator: Api, experts: list[dict[str, Any]]) -> list[str]:
    """Register each expert in review (or find them registered) under their login name."""
    ids = []
    for expert in experts:
        found = [e for e in operator.get("/review/api/experts", q=expert["login"])["items"]
                 if e["subject"] == expert["login"]]
        if not found:
            found = [operator.post("/review/api/experts", {
                "subject": expert["login"], "name": expert["name"],
                "organisation": expert["organisation"], "fields": expert.get("fields", [])})]
        ids.append(found[0]["id"])
    return ids


def form_panel(operator: Api, cycle: str, ids: list[str], per_application: int,
               max_load: int) -> str:
    panel = operator.post("/review/api/panels", {
        "cycle": cycle, "stage": "material", "per_application": per_application,
        "max_load": max_load, "pool": ids})
    operator.post(f"/review/api/panels/{panel['id']}/assign")
    return str(panel["id"])


def score_stage(expert: Api, shares: dict[str, float]) -> int:
    """One expert: one pledge per review session, then every score of the session in one
    request. `shares` gives each applicant (by name) its share of every item's maximum."""
    dossiers = expert.get("/review/api/my/dossiers", per_page=100)["items"]
    by_panel: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for dossier in dossiers:
        for panel_id in dossier["panels"].values():
            by_panel[panel_id].append(dossier)
    rubrics: dict[tuple[str, str], dict[str, float]] = {}
    for panel_id, mine in by_panel.items():
        expert.post(f"/review/api/panels/{panel_id}/pledge", {"accept": True})
        entries = []
        for dossier in mine:
            key = (dossier["kind"], dossier["cycle"])
            if key not in rubrics:
                rubric = expert.get(f"/review/api/rubrics/{key[0]}", cycle=key[1])
                rubrics[key] = {i["id"]: float(i["max"]) for c in rubric["categories"]
                                for i in c["items"]}
            share = shares[dossier["applicant_name"]]
            entries.append({"application_id": dossier["application_id"],
                            "items": {k: round(v * share, 1) for k, v in rubrics[key].items()},
                            "comment": "材料翔实，成效明显。"})
        expert.put(f"/review/api/panels/{panel_id}/scores", {"scores": entries})
    return len(by_panel)


def opinions(operator: Api, app_id: str) -> None:
    """Every department opinion still missing for an applicant, in one request."""
    missing = operator.get(f"/review/api/applications/{app_id}/opinions")["missing"]
    if missing:
        operator.put(f"/review/api/applications/{app_id}/opinions", {"opinions": [
            {"department": d, "favourable": True, "reference": f"忻州函〔{today().year}〕{n}号"}
            for n, d in enumerate(missing, start=1)]})


def decide(operator: Api, cycle: str) -> list[dict[str, Any]]:
    placed = [r for r in operator.get(f"/review/api/cycles/{cycle}/results") if r["tier"]]
    for row in placed:
        opinions(operator, row["application_id"])
    operator.post(f"/review/api/cycles/{cycle}/recommendation", {
        "starts_on": (today() - timedelta(days=30)).isoformat(),
        "reason": "已在报刊公示（示例客户端一次跑完整届评审）"})
    return list(operator.post(f"/review/api/cycles/{cycle}/decision",
                              {"reference": f"忻政发〔{today().year}〕1号"}))


# -- the whole cycle --------------------------------------------------------------------------

def run_cycle(base_url: str, scenario: dict[str, Any],
              say: Callable[[str], None] = print) -> tuple[list[dict[str, Any]], Api]:
    """Run the scenario's cycle to its decision; the awards and the API (its call log)."""
    api = Api(base_url)
    people = scenario["people"]
    operator = sign_in(api, os.environ.get("DOSSIER_OPERATOR_LOGIN", people["operator"]["login"]),
                       os.environ.get("DOSSIER_OPERATOR_PASSWORD",
                                      people["operator"]["password"]))
    recommender = sign_in(api, people["recommender"]["login"], people["recommender"]["password"])
    cycle = scenario["cycle"]
    open_cycle(operator, scenario)
    say(f"cycle {cycle} open")

    applicants = scenario["applicants"]
    accounts = [register(api, a, a["password"]) for a in applicants]
    needed = [r for r in requirements(operator, cycle, "organisation")
              if r.get("required") and r.get("provided_by") != "recommender"]
    app_ids = [apply(me, cycle, a, needed) for me, a in zip(accounts, applicants, strict=True)]
    say(f"{len(app_ids)} applications submitted")
    for me, app_id in zip(accounts, app_ids, strict=True):
        recommend(recommender, operator, me, app_id)
    operator.post(f"/intake/api/cycles/{cycle}/acceptance-lists",
                  {"starts_on": today().isoformat()})
    say("recommended, accepted, acceptance list published")

    def in_review() -> bool:
        arrived = operator.get("/review/api/applications", cycle=cycle)["total"]
        lists = operator.get("/review/api/lists", cycle=cycle, kind="acceptance")["total"]
        return arrived == len(app_ids) and lists > 0

    wait_for("the accepted packets in review", in_review)
    experts = people["experts"]
    panel = form_panel(operator, cycle, expert_ids(operator, experts),
                       scenario.get("per_application", 3), scenario.get("max_load", 3))
    say(f"panel {panel} assigned")
    shares = {a["name"]: float(a["share"]) for a in applicants}
    for expert in experts:
        score_stage(sign_in(api, expert["login"], expert["password"]), shares)
    say("every expert pledged once per session and scored in bulk")
    awards = decide(operator, cycle)
    for award in awards:
        say(f"{award['applicant_name']}: {award['tier']} {award['amount']} 元 {award['serial']}")
    return awards, api


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path, help="the cycle, people and applicants (JSON)")
    parser.add_argument("--base-url", default=os.environ.get("DOSSIER_PUBLIC_URL",
                                                             "http://127.0.0.1:8000"))
    args = parser.parse_args(argv)
    scenario = json.loads(args.scenario.read_text(encoding="utf-8"))
    try:
        awards, api = run_cycle(args.base_url, scenario)
    except (ApiError, TimeoutError) as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return 1
    print(f"{len(awards)} award(s) decided in {len(api.calls)} API calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
