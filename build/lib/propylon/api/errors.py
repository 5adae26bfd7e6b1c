"""Every error rendered once per wire format.

SCIM paths answer in the RFC 7644 §3.12 error schema; the management API answers with an
RFC 9457 problem document; nothing answers with a bare 500 traceback.

The accelerator (Redis) being down is not a server defect: whatever the route, the request
fails closed with 503 and ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3) in the caller's format
(:func:`on_unavailable`).
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from propylon import errors
from propylon.api.pages import page
from propylon.api.scim_routes import scim_json
from propylon.cache.fanout import UNAVAILABLE
from propylon.scim.errors import ScimError

log = structlog.get_logger("propylon.api")

_PROBLEM = "application/problem+json"
_STATUS = {
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
}


def _is_scim(request: Request) -> bool:
    return request.url.path.startswith("/scim/")


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        headers=headers,
        media_type=_PROBLEM,
    )


def _scim_error(exc: ScimError) -> Response:
    return scim_json(exc.status, exc.to_wire(), exc.headers)


async def on_scim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    if _is_scim(request):
        return _scim_error(exc)
    return problem(exc.status, exc.scim_type or "error", exc.detail, exc.headers)


async def on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.PropylonError)
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem(status, type(exc).__name__, exc.detail, headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str:
    """RFC 9110 §15.5.6: a 405 lists every method the target resource supports. The router
    names only those of the first route whose path matched, and a resource's methods are
    often several routes (``GET`` and ``POST`` on a collection), so ask every route."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    )


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    if _is_scim(request):
        err = ScimError(str(exc.detail))
        body = {**err.to_wire(), "status": str(exc.status_code)}
        return scim_json(exc.status_code, body, headers)
    return problem(exc.status_code, "HTTP error", str(exc.detail), headers)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
    )
    if _is_scim(request):
        return scim_json(400, {**ScimError(detail).to_wire(), "scimType": "invalidValue"})
    return problem(400, "Invalid request", detail)


async def on_client_disconnect(request: Request, exc: Exception) -> Response:
    """The client went away mid-body: its own abort, answered (to nobody) as a 400 so that
    neither the logs nor the metrics count it as a server error."""
    log.info("client_disconnected", path=request.url.path)
    detail = "the client closed the connection before sending the whole body"
    if _is_scim(request):
        return scim_json(400, {**ScimError(detail).to_wire(), "scimType": "invalidSyntax"})
    return problem(400, "Client closed request", detail)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """A 500 naming the request id (this response passes no middleware that would add the
    ``X-Request-Id`` header), which the failure's audit entry and log line carry too."""
    request_id = request.scope.get("state", {}).get("request_id")
    log.error(
        "unhandled_error", path=request.url.path, error=type(exc).__name__, request_id=request_id
    )
    if _is_scim(request):
        detail = f"internal error; request id {request_id}"
        return scim_json(500, {**ScimError(detail).to_wire(), "status": "500"})
    detail = f"the server could not complete the request; request id {request_id}"
    return problem(500, "Internal error", detail)


RETRY_AFTER_SECONDS = 5
_OAUTH_APIS = frozenset(
    {"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/oauth2/userinfo"}
)
_PEOPLE = frozenset({"/oauth2/authorize", "/oauth2/logout"})


async def on_unavailable(request: Request, exc: Exception) -> Response:
    """Redis unreachable or too slow: 503 with ``Retry-After``, never 500. OAuth endpoints
    answer RFC 6749 §5.2 error JSON (``temporarily_unavailable``, §4.1.2.1), SCIM the RFC
    7644 §3.12 error schema, the management API a problem document, and a person (the
    authorization endpoint, sign-out, the SAML pages) a readable page."""
    path = request.url.path
    log.warning("accelerator_unavailable", path=path, error=type(exc).__name__)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    detail = "a service Propylon depends on is unavailable; try again shortly"
    if _is_scim(request):
        return scim_json(503, {**ScimError(detail).to_wire(), "status": "503"}, headers)
    if path in _OAUTH_APIS:
        body = {"error": "temporarily_unavailable", "error_description": detail}
        return JSONResponse(body, 503, headers={**headers, "Cache-Control": "no-store"})
    if path in _PEOPLE or path.startswith("/saml/"):
        response = page(
            503,
            "Temporarily unavailable",
            "Signing in is briefly unavailable. Please try again in a moment.",
        )
        response.headers.update(headers)
        return response
    return problem(503, "Service unavailable", detail, headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ScimError, on_scim_error)
    app.add_exception_handler(errors.PropylonError, on_domain_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, on_unavailable)
    app.add_exception_handler(ClientDisconnect, on_client_disconnect)
    app.add_exception_handler(Exception, on_unexpected)
