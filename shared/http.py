"""The HTTP layer every service shares: auth guard, problem+json, error handlers (installed by
the app factory, `shared.app`).

One declaration per endpoint (flask-smorest + marshmallow) validates input, serialises output and
documents `/openapi.json`. Views stay thin: they call domain code, which raises `DossierError`s,
and the handlers here turn every failure into `application/problem+json` with a stable `code`
and messages in Chinese and English.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma
from flask import Flask, Response, after_this_request, current_app, g, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from shared.account_states import Unavailable as AccountsUnavailable
from shared.account_states import admit
from shared.auth import Principal, verify_token
from shared.errors import Concealed, DossierError, Forbidden
from shared.logs import correlation_id, new_id
from shared.outages import DEPENDENCY_OUTAGES, dependency_outage
from shared.service import ServiceContext
from shared.web.blueprint import is_page_request, is_public_view
from shared.web.browser import browser_session
from shared.web.language import request_language
from shared.web.rendering import error_page
from shared.web.state import sessions

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

PUBLIC_ENDPOINTS = frozenset({"healthz", "readyz", "web.static"})
_HTTP_CODES = {
    400: "http.bad_request",
    401: "auth.token_missing",
    403: "auth.forbidden",
    404: "http.not_found",
    405: "http.method_not_allowed",
    409: "http.conflict",
    413: "http.body_too_large",
    415: "http.unsupported_media_type",
    422: "validation.failed",
}


# -- problems ---------------------------------------------------------------------------------

def problem_response(error: DossierError, headers: dict[str, str] | None = None) -> Response:
    lang = request_language()
    body: dict[str, Any] = {
        "type": f"urn:dossier:problem:{error.code}",
        "title": error.message(lang),
        "status": error.status,
        "code": error.code,
        "messages": {"zh-CN": error.zh, "en": error.en},
        "instance": request.path,
        "request_id": g.get("request_id", ""),
    }
    if error.detail:
        body["detail"] = error.detail
    errors = error.problem_errors()
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=error.status,
                        mimetype="application/problem+json")
    response.headers["Content-Language"] = lang
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _from_http_exception(exc: HTTPException) -> DossierError:
    data = getattr(exc, "data", None) or {}
    status = exc.code or 500
    cause = getattr(exc, "exc", None)
    if status == 400 and isinstance(cause, ValueError):
        # webargs hands us the JSONDecodeError / UnicodeDecodeError of an unparsable body.
        return DossierError("http.malformed_json", detail=str(cause))
    if status == 422:
        return DossierError("validation.failed", errors=data.get("messages") or data.get("errors"))
    code = _HTTP_CODES.get(status)
    if code is None:
        return DossierError("internal.error", status=status, detail=exc.description)
    return DossierError(code, status=status)


def _from_unparsable(exc: Exception) -> DossierError | None:
    """A request whose bytes broke a parser: bytes that are not UTF-8 where text was expected
    (a form field, a file name), or JSON nested deeper than Python's recursion allows (a
    100,000-deep array). The caller's fault, said as 400 with a code, wherever the parsing
    happened; None when the error did not come from reading the request."""
    if isinstance(exc, UnicodeDecodeError):
        return DossierError("http.bad_encoding", detail=f"byte {exc.start}: {exc.reason}")
    if isinstance(exc, RecursionError) and request.is_json:
        return DossierError("http.json_too_deep")
    return None


def audit_denial(ctx: ServiceContext, error: DossierError) -> None:
    """Write an authenticated caller's refused access (any 403, and a `Concealed` 404) to the
    audit log as `access.denied`. Anonymous refusals (401) are not written: anyone can send
    them by the thousand, and each would lengthen the hash chain for nothing the proxy's
    access log does not already hold; a signed-in caller is named and accountable."""
    who = g.get("principal")
    if who is None or not (error.status == 403 or isinstance(error, Concealed)):
        return
    target = error.target if isinstance(error, Concealed) else f"path:{request.path}"
    detail = {"code": error.code, "status": error.status, "method": request.method,
              "endpoint": request.endpoint or ""}
    try:
        with ctx.db.session() as session:
            ctx.audit.append(session, actor=who.subject, role=who.role,
                             action="access.denied", target=target[:200], detail=detail)
    except Exception:  # the refusal still goes out; the failure is logged
        log.exception("could not audit a denied access to %s", target)


class ServiceApi(Api):  # type: ignore[misc]  # flask-smorest ships no types: `Api` is Any
    """flask-smorest's Api with our problem+json instead of its own error payload."""

    def handle_http_exception(self, error: HTTPException) -> Response:
        if is_page_request():
            return error_page(_from_http_exception(error))
        headers = dict(getattr(error, "data", {}).get("headers") or {})
        allowed = getattr(error, "valid_methods", None)  # a MethodNotAllowed's
        if error.code == 405 and isinstance(allowed, list):
            headers["Allow"] = ", ".join(allowed)
        return problem_response(_from_http_exception(error), headers)


class ProblemSchema(ma.Schema):
    type = ma.fields.String()
    title = ma.fields.String(metadata={"description": "Message in the negotiated language"})
    status = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "Stable machine-readable code"})
    messages = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    detail = ma.fields.String()
    errors = ma.fields.Raw(metadata={"description": "Field → messages; for a refused batch "
                                                    "a list, one entry per refused item"})
    instance = ma.fields.String()
    request_id = ma.fields.String(metadata={"description": "Quote it when reporting a problem"})


ServiceApi.ERROR_SCHEMA = ProblemSchema


# -- dependency outages -----------------------------------------------------------------------

def _dependency_unavailable(exc: Exception) -> Response:
    found = dependency_outage(exc)
    if found is None:  # an S3 4xx and the like: a plain unexpected error
        log.exception("unhandled error on %s %s", request.method, request.path)
        error, headers = DossierError("internal.error"), {}
    else:
        error, retry_after = found
        headers = {"Retry-After": str(retry_after)}
        log.warning("%s on %s %s: %s", error.code, request.method, request.path, exc)
    response = error_page(error) if is_page_request() else problem_response(error)
    response.headers.update(headers)
    return response


def install_dependency_errors(app: Flask) -> None:
    """Answer a dependency outage with 503, its code and Retry-After, on the API and pages."""
    for cls, _code, _retry in DEPENDENCY_OUTAGES:
        app.register_error_handler(cls, _dependency_unavailable)


# -- auth -------------------------------------------------------------------------------------

def current_principal() -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:  # the guard runs first; reaching this is a wiring bug
        raise DossierError("auth.token_missing")
    return principal


def roles(*allowed: str) -> Callable[[F], F]:
    """Restrict a view to roles. Every non-public view must declare its roles (a test checks)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if current_principal().role not in allowed:
                raise Forbidden(detail=f"requires one of: {', '.join(allowed)}")
            return view(*args, **kwargs)

        guarded._dossier_roles = allowed  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def _authenticate(ctx: ServiceContext) -> None:
    if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
        return  # unknown routes answer 404/405; health probes are open
    if g.get("principal") is not None:
        _admit_session(ctx, g.principal)  # a browser session (loaded by shared.web.pages)
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        g.principal = _standing(ctx, verify_token(ctx.settings.secret_key, token.strip()))
    elif not is_public_view():
        raise DossierError("auth.token_missing")


def _standing(ctx: ServiceContext, who: Principal, session: bool = False) -> Principal:
    """`who` as its account stands now (`shared.account_states`), on every request: disabling,
    sign-out-everywhere and role or unit changes take effect at once on every service."""
    try:
        return admit(who, ctx.account_states.read(who.subject), session=session)
    except AccountsUnavailable as exc:
        seconds = exc.retry_after  # `exc` is unbound once this block ends
        after_this_request(lambda response: _retry_after(response, seconds))
        raise


def _retry_after(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(seconds)
    return response


def _admit_session(ctx: ServiceContext, who: Principal) -> None:
    """A refused browser session ends; a public page then carries on for a visitor."""
    try:
        g.principal = _standing(ctx, who, session=True)
        return
    except DossierError as exc:
        refused = exc
    session = browser_session()
    if refused.status == 401 and session is not None:
        sessions().drop(session.sid)
    g.pop("principal", None)
    g.pop("browser_session", None)
    g.page_lookup = None
    if not is_public_view():
        raise refused


# -- installing it in an app (`shared.app.make_app`) -----------------------------------------

def install_request_ids(app: Flask) -> None:
    """Every request gets an id (the caller's `X-Request-ID` if sane) that logs carry and the
    response returns, with the headers every answer gets."""

    @app.before_request
    def _correlate() -> None:
        g.request_id = new_id(request.headers.get("X-Request-ID"))
        g.correlation_token = correlation_id.set(g.request_id)

    @app.teardown_request
    def _uncorrelate(_exc: BaseException | None) -> None:
        if "correlation_token" in g:
            correlation_id.reset(g.correlation_token)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def install_guard(app: Flask, ctx: ServiceContext) -> None:
    """The auth guard; installed after the pages' session loader, which it relies on."""
    app.before_request(lambda: _authenticate(ctx))


def install_error_handlers(app: Flask, ctx: ServiceContext, api: ServiceApi) -> None:
    """Every failure answered as problem+json on the API, as the error page on pages."""

    @app.errorhandler(DossierError)
    def _dossier_error(exc: DossierError) -> Response:
        audit_denial(ctx, exc)
        return error_page(exc) if is_page_request() else problem_response(exc)

    @app.errorhandler(ma.ValidationError)
    def _validation_error(exc: ma.ValidationError) -> Response:
        return problem_response(DossierError("validation.failed", errors=exc.normalized_messages()))

    @app.errorhandler(UnicodeDecodeError)
    @app.errorhandler(RecursionError)
    def _unparsable(exc: Exception) -> Response:
        error = _from_unparsable(exc)
        if error is None:
            return _unexpected(exc)
        log.warning("unparsable request on %s %s: %s", request.method, request.path,
                    type(exc).__name__)
        return error_page(error) if is_page_request() else problem_response(error)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            if is_page_request():
                return error_page(_from_http_exception(exc))
            return api.handle_http_exception(exc)
        if dependency_outage(exc) is not None:
            # An outage re-raised as another exception (its cause) is still an outage: 503.
            return _dependency_unavailable(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(DossierError("internal.error"))

    install_dependency_errors(app)


def service_context() -> ServiceContext:
    ctx: ServiceContext = current_app.extensions["dossier"]
    return ctx
