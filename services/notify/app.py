"""The notify service's Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.notify import pages_inbox
from services.notify.api import blp
from services.notify.models import metadata
from shared.config import Settings
from shared.http import make_app
from shared.service import ServiceContext


def create_app(settings: Settings | None = None) -> Flask:
    ctx = ServiceContext.create("notify", metadata, settings)
    return make_app(ctx, "Dossier notify", [blp],
                    pages=[pages_inbox.blp],
                    web_dir=Path(__file__).parent / "web")
