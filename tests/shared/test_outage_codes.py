"""Which failures count as a dependency outage (503 with Retry-After) and which stay a bug."""

from __future__ import annotations

import sqlite3

import pytest
import redis
import sqlalchemy.exc
import urllib3
from minio.error import S3Error

from shared.outages import dependency_outage


def s3_error(status: int) -> S3Error:
    return S3Error(urllib3.HTTPResponse(status=status), "SlowDown" if status >= 500
                   else "AccessDenied", "", "/bucket/key", "r", "h")


def sqlite_error(message: str) -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError(message))


@pytest.mark.parametrize(("failure", "code"), [
    (urllib3.exceptions.MaxRetryError(None, "/k", "refused"),
     "dependency.object_store_unavailable"),
    (s3_error(503), "dependency.object_store_unavailable"),
    (redis.exceptions.ConnectionError("refused"), "dependency.broker_unavailable"),
    (redis.exceptions.TimeoutError("slow"), "dependency.broker_unavailable"),
    (sqlite_error("database is locked"), "dependency.database_unavailable"),
])
def test_a_dependency_failure_maps_to_its_503(failure: Exception, code: str) -> None:
    found = dependency_outage(failure)
    assert found is not None
    error, retry_after = found
    assert (error.code, error.status) == (code, 503)
    assert error.zh and error.en and retry_after > 0


@pytest.mark.parametrize("failure", [
    s3_error(403), sqlite_error("no such table: things"), ValueError("a bug"),
])
def test_a_bug_or_a_refusal_is_no_outage(failure: Exception) -> None:
    assert dependency_outage(failure) is None


def test_an_outage_raised_again_as_another_error_is_still_found() -> None:
    try:
        try:
            raise redis.exceptions.ConnectionError("refused")
        except redis.exceptions.ConnectionError as exc:
            raise RuntimeError("session lookup failed") from exc
    except RuntimeError as wrapped:
        found = dependency_outage(wrapped)
    assert found is not None and found[0].code == "dependency.broker_unavailable"


def test_an_outage_wrapped_in_another_error_answers_503_over_http() -> None:
    from flask_smorest import Blueprint

    from shared.app import make_app
    from shared.config import load_settings
    from shared.db import service_metadata
    from shared.service import ServiceContext

    blp = Blueprint("wrapped", __name__, url_prefix="/probe")

    @blp.get("/")
    def wrapped() -> None:
        try:
            raise redis.exceptions.ConnectionError("refused")
        except redis.exceptions.ConnectionError as exc:
            raise RuntimeError("could not prepare the page") from exc

    wrapped._dossier_roles = ()  # type: ignore[attr-defined]  # reached before any role check
    settings = load_settings({"DOSSIER_SECRET_KEY": "s" * 40, "DOSSIER_S3_ACCESS_KEY": "a",
                              "DOSSIER_S3_SECRET_KEY": "b"})
    app = make_app(ServiceContext.create("notify", service_metadata(), settings), "t", [blp])
    app.before_request_funcs[None] = []  # no session or token needed to reach the view
    r = app.test_client().get("/probe/")
    assert r.status_code == 503
    assert r.json["code"] == "dependency.broker_unavailable"  # type: ignore[index]
    assert int(r.headers["Retry-After"]) > 0
