"""The intake service's Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.intake import (
    api_account,
    api_uploads,
    pages_account,
    pages_applicant,
    pages_office,
    pages_setup,
    standing,
)
from services.intake.api import blp
from services.intake.models import metadata
from shared.config import Settings
from shared.http import make_app
from shared.service import ServiceContext


def create_app(settings: Settings | None = None) -> Flask:
    ctx = ServiceContext.create("intake", metadata, settings)
    standing.install(ctx)
    standing.try_publish_all(ctx)
    return make_app(ctx, "Dossier intake", [blp, api_uploads.blp, api_account.blp],
                    pages=[pages_account.blp, pages_applicant.blp, pages_office.blp,
                           pages_setup.blp],
                    web_dir=Path(__file__).parent / "web")
