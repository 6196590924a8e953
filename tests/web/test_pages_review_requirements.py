"""Review names a dossier's documents from the requirement list the documents service announced
for the cycle (`requirements.published`), in the page's language: a cycle judged against
another catalogue shows that catalogue's titles; an id the list does not name is shown as it
is; a late, older announcement never replaces a newer one."""

from __future__ import annotations

import re
import textwrap
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from intake.flows import Intake
from review.reviewstack import ReviewDriver, today_plus
from samples import text_pdf
from waiting import poll

from dossier.localstack import AppStack
from shared.events import Event

pytestmark = pytest.mark.stack

CATALOGUE = textwrap.dedent("""\
    version: rv-award-2026
    title: {zh-CN: 知识产权示范奖申报材料, en: IP model award materials}
    kinds:
      organisation:
        - id: patent-list
          title: {zh-CN: 有效专利清单, en: List of valid patents}
          required: true
          formats: [pdf]
        - id: bureau-opinion
          title: {zh-CN: 知识产权局意见, en: IP bureau opinion}
          required: true
          formats: [pdf]
          provided_by: recommender
      individual:
        - id: inventor-statement
          title: {zh-CN: 发明人陈述, en: Inventor's statement}
          required: true
    """)


@pytest.fixture
def intake(stack: AppStack) -> Iterator[Intake]:
    with requests.Session() as http:
        yield Intake(stack, http)


def _cycle_with_catalogue(stack: AppStack, intake: Intake, folder: Path) -> str:
    """A cycle judged against a catalogue only this test has, announced by the real documents
    worker (given the operator's catalogue folder, then put back as it was)."""
    folder.mkdir()
    (folder / "rv-award-2026.yaml").write_text(CATALOGUE, encoding="utf-8")
    stack.procs["documents-worker"].stop()
    stack.start_worker("documents", env={"DOSSIER_DOCUMENTS_CATALOGUE_DIR": str(folder)})
    try:
        stack.wait_worker("documents")
        cycle = intake.open_cycle(catalogue="rv-award-2026")["id"]
        assert intake.requirements(cycle)["catalogue"] == "rv-award-2026"
    finally:
        stack.procs["documents-worker"].stop()
        stack.start_worker("documents")
        stack.wait_worker("documents")
    return cycle


def _review_list(stack: AppStack, cycle: str) -> Any:
    rows = stack.query("review", "SELECT catalogue, kinds, published_at FROM requirement_lists "
                       "WHERE cycle = :c", c=cycle)
    return rows[0] if rows else None


def _announce(review: ReviewDriver, cycle: str, items: list[dict[str, Any]], at: datetime
              ) -> str:
    """A `requirements.published` as documents' relay would send it, stamped `at`."""
    event = Event(id=str(uuid.uuid4()), type="requirements.published", source="documents",
                  occurred_at=at.isoformat(), payload={
                      "cycle": cycle, "catalogue": {"version": "rv-award-2026", "title": None},
                      "kinds": {"organisation": [{"required": True, **i} for i in items]},
                      "audience": []})
    review.sender.send_task("review.handle_event", args=[event.envelope()], queue="review")
    poll(lambda: review.stack.processed("review", event.id))
    return event.id


def _types(page: str) -> dict[str, str]:
    """Each document row's "Type" cell, by file name."""
    return {name: cell.strip() for name, cell in re.findall(
        r'<th scope="row" data-label="[^"]+">([^<]+)</th>\s*<td data-label="[^"]+">(.*?)</td>',
        page, re.S)}


def _dossier(browser: Any, app_id: str) -> dict[str, dict[str, str]]:
    out = {}
    for lang in ("zh-CN", "en"):
        r = browser.get(f"/review/dossiers/{app_id}?lang={lang}")
        assert r.status_code == 200, r.text[:500]
        assert "[[untranslated" not in r.text
        out[lang] = _types(r.text)
    return out


def test_the_expert_dossier_names_documents_from_the_cycles_announced_list(
        stack: AppStack, intake: Intake, auth: Callable[[str, str], dict[str, str]],
        http: requests.Session, browser_login: Callable[..., Any], tmp_path: Path) -> None:
    cycle = _cycle_with_catalogue(stack, intake, tmp_path / "catalogues")
    # The same announcement intake received reaches review and is kept per cycle.
    kept = poll(lambda: _review_list(stack, cycle))
    assert kept.catalogue == "rv-award-2026"
    assert [i["id"] for i in kept.kinds["organisation"]] == ["patent-list", "bureau-opinion"]

    review = ReviewDriver(stack, auth, http, cycle=cycle)
    try:
        body = text_pdf(["patents"])
        app_id = f"rq-{cycle}"
        docs = [review.document(app_id, "patent-list", "专利.pdf", body),
                review.document(app_id, "bureau-opinion", "意见.pdf", body),
                # Named by the quality award's catalogue, not by this cycle's.
                review.document(app_id, "overview", "概述.pdf", body)]
        review.accept("忻州专利示范有限公司", credit_code="91140900RQPAGE001", app_id=app_id,
                      documents=docs)
        review.wait_applications(1)
        expert = review.expert(f"exp-rq-{cycle}", "山西大学", name="材料评审")
        panel = review.panel("material", 1, 1, [expert["id"]], deadline=today_plus(10))
        r = http.post(f"{review.url}/panels/{panel['id']}/assign", headers=review.operator)
        assert r.status_code == 201, r.text
        me = browser_login("expert", expert["subject"], expert["name"])
        assert me.post(f"/review/dossiers/{app_id}/pledge", {"accept": "1"}).status_code == 303

        page = _dossier(me, app_id)
        # The recommender's item is named too: its documents travel with the packet.
        assert page["zh-CN"] == {"专利.pdf": "有效专利清单", "意见.pdf": "知识产权局意见",
                                 "概述.pdf": "<code>overview</code>"}
        assert page["en"] == {"专利.pdf": "List of valid patents", "意见.pdf": "IP bureau opinion",
                              "概述.pdf": "<code>overview</code>"}

        # A late announcement older than the kept one changes nothing; a newer one replaces
        # the whole list; a title without English reads in Chinese on the English page.
        published = kept.published_at
        published = published if published.tzinfo else published.replace(tzinfo=UTC)
        _announce(review, cycle, [{"id": "patent-list",
                                   "title": {"zh-CN": "旧名称", "en": "Old name"}}],
                  published - timedelta(minutes=5))
        assert _dossier(me, app_id)["en"]["专利.pdf"] == "List of valid patents"
        _announce(review, cycle, [
            {"id": "patent-list",
             "title": {"zh-CN": "专利清单（修订）", "en": "Patent list (revised)"}},
            {"id": "bureau-opinion", "title": {"zh-CN": "知识产权局意见（修订）"}}],
            datetime.now(UTC))
        page = _dossier(me, app_id)
        assert page["zh-CN"]["专利.pdf"] == "专利清单（修订）"
        assert page["en"]["专利.pdf"] == "Patent list (revised)"
        assert page["en"]["意见.pdf"] == "知识产权局意见（修订）"
        assert page["en"]["概述.pdf"] == "<code>overview</code>"
    finally:
        review.sender.close()
