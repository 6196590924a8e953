"""The notify service's Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.notify import pages_inbox
from services.notify.api import blp
from services.notify.models import Cycle, Recipient, metadata
from shared.app import make_app
from shared.config import Settings
from shared.service import ServiceContext
from shared.web.names import name_records


def create_app(settings: Settings | None = None) -> Flask:
    ctx = ServiceContext.create("notify", metadata, settings)
    return make_app(ctx, "Dossier notify", [blp],
                    pages=[pages_inbox.blp],
                    web_dir=Path(__file__).parent / "web")


# The names behind the ids notify stores (pages and the audit log show names, not ids).
name_records("notify", people=[(Recipient.subject, Recipient.name)],
             targets={"recipient": (Recipient.subject, Recipient.name)},
             cycles=(Cycle.cycle, Cycle.title))
