"""The office's award-history page: upload a CSV/XLSX file of past awards, nominations and
revocations, see every row checked (errors in the reader's language), then import it.

Thin views over the API's own call (`api_history.run_import` → `award_history.import_history`).
Between preview and import the uploaded file waits in Redis under its SHA-256 (30 minutes), so
the import commits exactly the bytes that were previewed, checked again from scratch.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import request, url_for
from sqlalchemy import select

from services.intake import award_history
from services.intake.api_history import BODY_BYTES, IMPORTERS, run_import, template_csv
from services.intake.models import AwardRecord
from shared.errors import DossierError
from shared.http import current_principal, roles, service_context
from shared.web.blueprint import PageBlueprint
from shared.web.language import _, language
from shared.web.nav import N_
from shared.web.rendering import done, problem_text, render

blp = PageBlueprint("intake_history_pages", __name__)

READERS = ("operator", "admin", "supervisor")
STASH_SECONDS = 30 * 60
STATUS = {"new": N_("New record"), "updated": N_("Changes a stored record"),
          "unchanged": N_("Already stored, unchanged"), "invalid": N_("Has errors")}
STATUS_TONE = {"new": "ok", "updated": "warn", "unchanged": "", "invalid": "error"}


def _stash_key(sha256: str) -> str:
    return f"intake:award-history:{sha256}"


def _imported(limit: int = 200) -> list[AwardRecord]:
    with service_context().db.reader() as session:
        return list(session.execute(select(AwardRecord).where(
            AwardRecord.application_id.startswith(award_history.HISTORY_PREFIX))
            .order_by(AwardRecord.year.desc(), AwardRecord.seq).limit(limit)).scalars())


def _show(report: award_history.ImportReport | None = None, status: int = 200,
          problem: str | None = None) -> Any:
    lang = "en" if language() == "en" else "zh-CN"
    return render("intake/setup/award_history.html", status=status, report=report,
                  problem=problem, lang=lang, rows=_imported(),
                  column_names="、".join(v[0] for v in award_history.COLUMNS.values()),
                  STATUS=STATUS, STATUS_TONE=STATUS_TONE,
                  can_import=_can_import())


def _can_import() -> bool:
    return current_principal().role in IMPORTERS


@blp.url_value_preprocessor
def _allow_history_file(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before the CSRF check reads the form: a history file may exceed the JSON limit.
    if endpoint == "intake_history_pages.history_preview":
        request.max_content_length = BODY_BYTES


@blp.get("/office/award-history")
@roles(*READERS)
def history() -> Any:
    return _show()


@blp.get("/office/award-history/template.csv")
@roles(*READERS)
def history_template() -> Any:
    return template_csv()


@blp.post("/office/award-history")
@roles(*IMPORTERS)
def history_preview() -> Any:
    request.max_content_length = award_history.MAX_BYTES + 64 * 1024
    upload = request.files.get("file")
    data = upload.stream.read(award_history.MAX_BYTES + 1) if upload else b""
    if upload is None or not data:
        return _show(status=422, problem=_("Choose a CSV or XLSX file to check."))
    try:
        report = run_import(upload.filename or "upload.csv", data, commit=False)
    except DossierError as exc:
        if exc.status != 422:
            raise
        return _show(status=422, problem=problem_text(exc))
    # The shared client decodes text: the bytes (an XLSX is binary) travel as base64.
    service_context().redis.set(_stash_key(report.sha256), base64.b64encode(data).decode(),
                                ex=STASH_SECONDS)
    return _show(report)


@blp.post("/office/award-history/import")
@roles(*IMPORTERS)
def history_import() -> Any:
    sha256 = (request.form.get("sha256") or "").strip()
    filename = (request.form.get("filename") or "upload.csv").strip()[:200]
    held = service_context().redis.get(_stash_key(sha256)) if len(sha256) == 64 else None
    if not held:
        return _show(status=409, problem=_(
            "The checked file is no longer held (after 30 minutes it is dropped). Upload it "
            "again."))
    try:
        report = run_import(filename, base64.b64decode(held), commit=True)
    except DossierError as exc:
        if exc.status not in (409, 422):
            raise
        return _show(status=exc.status, problem=problem_text(exc))
    service_context().redis.delete(_stash_key(sha256))
    counts = report.counts
    return done(_("Award history imported: %(new)s new, %(updated)s changed, %(unchanged)s "
                  "already stored.", new=counts["new"], updated=counts["updated"],
                  unchanged=counts["unchanged"]), url_for(".history"))
