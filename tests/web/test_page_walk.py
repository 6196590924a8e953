"""Every page, in both languages, in a real Chromium: status, lang, translations, console and
CSP, axe-core (no serious or critical violation), 360 px, and a screenshot of each.

To add a page, add one `WalkPage(role, path-or-builder, slug)` line to `PAGES`; a builder
`(stack, subject) -> path` creates the state the page needs first (see `pagewalk`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pagewalk import (
    NARROW,
    WalkPage,
    first_message,
    inbox_with_messages,
    inspect,
    walk,
    watch,
)
from walk_world import APPLICANT, EXPERT, OPERATOR, RECOMMENDER, SUPERVISOR, UNIT, at

from dossier.localstack import AppStack

PAGES: list[WalkPage] = [
    # The inbox, as several roles, empty and with messages, and one message opened.
    WalkPage("applicant", inbox_with_messages(3), "inbox"),
    WalkPage("expert", "/notify/inbox", "inbox-empty"),
    WalkPage("operator", inbox_with_messages(1), "inbox"),
    WalkPage("supervisor", inbox_with_messages(2), "inbox"),
    WalkPage("recommender", inbox_with_messages(1), "inbox", scope={"unit": "140902"}),
    WalkPage("applicant", first_message, "inbox-message"),
    # Visitors: the start page, sign-in, registration, the public pages.
    WalkPage(None, "/intake/", "start"),
    WalkPage(None, "/intake/sign-in", "sign-in"),
    WalkPage(None, "/intake/register", "register-organisation"),
    WalkPage(None, "/intake/register?kind=individual", "register-individual"),
    WalkPage(None, "/intake/forgot-password", "forgot-password"),
    WalkPage(None, "/intake/set-password?token=not-a-real-link", "set-password-unknown",
             status=410),
    WalkPage(None, at("/review/public/lists"), "public-lists"),
    WalkPage(None, at("/review/public/objections/new"), "objection-form"),
    WalkPage(None, at("/review/public/objections/received/{receipt}"), "objection-receipt"),
    WalkPage(None, at("/review/public/objections/follow?code={receipt}"), "objection-follow"),
    WalkPage(None, "/review/public/certificates", "certificate-check"),
    WalkPage(None, at("/review/public/certificates/{serial}"), "certificate-valid"),
    WalkPage(None, "/review/public/certificates/XZ-0000-0000", "certificate-unknown",
             status=404),
    # The applicant: applications, eligibility, a decided packet, a draft packet, the report.
    WalkPage("applicant", at("/intake/packets"), "packets", subject=APPLICANT),
    WalkPage("applicant", "/intake/packets/new", "eligibility"),
    WalkPage("applicant", at("/intake/packets/{application}"), "packet-decided",
             subject=APPLICANT),
    WalkPage("applicant", at("/intake/packets/{draft_application}"), "packet-draft",
             subject=APPLICANT),
    WalkPage("applicant", at("/documents/packets/{application}"), "report",
             subject=APPLICANT),
    WalkPage("applicant", at("/documents/packets/{application}/documents/{secret_document}"),
             "material", subject=APPLICANT),
    WalkPage("applicant", "/intake/account", "account"),
    # The recommender.
    WalkPage("recommender", at("/intake/queue"), "queue", subject=RECOMMENDER,
             scope={"unit": UNIT}),
    WalkPage("recommender", at("/intake/queue/{application}"), "queue-packet",
             subject=RECOMMENDER, scope={"unit": UNIT}),
    WalkPage("recommender", at("/documents/packets/{application}/documents/{secret_document}"),
             "material", subject=RECOMMENDER, scope={"unit": UNIT}),
    # The operator: intake's office, accounts, then review's pages.
    WalkPage("operator", at("/intake/office/applications"), "formal-review", subject=OPERATOR),
    WalkPage("operator", at("/intake/office/applications/{application}"), "formal-packet",
             subject=OPERATOR),
    WalkPage("operator", at("/documents/packets/{application}/documents/{secret_document}"),
             "material", subject=OPERATOR),
    WalkPage("operator", at("/intake/office/acceptance?cycle={cycle}"), "acceptance",
             subject=OPERATOR),
    WalkPage("operator", "/intake/accounts", "accounts", subject=OPERATOR),
    WalkPage("operator", "/intake/accounts/new", "account-new", subject=OPERATOR),
    WalkPage("operator", at("/intake/office/setup?cycle={cycle}"), "setup", subject=OPERATOR),
    WalkPage("operator", "/intake/office/cycles", "cycles", subject=OPERATOR),
    WalkPage("operator", "/intake/office/cycles/new", "cycle-new", subject=OPERATOR),
    WalkPage("operator", at("/intake/office/cycles/{cycle}"), "cycle", subject=OPERATOR),
    WalkPage("operator", at("/intake/office/cycles/{cycle}/waivers"), "waivers",
             subject=OPERATOR),
    WalkPage("operator", "/intake/office/units", "units", subject=OPERATOR),
    WalkPage("operator", "/intake/office/award-history", "award-history", subject=OPERATOR),
    WalkPage("operator", f"/intake/office/units/{UNIT}", "unit", subject=OPERATOR),
    WalkPage("operator", at("/review/experts"), "experts", subject=OPERATOR),
    WalkPage("operator", "/review/experts/new", "expert-new", subject=OPERATOR),
    WalkPage("operator", at("/review/experts/{expert_id}"), "expert", subject=OPERATOR),
    WalkPage("operator", at("/review/panels?cycle={cycle}"), "panels", subject=OPERATOR),
    WalkPage("operator", at("/review/panels/{panel}"), "panel", subject=OPERATOR),
    WalkPage("operator", at("/review/panels/{panel}/candidates/{application}"), "candidates",
             subject=OPERATOR),
    WalkPage("operator", at("/review/ranking?cycle={cycle}"), "ranking", subject=OPERATOR),
    WalkPage("operator", at("/review/ranking/applications/{application}/opinions"),
             "opinions", subject=OPERATOR),
    WalkPage("operator", at("/review/outcomes?cycle={cycle}"), "outcomes", subject=OPERATOR),
    WalkPage("operator", at("/review/outcomes/awards/{award}"), "award", subject=OPERATOR),
    WalkPage("operator", at("/review/objections"), "objections", subject=OPERATOR),
    WalkPage("operator", at("/review/objections/{objection}"), "objection", subject=OPERATOR),
    # The expert: assignments, the dossier, a trade-secret document, the conflict form.
    WalkPage("expert", at("/review/dossiers"), "dossiers", subject=EXPERT),
    WalkPage("expert", at("/review/dossiers/{application}"), "dossier", subject=EXPERT),
    WalkPage("expert", at("/review/dossiers/{application}/documents/{secret_document}?page=1"),
             "document", subject=EXPERT),
    WalkPage("expert", at("/review/dossiers/{application}/conflict"), "conflict-form",
             subject=EXPERT),
    # The supervisor reads everything, the reporter-less objection included.
    WalkPage("supervisor", at("/review/objections/{objection}"), "objection",
             subject=SUPERVISOR),
    WalkPage("supervisor", at("/intake/office/applications/{application}"), "formal-packet",
             subject=SUPERVISOR),
    WalkPage("supervisor", at("/review/ranking?cycle={cycle}"), "ranking", subject=SUPERVISOR),
    # Audit logs, one per service (supervisors read everything); walked after the award so
    # their screenshots show its records.
    WalkPage("supervisor", "/intake/audit", "intake-audit"),
    WalkPage("supervisor", "/documents/audit", "documents-audit"),
    WalkPage("supervisor", "/review/audit", "review-audit"),
    WalkPage("supervisor", "/notify/audit", "notify-audit"),
    # Error pages as pages: not found, and a role outside the page.
    WalkPage("applicant", "/notify/inbox/no-such-message", "not-found", status=404),
    WalkPage("applicant", "/review/audit", "forbidden", status=403),
    WalkPage(None, "/review/no-such-page", "not-found", status=404),
]


@pytest.mark.parametrize("entry", PAGES, ids=[p.id for p in PAGES])
def test_page_walk(entry: WalkPage, open_page: Callable[..., Any], stack: AppStack) -> None:
    result = walk(open_page, stack, entry)
    assert not result.problems, "\n".join(result.problems)
    assert all(shot.stat().st_size > 0 for shot in result.screenshots)


def test_walk_ids_are_unique() -> None:
    ids = [p.id for p in PAGES]
    assert len(ids) == len(set(ids))  # one screenshot name per page


_BREAK_THE_PAGE = """() => {
  const main = document.querySelector('main');
  main.insertAdjacentHTML('beforeend',
    '<input type="text" name="nameless">' +
    '<span title="[[untranslated: Planted text]]">x</span>' +
    '<div class="planted-wide">wide</div>' +
    '<p style="color: red">inline style, refused by the CSP</p>');
  document.querySelector('.planted-wide').style.width = '900px';
}"""


def test_the_walk_catches_what_it_is_meant_to(open_page: Callable[..., Any]) -> None:
    """A page with an unlabelled control, an untranslated attribute, a wide block, an inline
    style and an uncaught error fails each of the checks: the harness is not passing by
    looking at nothing."""
    page = open_page("applicant", "walk-self-test", lang="en", width=NARROW)
    console = watch(page)
    page.goto("/notify/inbox")
    page.wait_for_load_state("networkidle")
    assert inspect(page, lang="en", narrow=True) == [] and console == []
    page.evaluate(_BREAK_THE_PAGE)
    page.evaluate("() => { setTimeout(() => { throw new Error('planted failure'); }, 0); }")
    page.wait_for_timeout(300)
    problems = inspect(page, lang="zh-CN", narrow=True)
    text = "\n".join(problems + console)
    assert "html[lang]='en', expected 'zh-CN'" in text
    assert "[[untranslated: Planted text]]" in text
    assert "scrolls sideways at 360px" in text
    assert "axe critical label (" in text, text
    assert "CSP: style-src-attr blocked inline" in text, text
    assert "planted failure" in text, text


CHROMIUM_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                   "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")


def test_unknown_address_is_a_page_for_browsers_and_problem_json_for_clients(
        stack: AppStack) -> None:
    import requests

    url = f"{stack.public_url}/review/no-such-page"
    page = requests.get(url, headers={"Accept": CHROMIUM_ACCEPT}, timeout=10)
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert 'lang="zh-CN"' in page.text and "<title>" in page.text
    for accept in ("*/*", "application/json"):
        api = requests.get(url, headers={"Accept": accept}, timeout=10)
        assert api.status_code == 404
        assert api.headers["Content-Type"] == "application/problem+json"


_WIDE_TABLE = """() => {
  document.querySelector('main').insertAdjacentHTML('beforeend',
    '<div class="table-wrap"><table><caption>Planted</caption><tbody><tr>' +
    '<td><div class="planted-cell">wide</div></td></tr></tbody></table></div>');
  document.querySelector('.planted-cell').style.width = '2000px';
}"""


def test_a_table_wider_than_the_screen_scrolls_by_keyboard(
        open_page: Callable[..., Any]) -> None:
    """The shared script makes an overflowing .table-wrap a focusable, named region (axe's
    scrollable-region-focusable is serious), so every page's wide tables stay usable."""
    page = open_page("supervisor", "walk-wide-table", lang="en", width=NARROW)
    page.goto("/notify/audit")
    page.evaluate(_WIDE_TABLE)
    before = "\n".join(inspect(page, lang="en", narrow=True))
    assert "scrollable-region-focusable" in before
    page.evaluate("() => window.dossierScrollables()")
    assert inspect(page, lang="en", narrow=True) == []
    wrap = page.locator(".table-wrap", has_text="wide")
    assert wrap.get_attribute("tabindex") == "0" and wrap.get_attribute("aria-label") == "Planted"


# Real packets carry names the walk's world does not: a file name with no space in it, an
# organisation's long English name, a pasted URL in an opinion, a long Chinese paragraph.
_LONG_CONTENT = """() => {
  const file = 'Quality_management_self_evaluation_report_2023-2025_final_signed_and_sealed_by_' +
               'the_legal_representative_version_3_scanned_at_600dpi.pdf';
  const word = 'Supercalifragilisticexpialidocious-Precision-Manufacturing-Holdings-Group-Ltd';
  const url = 'https://www.example.gov.cn/zwgk/tzgg/2026/11/25/' + 'a'.repeat(80) + '.html';
  const zh = '忻州市'.repeat(40);
  document.querySelectorAll('.filename, [data-filename] th, [data-document] th')
    .forEach(el => { el.textContent = file; });
  document.querySelectorAll('h1').forEach(el => { el.textContent = word + ' ' + zh; });
  document.querySelectorAll('dl.facts dd').forEach((el, i) => {
    el.textContent = [word, url, zh, file][i % 4]; });
  document.querySelectorAll('main td, main li').forEach((el, i) => {
    if (!el.children.length) el.textContent = [url, zh, word][i % 3]; });
  document.querySelectorAll('select option').forEach(el => { el.textContent = file; });
}"""


@pytest.mark.parametrize(("role", "subject", "scope", "template"), [
    ("applicant", APPLICANT, None, "/intake/packets/{application}"),
    ("applicant", APPLICANT, None, "/intake/packets/{draft_application}"),
    ("recommender", RECOMMENDER, {"unit": UNIT}, "/intake/queue/{application}"),
    ("operator", OPERATOR, None, "/intake/office/applications/{application}"),
], ids=["packet-decided", "packet-draft", "queue-packet", "formal-packet"])
def test_packet_pages_stay_narrow_with_long_names(
        role: str, subject: str, scope: dict[str, str] | None, template: str,
        open_page: Callable[..., Any], stack: AppStack) -> None:
    """The 360 px check holds for long file names, ids and text, not only the walk's data."""
    path = at(template)(stack, subject)
    page = open_page(role, subject, "", scope, lang="en", width=NARROW)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.evaluate(_LONG_CONTENT)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= NARROW + 2, f"{path} scrolls sideways with long content ({width}px)"
