"""pages: p95 latency of two busy pages at 50 concurrent signed-in users vs a bare Flask route.

A private stack (four services and workers on PostgreSQL, behind the same nginx as `make run`,
web processes with make run's gunicorn settings) plus a trivial Flask app started by this
benchmark with the same gunicorn settings, routed by the same nginx at `/bare/` (an extra
location in this run's generated configuration only). State is built through the services'
APIs and, for what reaches review from intake, as intake's events through the broker:

- `PACKETS` applicants, each with an application and `DOCUMENTS` small PDFs uploaded through
  intake; the applicant packet page `/intake/packets/<id>`;
- `EXPERTS` experts, each assigned the same `ASSIGNMENTS` applications by review's solver;
  the expert dossier list `/review/dossiers`.

Every user is a real browser session (cookie in Redis, as the sign-in page leaves it) with its
own kept-alive HTTP connection; `USERS` threads, spread over `CLIENT_PROCS` processes, request
their page in a closed loop. The three
targets run one after another, twice each in alternating order, and all samples count. Any
answer other than 200 fails the benchmark with the status and where it led.

Prints `pages: ratio=<max of the two p95 ratios> packet_p95=… dossiers_p95=… bare_p95=…`
(milliseconds); target ratio ≤ 3. Each session's first view renders the page and later ones
come from the page cache until something on the page changes (docs/web.md), as for a real
user reloading; `first_view_median` adds, for transparency, what a page costs when the cache
has nothing for it (new sessions, one request at a time).
`PAGES_BENCH_PATHS=packet=/notify/inbox,dossiers=supervisor:/review/audit` swaps the measured
paths, with another role if given (to try the harness on pages that exist while others are
built).
"""

from __future__ import annotations

import io
import os
import secrets
import statistics
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from dossier.localstack import AppStack, Proc, free_port_block, wait_until, web_argv
from shared.auth import issue_token

USERS = 50
PACKETS = 50
DOCUMENTS = 3
EXPERTS = 5
ASSIGNMENTS = 200
REQUESTS_PER_USER = 20  # per round; two rounds per target
CLIENT_PROCS = 5
ROUNDS = 2
WEB_WORKERS = 2  # as `make run` (dossier/embedded.py)
TARGET = 3.0


def bare_app() -> Any:
    """The baseline: a Flask route that returns a short page and does nothing else."""
    from flask import Flask

    app = Flask("bare")

    @app.get("/page")
    def page() -> str:
        return "<!doctype html><title>bare</title><p>ok</p>"

    return app


# -- the stack ------------------------------------------------------------------------------

def _start(env: Any) -> AppStack:
    stack = AppStack(env.backing, env.root / "bench-pages", redis_db=7, with_proxy=False)
    stack.start()
    # The two measured services with make run's process count, not the tests' single worker.
    for svc in ("intake", "review"):
        stack.procs.pop(f"{svc}-web").stop()
        proc = Proc(f"{svc}-web", web_argv(svc, stack.ports[svc], workers=WEB_WORKERS),
                    stack.root / "logs" / f"{svc}-web.log", env=stack.env()).start()
        stack.procs[proc.name] = proc
        stack.wait_web(svc)
    bare_port = free_port_block(1)
    argv = web_argv("notify", bare_port, workers=WEB_WORKERS)
    argv[-1] = "bench.pages:bare_app()"
    bare = Proc("bare-web", argv, stack.root / "logs" / "bare-web.log",
                env={**stack.env(), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
                ).start()
    stack.procs[bare.name] = bare

    from dossier.proxy import nginx_argv, write_embedded_conf

    conf = write_embedded_conf(stack.root, stack.ports["proxy"],
                               {svc: f"127.0.0.1:{stack.ports[svc]}"
                                for svc in ("intake", "documents", "review", "notify")},
                               extra={"bare": f"127.0.0.1:{bare_port}"},
                               secret_key=stack.secret_key)
    proxy = Proc("proxy", nginx_argv(conf), stack.root / "logs" / "proxy.log",
                 env=stack.env()).start()
    stack.procs[proxy.name] = proxy

    def answering() -> bool:
        return all(requests.get(f"{stack.public_url}{p}", timeout=2).status_code == 200
                   for p in ("/intake/healthz", "/bare/page"))

    wait_until(answering, 30, "proxy and bare app", proxy.popen, proxy.log)
    return stack


def _headers(stack: AppStack, role: str, subject: str) -> dict[str, str]:
    token = issue_token(stack.secret_key, subject=subject, role=role, ttl_seconds=7200)
    return {"Authorization": f"Bearer {token}"}


def _ok(r: requests.Response, what: str) -> requests.Response:
    if r.status_code >= 300:
        raise RuntimeError(f"{what}: {r.status_code} {r.text[:300]}")
    return r


def _pdf(seed: int) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for page in range(3):
        c.drawString(72, 720, f"bench document {seed} page {page + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


# -- state through the APIs -----------------------------------------------------------------

def _packets(stack: AppStack, http: requests.Session) -> list[tuple[str, str]]:
    """(applicant subject, application id) per applicant, each with DOCUMENTS files."""
    url = stack.url("intake")
    today = date.today()
    _ok(http.put(f"{url}/api/cycles/bench-pages", headers=_headers(stack, "operator", "op"),
                 json={"year": today.year, "title": "bench", "status": "open",
                       "opens_on": (today - timedelta(days=1)).isoformat(),
                       "closes_on": (today + timedelta(days=30)).isoformat()},
                 timeout=30), "cycle")
    out = []
    for n in range(PACKETS):
        subject = f"bench-applicant-{n}"
        me = _headers(stack, "applicant", subject)
        app = _ok(http.post(f"{url}/api/applications", headers=me, timeout=30, json={
            "cycle": "bench-pages", "kind": "organisation", "name": f"基准页面测试{n}有限公司"}),
            "application").json()
        for d in range(DOCUMENTS):
            _ok(http.post(f"{url}/api/applications/{app['id']}/documents",
                          params={"requirement": "evidence", "filename": f"材料{d + 1}.pdf"},
                          headers={**me, "Content-Type": "application/pdf"},
                          data=_pdf(n * 10 + d), timeout=60), "upload")
        out.append((subject, app["id"]))
    return out


def _assignments(stack: AppStack, http: requests.Session) -> list[str]:
    """EXPERTS experts, each assigned the same ASSIGNMENTS accepted applications."""
    from celery import Celery

    from shared.events import Event

    cycle = f"bp{secrets.token_hex(3)}"
    sender = Celery("bench-pages", broker=stack.env()["DOSSIER_REDIS_URL"],
                    set_as_current=False)

    def deliver(type_: str, payload: dict[str, Any]) -> None:
        event = Event(id=str(uuid.uuid4()), type=type_, source="intake",
                      occurred_at=datetime.now(UTC).isoformat(), payload=payload)
        sender.send_task("review.handle_event", args=[event.envelope()], queue="review")

    deliver("cycle.saved", {"cycle": cycle, "year": date.today().year, "title": "基准",
                            "opens_on": "2025-03-01", "closes_on": "2025-06-30",
                            "status": "open", "caps": {"awards": 10, "nominations": 50},
                            "catalogue": None, "audience": []})
    for n in range(ASSIGNMENTS):
        app_id = f"bench-{cycle}-{n:03d}"
        deliver("packet.accepted", {
            "application_id": app_id, "cycle": cycle, "kind": "organisation",
            "owner": f"owner-{app_id}", "unit": "140902", "documents": [],
            "applicant": {"applicant_id": f"p-{app_id}", "kind": "organisation",
                          "name": f"基准申报单位{n:03d}", "credit_code": None,
                          "county": "140902", "industry": "machinery",
                          "legal_representative": None, "employer": None,
                          "employer_credit_code": None, "related": []},
            "audience": []})
    sender.close()
    url = f"{stack.url('review')}/api"
    op = _headers(stack, "operator", "op-bench")

    def arrived() -> bool:
        r = _ok(http.get(f"{url}/applications", headers=op,
                         params={"cycle": cycle, "per_page": "1"}, timeout=30), "applications")
        return r.json()["total"] >= ASSIGNMENTS

    wait_until(arrived, 300, "accepted applications in review")
    experts = []
    for n in range(EXPERTS):
        e = _ok(http.post(f"{url}/experts", headers=op, timeout=30, json={
            "subject": f"bench-expert-{cycle}-{n}", "name": f"基准专家{n}",
            "organisation": f"基准大学{n}", "fields": ["machinery"]}), "expert").json()
        experts.append(e)
    panel = _ok(http.post(f"{url}/panels", headers=op, timeout=30, json={
        "cycle": cycle, "stage": "material", "per_application": EXPERTS,
        "max_load": ASSIGNMENTS, "pool": [e["id"] for e in experts]}), "panel").json()
    _ok(http.post(f"{url}/panels/{panel['id']}/assign", headers=op, timeout=300), "assign")
    subjects = [e["subject"] for e in experts]
    mine = _ok(http.get(f"{url}/my/dossiers", headers=_headers(stack, "expert", subjects[0]),
                        params={"per_page": 200}, timeout=60), "my dossiers").json()
    if mine["total"] != ASSIGNMENTS:
        raise RuntimeError(f"expert has {mine['total']} assignments, not {ASSIGNMENTS}")
    return subjects


def _quiet(stack: AppStack) -> None:
    """Wait for the workers to finish what the set-up queued (inspections, notices), so the
    measurement does not share the machine with them."""
    import redis

    client = redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"])
    queues = ("intake", "documents", "review", "notify", "notify.email", "notify.webhook")
    try:
        wait_until(lambda: sum(client.llen(q) for q in queues) == 0, 600, "idle queues")
    finally:
        client.close()
    time.sleep(3)  # the last task picked up is still running


# -- load -----------------------------------------------------------------------------------

def _session(stack: AppStack, role: str, subject: str, name: str | None = None) -> str:
    """A browser session as the sign-in page leaves it (cookie → Redis); returns the cookie."""
    import redis

    from shared.web.sessions import SessionStore

    client = redis.Redis.from_url(stack.env()["DOSSIER_REDIS_URL"], decode_responses=True)
    try:
        return SessionStore(client, idle=7200, absolute=7200).create(
            subject=subject, role=role, name=name or subject, scope=None).sid
    finally:
        client.close()


User = tuple[str, str]  # (session cookie, path)


def _client(port: int, users: list[User], requests_each: int) -> tuple[list[float], list[str]]:
    """One client process: a thread per user, each with its own kept-alive connection,
    requesting its page in a closed loop as a browser would (session cookie, Accept html)."""
    import urllib3

    from shared.web.sessions import COOKIE

    samples: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def user(sid: str, path: str) -> None:
        pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False,
                                          timeout=120)
        headers = {"Cookie": f"{COOKIE}={sid}", "Accept": "text/html"}
        mine = []
        try:
            for _ in range(requests_each):
                t0 = time.perf_counter()
                r = pool.request("GET", path, headers=headers, redirect=False)
                mine.append(time.perf_counter() - t0)
                if r.status != 200:
                    raise RuntimeError(f"{path}: {r.status} {r.headers.get('Location', '')} "
                                       f"{r.data[:200]!r}")
        except Exception as exc:  # reported by the parent: one failure fails the benchmark
            with lock:
                errors.append(str(exc))
        finally:
            pool.close()
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=user, args=u) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, errors


def _load(stack: AppStack, users: list[User]) -> list[float]:
    """All users at once, spread over CLIENT_PROCS processes so the client's own GIL does
    not become what is measured; seconds per request."""
    import multiprocessing

    port = stack.ports["proxy"]
    shares = [users[i::CLIENT_PROCS] for i in range(CLIENT_PROCS)]
    with multiprocessing.get_context("fork").Pool(CLIENT_PROCS) as pool:
        results = pool.starmap(_client, [(port, share, REQUESTS_PER_USER) for share in shares])
    errors = [e for _, errs in results for e in errs]
    if errors:
        raise RuntimeError(f"{len(errors)} users failed, first: {errors[0]}")
    return [t for samples, _ in results for t in samples]


def _first_views(stack: AppStack, plan: dict[str, tuple[str, list[tuple[str, str]]]],
                 count: int = 20) -> dict[str, float]:
    """Median latency of a page's first view in a new session, one request at a time: what
    the page costs when the page cache has nothing for it (ms)."""
    import urllib3

    from shared.web.sessions import COOKIE

    pool = urllib3.HTTPConnectionPool("127.0.0.1", stack.ports["proxy"], maxsize=1)
    out = {}
    for name, (role, who) in plan.items():
        times = []
        for i in range(count):
            subject, path = who[i % len(who)]
            # A name this account has not had: nothing kept for it yet.
            sid = _session(stack, role, subject, name=f"{subject} {secrets.token_hex(3)}")
            t0 = time.perf_counter()
            r = pool.request("GET", path, headers={"Cookie": f"{COOKIE}={sid}",
                                                   "Accept": "text/html"}, redirect=False)
            times.append(time.perf_counter() - t0)
            if r.status != 200:
                raise RuntimeError(f"first view of {path}: {r.status}")
        out[name] = statistics.median(times) * 1000
    pool.close()
    return out


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def _paths() -> dict[str, str]:
    wanted = os.environ.get("PAGES_BENCH_PATHS", "")
    return dict(item.split("=", 1) for item in wanted.split(",") if "=" in item)


def run(env: Any) -> list[str]:
    stack = _start(env)
    try:
        with requests.Session() as http:
            packets = _packets(stack, http)
            experts = _assignments(stack, http)
        _quiet(stack)
        override = _paths()
        applicants = [subject for subject, _ in packets]
        # Per target: the role and, per user, (subject, path); each applicant opens their own
        # packet. An override `[role:]path` measures another page (and role) in its place.
        plan: dict[str, tuple[str, list[tuple[str, str]]]] = {
            "packet": ("applicant", [(s, f"/intake/packets/{a}") for s, a in packets]),
            "dossiers": ("expert", [(s, "/review/dossiers") for s in experts]),
            "bare": ("applicant", [(s, "/bare/page") for s in applicants]),
        }
        for name, asked in override.items():
            role, _, path = asked.rpartition(":")
            role = role or plan[name][0]
            plan[name] = (role, [(s, path) for s, _ in plan[name][1]])
        users = {name: [(_session(stack, role, who[i % len(who)][0]), who[i % len(who)][1])
                         for i in range(USERS)]
                 for name, (role, who) in plan.items()}
        for name, sessions in users.items():  # warm up: connections, caches, templates
            _, errors = _client(stack.ports["proxy"], sessions[:5], 2)
            if errors:
                raise RuntimeError(f"warm-up {name}: {errors[0]}")
        samples: dict[str, list[float]] = {name: [] for name in users}
        order = list(users)
        for i in range(ROUNDS):
            for name in order if i % 2 == 0 else order[::-1]:
                samples[name] += _load(stack, users[name])
        p95 = {name: _p95(s) * 1000 for name, s in samples.items()}
        first = _first_views(stack, plan)
        ratio = max(p95["packet"], p95["dossiers"]) / p95["bare"]
        note = f" paths={override}" if override else ""
        return [f"pages: ratio={ratio:.2f} packet_p95={p95['packet']:.1f}ms "
                f"dossiers_p95={p95['dossiers']:.1f}ms bare_p95={p95['bare']:.1f}ms "
                f"users={USERS} requests={sum(len(s) for s in samples.values())} "
                f"dossier_assignments={ASSIGNMENTS} target<={TARGET:g} "
                f"first_view_median packet={first['packet']:.1f}ms "
                f"dossiers={first['dossiers']:.1f}ms bare={first['bare']:.1f}ms{note}"]
    finally:
        stack.stop()
