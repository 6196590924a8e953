"""The review service's Flask app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.review import (
    api,
    api_dossiers,
    api_outcomes,
    pages_expert,
    pages_holder,
    pages_office,
    pages_outcomes,
    pages_public,
)
from services.review.models import Application, Cycle, Expert, metadata
from shared.app import make_app
from shared.config import Settings
from shared.service import ServiceContext
from shared.web.names import name_records


def create_app(settings: Settings | None = None) -> Flask:
    ctx = ServiceContext.create("review", metadata, settings)
    return make_app(ctx, "Dossier review", [api.blp, api_dossiers.blp, api_outcomes.blp],
                    pages=[pages_office.blp, pages_outcomes.blp, pages_expert.blp,
                           pages_public.blp, pages_holder.blp],
                    web_dir=Path(__file__).parent / "web")


# The names behind the ids review stores (pages and the audit log show names, not ids).
name_records("review", people=[(Expert.subject, Expert.name)],
             targets={"application": (Application.id, Application.applicant_name),
                      "expert": (Expert.id, Expert.name)},
             cycles=(Cycle.id, Cycle.title))
