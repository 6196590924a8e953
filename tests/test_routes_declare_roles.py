"""Deny by default: every route but the probes must name the roles it serves, or say it is one of
the few public pages (`shared.web.blueprint.public`)."""

from __future__ import annotations

import importlib

import pytest

from shared.config import SERVICES, load_settings

ENV = {"DOSSIER_SECRET_KEY": "k" * 32, "DOSSIER_S3_ACCESS_KEY": "a", "DOSSIER_S3_SECRET_KEY": "b",
       "DOSSIER_DATA_DIR": "/nonexistent-data-dir"}
OPEN = {"healthz", "readyz", "static", "web.static", "api-docs.openapi_json"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_api_view_declares_roles(service: str) -> None:
    app = importlib.import_module(f"services.{service}.app").create_app(load_settings(ENV))
    undeclared = [
        rule.rule for rule in app.url_map.iter_rules()
        if rule.endpoint not in OPEN
        and not getattr(app.view_functions[rule.endpoint], "_dossier_roles", None)
        and not getattr(app.view_functions[rule.endpoint], "_dossier_public", False)
    ]
    assert undeclared == []
    assert any(r.rule.startswith("/api/") for r in app.url_map.iter_rules())
