"""Walking a page in a real Chromium: both languages, axe-core, 360 px, screenshots.

`walk(open_page, stack, page)` opens one `WalkPage` (a role and a path, or a callable that builds
the state the page needs and returns the path) in zh-CN and in English, at 1280 px and at
360 px, and fails with every problem found at once:

- the HTTP status of the document (200 unless the entry says otherwise) and `html[lang]`;
- no `[[untranslated: …]]` (strict catalogues) in the text or any attribute of the DOM;
- no console error and no Content-Security-Policy violation;
- axe-core (the `axe-playwright-python` package's bundled axe.min.js, nothing downloaded):
  no violation of impact serious or critical (this covers labels on every form control);
- at 360 px the document does not scroll sideways.

Screenshots (full page) go to `test-artifacts/pages/<role>-<slug>-<lang>[-360].png`.

Adding a page to the walk is one `WalkPage(...)` line in `test_page_walk.py`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from waiting import poll

from dossier.localstack import AppStack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
LANGUAGES = ("zh-CN", "en")
NARROW = 360
SCROLL_TOLERANCE = 2  # px: sub-pixel rounding, not a real overflow
BLOCKING_IMPACTS = ("serious", "critical")
PathOrBuilder = str | Callable[[AppStack, str], str]


@dataclass(frozen=True)
class WalkPage:
    """One page to walk. `path` is a path on the one origin, or `build(stack, subject)` that
    creates whatever the page needs and returns the path: through the APIs (a bearer token is
    `shared.auth.issue_token(stack.secret_key, subject=..., role=...)`) or events
    (`send_event`). `subject` is who the walk signs in as (a fresh one when left empty)."""

    role: str | None
    path: PathOrBuilder
    slug: str
    status: int = 200
    subject: str = ""
    name: str = ""
    scope: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.role or 'visitor'}-{self.slug}"


@dataclass
class WalkResult:
    problems: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


# The page's own text and every attribute value, so a missing translation in an aria-label,
# a title or a placeholder is found as surely as one in the text.
_DOM_TEXTS = """() => {
  const out = [document.title, document.body ? document.body.innerText : ''];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) out.push(a.value);
  }
  return out.join('\\n');
}"""
_SCROLL_WIDTH = "() => document.documentElement.scrollWidth"


def _axe_problems(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    problems = []
    for v in results.response.get("violations", []):
        if v.get("impact") not in BLOCKING_IMPACTS:
            continue
        nodes = "; ".join(
            f"{' '.join(map(str, n.get('target', [])))} :: {n.get('failureSummary', '')!r}"
            for n in v.get("nodes", [])[:5])
        problems.append(f"axe {v['impact']} {v['id']} ({v.get('help', '')}): {nodes}")
    return problems


def inspect(page: Any, *, lang: str, narrow: bool = False) -> list[str]:
    """What is wrong with the page as it stands: language, translations, CSP refusals, width,
    axe-core."""
    problems: list[str] = []
    html_lang = page.locator("html").get_attribute("lang")
    if html_lang != lang:
        problems.append(f"html[lang]={html_lang!r}, expected {lang!r}")
    texts = page.evaluate(_DOM_TEXTS)
    problems += sorted(set(re.findall(r"\[\[untranslated: [^\]]*\]\]", texts)))
    problems += [f"CSP: {v}" for v in page.evaluate("() => window.__dossierCsp || []")]
    if narrow:
        width = page.evaluate(_SCROLL_WIDTH)
        if width > NARROW + SCROLL_TOLERANCE:
            problems.append(f"scrolls sideways at {NARROW}px (scrollWidth {width})")
    return problems + _axe_problems(page)


# Every CSP refusal, recorded by the page itself from its first moment (an init script runs
# before the page's own and is not subject to its CSP).
_CSP_RECORDER = """document.addEventListener('securitypolicyviolation', e => {
  (window.__dossierCsp = window.__dossierCsp || []).push(
    e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile +
    ':' + e.lineNumber);
});"""


def watch(page: Any, status: int = 200) -> list[str]:
    """Start collecting console errors and uncaught exceptions; returns the live list."""
    console: list[str] = []

    def on_console(m: Any) -> None:
        # The browser logs the document's own non-200 answer as an error; an error page
        # walked on purpose (404, 403) is not one.
        if m.type != "error" or (status != 200 and m.location.get("url", "").split("?")[0]
                                 == page.url.split("?")[0]
                                 and f"status of {status}" in m.text):
            return
        console.append(f"console: {m.text} ({m.location.get('url', '')})")

    page.add_init_script(_CSP_RECORDER)
    page.on("console", on_console)
    page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
    return console


def check_page(page: Any, url: str, *, lang: str, status: int, shot: Path,
               narrow: bool = False) -> list[str]:
    """Load `url` in an already opened Playwright page and list what is wrong with it."""
    problems: list[str] = []
    console = watch(page, status)
    response = page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")  # the header badge's fetch has answered
    where = f"{url} [{lang}{' 360px' if narrow else ''}]"
    got = response.status if response is not None else None
    if got != status:
        problems.append(f"{where}: status {got}, expected {status}")
    problems += [f"{where}: {p}" for p in [*console, *inspect(page, lang=lang, narrow=narrow)]]
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    return problems


def walk(open_page: Callable[..., Any], stack: AppStack, entry: WalkPage) -> WalkResult:
    """Every check of `check_page` for one entry, in both languages and both widths."""
    subject = entry.subject or f"{entry.role or 'visitor'}-walk-{uuid.uuid4().hex[:6]}"
    path = entry.path(stack, subject) if callable(entry.path) else entry.path
    result = WalkResult()
    for lang in LANGUAGES:
        for width in (1280, NARROW):
            page = open_page(entry.role, subject, entry.name, entry.scope, lang=lang,
                             width=width)
            suffix = "-360" if width == NARROW else ""
            shot = ARTIFACTS / f"{entry.id}-{lang}{suffix}.png"
            result.problems += check_page(page, path, lang=lang, status=entry.status,
                                          shot=shot, narrow=width == NARROW)
            result.screenshots.append(shot)
    return result


# -- state builders -------------------------------------------------------------------------

def send_event(stack: AppStack, type_: str, payload: dict[str, Any],
               source: str = "review") -> str:
    """An event delivered to notify as a producer's outbox relay does (a Celery message on the
    `notify` queue); returns once notify has handled it."""
    from celery import Celery

    from shared.events import Event

    event = Event(id=str(uuid.uuid4()), type=type_, source=source,
                  occurred_at=datetime.now(UTC).isoformat(), payload=payload)
    app = Celery("pagewalk", broker=stack.env()["DOSSIER_REDIS_URL"], set_as_current=False)
    app.conf.update(task_serializer="json")
    try:
        app.send_task("notify.handle_event", args=[event.envelope()], queue="notify")
    finally:
        app.close()
    poll(lambda: stack.processed("notify", event.id), 30, 0.1)
    return event.id


def notice(stack: AppStack, subject: str, n: int = 0) -> str:
    """One inbox message for `subject`: an application accepted (any role can be addressed
    through the event's own audience)."""
    return send_event(stack, "packet.accepted", {
        "application_id": f"walk-app-{n}", "cycle": "2026", "kind": "organisation",
        "owner": subject, "unit": "140902", "applicant": {}, "documents": [],
        "audience": [{"subject": subject}]}, source="intake")


def inbox_with_messages(count: int = 3) -> Callable[[AppStack, str], str]:
    def build(stack: AppStack, subject: str) -> str:
        for n in range(count):
            notice(stack, subject, n)
        return "/notify/inbox"
    return build


def first_message(stack: AppStack, subject: str) -> str:
    notice(stack, subject)
    rows = stack.query("notify", "SELECT id FROM notifications WHERE recipient = :s", s=subject)
    return f"/notify/inbox/{rows[0][0]}"
