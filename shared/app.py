"""The app factory every service calls: settings, OpenAPI, error handling, auth guard, its pages
and the health probes, in the order they must run.

It sits above the HTTP layer (`shared.http`), the pages (`shared.web`) and the blueprints every
service gets (`shared.ops`, `shared.web.audit_pages`), so none of them imports another back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import redis
from flask import Blueprint as FlaskBlueprint
from flask import Flask, Response, jsonify
from flask_smorest import Blueprint

from shared.http import ServiceApi, install_error_handlers, install_guard, install_request_ids
from shared.ops import blp as ops_blueprint
from shared.service import ServiceContext
from shared.web.audit_pages import audit_pages
from shared.web.pages import install_web


def readiness(ctx: ServiceContext) -> dict[str, str]:
    """Probe every dependency; the value is 'ok' or the failure in one line."""
    checks: dict[str, str] = {}
    probes: dict[str, Callable[[], Any]] = {
        "database": ctx.db.ping,
        "broker": lambda: redis.Redis.from_url(
            ctx.settings.redis_url, socket_timeout=2, socket_connect_timeout=2).ping(),
        "object_store": ctx.store.ping,
    }
    for name, probe in probes.items():
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # a probe reports, it never raises
            checks[name] = f"{type(exc).__name__}: {exc}"[:300]
    return checks


def make_app(ctx: ServiceContext, title: str, blueprints: Iterable[Blueprint],
             pages: Iterable[FlaskBlueprint] = (), web_dir: Path | None = None) -> Flask:
    """A service's Flask app: settings, error handling, auth guard, probes, OpenAPI, and its
    pages (`web_dir` holds the service's `templates/` and `translations/`)."""
    app = Flask(f"dossier.{ctx.name}")
    app.config.update(
        SECRET_KEY=ctx.settings.secret_key,
        MAX_CONTENT_LENGTH=ctx.settings.max_json_bytes,
        API_TITLE=title,
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "security": [{"bearerAuth": []}],
        },
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["dossier"] = ctx

    api = ServiceApi(app)
    for bp in [*blueprints, ops_blueprint]:
        api.register_blueprint(bp)
    install_request_ids(app)
    install_web(app, ctx, [*pages, audit_pages],
                templates=web_dir / "templates" if web_dir else None,
                translations=web_dir / "translations" if web_dir else None)
    install_guard(app, ctx)  # after install_web's session loader
    install_error_handlers(app, ctx, api)

    @app.get("/healthz", endpoint="healthz")
    def healthz() -> Response:
        return jsonify(status="ok", service=ctx.name)

    @app.get("/readyz", endpoint="readyz")
    def readyz() -> Response | tuple[Response, int]:
        checks = readiness(ctx)
        ready = all(v == "ok" for v in checks.values())
        return jsonify(status="ready" if ready else "not-ready", service=ctx.name,
                       checks=checks), (200 if ready else 503)

    return app
