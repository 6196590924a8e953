"""The intake service's Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.intake import (
    api_account,
    api_history,
    api_uploads,
    pages_account,
    pages_applicant,
    pages_history,
    pages_office,
    pages_setup,
    standing,
)
from services.intake.api import blp
from services.intake.models import Account, Application, Cycle, metadata
from shared.app import make_app
from shared.config import Settings
from shared.service import ServiceContext
from shared.web.names import name_records


def create_app(settings: Settings | None = None) -> Flask:
    ctx = ServiceContext.create("intake", metadata, settings)
    standing.install(ctx)
    standing.try_publish_all(ctx)
    return make_app(ctx, "Dossier intake", [blp, api_uploads.blp, api_history.blp,
                                            api_account.blp],
                    pages=[pages_account.blp, pages_applicant.blp, pages_office.blp,
                           pages_setup.blp, pages_history.blp],
                    web_dir=Path(__file__).parent / "web")


# The names behind the ids intake stores (pages and the audit log show names, not ids).
name_records("intake", people=[(Account.subject, Account.name)],
             targets={"application": (Application.id, Application.name),
                      "account": (Account.subject, Account.name)},
             cycles=(Cycle.id, Cycle.title))
