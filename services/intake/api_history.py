"""The award-history import over intake's API: a file of past awards, nominations and
revocations, previewed or committed (`award_history.import_history`, which the page calls too)."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.intake import applications, award_history
from services.intake.api import identities, units
from services.intake.models import AwardRecord
from services.intake.schemas import (
    AwardHistoryFileIn,
    AwardHistoryModeIn,
    AwardHistoryRecordOut,
    AwardHistoryReportOut,
)
from shared.errors import Conflict, DossierError
from shared.http import current_principal, roles, service_context
from shared.pagination import PageQuery, page_schema, paginate

blp = Blueprint("intake_history", __name__, url_prefix="/api",
                description="Award history: past awards, nominations and revocations imported")
IMPORTERS = ("operator", "admin")
READERS = ("operator", "supervisor", "admin")
AwardHistoryPage = page_schema(AwardHistoryRecordOut, "AwardHistoryPage")
BODY_BYTES = award_history.MAX_BYTES + 64 * 1024  # the file and the form around it


@blp.url_value_preprocessor
def _allow_history_file(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before the body is parsed: a history file may exceed the JSON limit.
    if endpoint == "intake_history.import_award_history":
        request.max_content_length = BODY_BYTES


def run_import(filename: str, data: bytes, *, commit: bool) -> award_history.ImportReport:
    """The one call behind the API and the page: preview in a reader, commit in a writer."""
    parsed = award_history.parse(filename, data)
    ctx = service_context()
    args = (units(), identities().index.blind_index, parsed, applications.today())
    if not commit:
        with ctx.db.reader() as session:
            return award_history.import_history(session, ctx.audit, current_principal(),
                                                *args, commit=False)
    try:
        with ctx.db.session() as session:
            return award_history.import_history(session, ctx.audit, current_principal(),
                                                *args, commit=True)
    except IntegrityError:
        # Two imports of overlapping files at once: the second finds the first's rows only at
        # commit. Nothing of it was written; a fresh check shows them as stored.
        raise Conflict("award_history.concurrent",
                       zh="另一次导入同时写入了相同的记录，本次未导入任何内容。请重新检查文件。",
                       en="Another import wrote the same records at the same time; nothing was "
                          "imported. Check the file again.") from None


def template_csv() -> Response:
    """The columns the import reads, with one example row; UTF-8 with a BOM so that Excel
    opens the Chinese headings correctly."""
    return Response(award_history.template_csv().encode("utf-8-sig"), mimetype="text/csv",
                    headers={"Content-Disposition":
                             "attachment; filename=award-history-template.csv; "
                             "filename*=UTF-8''award-history-template.csv"})


@blp.post("/award-history")
@blp.arguments(AwardHistoryModeIn, location="query", as_kwargs=True)
@blp.arguments(AwardHistoryFileIn, location="files")
@blp.response(200, AwardHistoryReportOut)
@roles(*IMPORTERS)
def import_award_history(files: dict[str, Any], mode: str) -> dict[str, Any]:
    """Check (`mode=preview`, the default) or import (`mode=commit`) a file of past outcomes.

    A preview answers 200 with every row's status and errors; a commit with any bad row answers
    422 `award_history.invalid` and writes nothing. Importing the same file again writes nothing.
    """
    upload = request.files.get("file")
    if upload is None:
        raise DossierError("validation.failed", errors={"file": ["A file is required."]})
    data = upload.stream.read(award_history.MAX_BYTES + 1)
    report = run_import(upload.filename or "upload", data, commit=mode == "commit")
    return report.as_dict()


@blp.get("/award-history")
@blp.arguments(PageQuery, location="query", as_kwargs=True)
@blp.response(200, AwardHistoryPage)
@roles(*READERS)
def list_award_history(page: int, per_page: int) -> dict[str, Any]:
    """The imported records, newest cycle first (outcomes decided here are not listed)."""
    query = (select(AwardRecord)
             .where(AwardRecord.application_id.startswith(award_history.HISTORY_PREFIX))
             .order_by(AwardRecord.year.desc(), AwardRecord.seq))
    with service_context().db.reader() as session:
        return paginate(session, query, page, per_page)
