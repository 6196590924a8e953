"""The documents service's Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.documents import pages_report, pages_viewer
from services.documents.api import blp
from services.documents.models import Cycle, Packet, metadata
from shared.app import make_app
from shared.config import Settings
from shared.service import ServiceContext
from shared.web.names import name_records


def create_app(settings: Settings | None = None) -> Flask:
    ctx = ServiceContext.create("documents", metadata, settings)
    return make_app(ctx, "Dossier documents", [blp],
                    pages=[pages_report.blp, pages_viewer.blp],
                    web_dir=Path(__file__).parent / "web")


# The names behind the ids documents stores (pages and the audit log show names, not ids).
name_records("documents", targets={
    "application": (Packet.application_id, Packet.applicant_name),
    "packet": (Packet.application_id, Packet.applicant_name)},
    cycles=(Cycle.cycle, Cycle.title))
