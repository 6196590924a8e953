"""The documents service's Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.documents import pages_report, pages_viewer
from services.documents.api import blp
from services.documents.models import metadata
from shared.config import Settings
from shared.http import make_app
from shared.service import ServiceContext


def create_app(settings: Settings | None = None) -> Flask:
    ctx = ServiceContext.create("documents", metadata, settings)
    return make_app(ctx, "Dossier documents", [blp],
                    pages=[pages_report.blp, pages_viewer.blp],
                    web_dir=Path(__file__).parent / "web")
