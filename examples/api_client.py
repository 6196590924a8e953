"""A whole award cycle driven through Dossier's public API, as an integrator would write it.

Only public endpoints behind the one origin (nginx) are used; no server secret is needed:

  applicants   POST /intake/api/register               (each gets its own bearer token)
  staff        POST /intake/api/sign-in                (login names and passwords they were given)
  operator     PUT  /intake/api/cycles/{cycle}          open the cycle
  applicants   POST /intake/api/applications, POST …/documents/batch (every file at once),
               GET …/applications/{id}?wait=30 (held until inspection is done), PUT …/publicity,
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
from collections import Counter, defaultdict
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

    def watch(self, what: str, path: str, ready: Callable[[Any], T | None],
              timeout: float = 180) -> T:
        """GET `path` until `ready` finds what it needs in the answer. After the first answer
        each request is held by the server (`?wait=30`, with the last `ETag` in
        `If-None-Match`) until the answer changes, so the client never asks in a loop; the
        `pending` field of an answer says what the services are still doing."""
        deadline = time.monotonic() + timeout
        etag: str | None = None
        params: dict[str, Any] = {}
        while time.monotonic() < deadline:
            headers = {"Authorization": f"Bearer {self.token}"}
            if etag:
                headers["If-None-Match"] = etag
            self.calls.append(f"GET {path}")
            r = self.http.get(f"{self.base_url}{path}", params=params, headers=headers,
                              timeout=120)
            params = {"wait": 30}
            if r.status_code == 304:  # nothing changed within the wait: wait again
                continue
            if r.status_code == 503 and r.headers.get("Retry-After"):  # wait.busy, or an outage
                time.sleep(float(r.headers["Retry-After"]))
                continue
            body = r.json() if r.content else None
            if r.status_code == 404 and (body or {}).get("code") == "cycle.requirements_pending":
                continue  # the list is being prepared: the next request waits for it
            if r.status_code >= 400:
                raise ApiError("GET", path, r.status_code, body or {})
            etag = r.headers.get("ETag")
            found = ready(body)
            if found:
                return found
        raise TimeoutError(f"still waiting after {timeout:.0f} s: {what}")


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 180) -> T:
    """Ask again every second until `check` answers: for review's lists, which do not yet hold
    a request until they change as intake's answers do (`Api.watch`)."""
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
    """The cycle's requirement list, waited for while documents prepares it (404
    `cycle.requirements_pending` until then)."""
    return api.watch("the cycle's requirement list", f"/intake/api/cycles/{cycle}/requirements",
                     lambda body: list(body["kinds"][kind]))


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
    secret = set(applicant.get("trade_secrets", []))
    versions = _upload_all(me, app["id"], [
        (r["id"], Path(applicant["files"][r["id"]]), r["id"] in secret) for r in needed])
    # the answer lists one version per file, in the order they were sent
    uploaded = {r["id"]: v["document_id"] for r, v in zip(needed, versions, strict=True)}
    # intake's answer lists what is still being checked (`pending`); wait until it is empty
    me.watch(f"inspection of {applicant['name']}'s files",
             f"/intake/api/applications/{app['id']}", lambda body: not body["pending"])
    day = today()
    me.put(f"/intake/api/applications/{app['id']}/publicity", {
        "starts_on": (day - timedelta(days=30)).isoformat(),
        "ends_on": (day - timedelta(days=2)).isoformat(),
        "document_id": uploaded[applicant["publicity_proof"]]})
    me.post(f"/intake/api/applications/{app['id']}/submit", {
        "route": "county", "attest_no_state_secrets": True, "attest_authentic": True})
    return str(app["id"])


def _upload_all(me: Api, app_id: str, files: list[tuple[str, Path, bool]]) -> list[Any]:
    """Every file of the packet in one request (`…/documents/batch`): each file part follows
    its own fields; all files are recorded, or none and each refused file is named."""
    parts: list[tuple[str, Any]] = []
    handles = []
    try:
        for requirement, path, secret in files:
            fh = path.open("rb")
            handles.append(fh)
            parts += [("requirement", (None, requirement)),
                      ("confidentiality", (None, "trade-secret" if secret else "internal")),
                      ("file", (path.name, fh, "application/pdf"))]
        answer = me.call("POST", f"/intake/api/applications/{app_id}/documents/batch",
                         files=parts)
    finally:
        for fh in handles:
            fh.close()
    return list(answer["versions"])


def recommend(recommender: Api, operator: Api, me: Api, app_id: str) -> None:
    """The county recommends once the completeness report is back; the office accepts."""
    me.watch("the completeness report", f"/intake/api/applications/{app_id}",
             lambda body: body.get("completeness") and not body["pending"])
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
    print(f"{len(awards)} award(s) decided in {len(api.calls)} API calls:")
    # each route once, its ids written as {id}: what an integrator counts against rate limits
    routes = Counter("/".join("{id}" if any(c.isdigit() for c in part) else part
                              for part in call.split("/")) for call in api.calls)
    for route, n in sorted(routes.items()):
        print(f"  {n:4d}  {route}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
