"""OpenID Connect relying-party endpoints per connection: start a login, the callback, and
Back-Channel Logout; and Google sign-in (``/google/login``, callback ``/oidc/google/callback``).

Handlers read the wire request and call :mod:`propylon.signin.oidc_sso` and
:mod:`propylon.signin.oidc_logout`; a person only ever sees a plain page, the reason an admin
needs is in the audit trail.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from propylon.api import authorize
from propylon.api.http import query_pairs, read_form_pairs
from propylon.api.oauth_adapter import NO_STORE
from propylon.api.pages import page
from propylon.errors import NotFound
from propylon.runtime import Runtime
from propylon.sessions.cookie import set_session_cookie
from propylon.sessions.pending_cookie import clear_pending_cookie, cookie_name, cookie_path
from propylon.signin.connection_test import pending_test
from propylon.signin.connection_test_oidc import finish_oidc_test
from propylon.signin.oidc_logout import BackchannelRefused, backchannel_logout
from propylon.signin.oidc_rp import GOOGLE
from propylon.signin.oidc_rp_logout import after_op, signed_out_url
from propylon.signin.oidc_sso import MAX_PARAM_CHARS, SendToSso, finish_login
from propylon.signin.saml_sso import LoginOutcome, LoginRefused
from propylon.tenants.oidc_connections import rp_urls

router = APIRouter(tags=["OpenID Connect RP"])
MAX_LOGOUT_FORM_BYTES = 16_384
"""A logout token is a signed JWT of a few claims; larger bodies are refused unread."""
MAX_HINT_CHARS = 320
_NOT_FOUND = "There is no such sign-in connection."


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def _start(
    request: Request, connection_id: str, return_to: str, force: bool, login_hint: str
) -> Response:
    if len(login_hint) > MAX_HINT_CHARS or "\x00" in login_hint + return_to:
        return page(400, "Sign-in not started", "The sign-in request is not valid.")
    return await authorize.to_idp(
        _rt(request),
        request,
        connection_id,
        return_to,
        force,
        protocol="oidc",
        login_hint=login_hint or None,
    )


@router.get("/oidc/{connection_id}/login")
async def login(
    request: Request,
    connection_id: str,
    return_to: str = "",
    force_authn: str = "",
    login_hint: str = "",
) -> Response:
    """Start an OpenID Connect login on the connection (Core §3.1.2.1), resuming the
    authorization request ``return_to`` afterwards; ``force_authn=1``: ``prompt=login``."""
    return await _start(request, connection_id, return_to, force_authn == "1", login_hint)


@router.get("/google/login")
async def google_login(request: Request, return_to: str = "", login_hint: str = "") -> Response:
    """Start a Google sign-in (Google is the platform-wide OpenID Provider)."""
    return await _start(request, GOOGLE, return_to, False, login_hint)


def _callback_params(request: Request) -> dict[str, str] | None:
    """The callback's query, each parameter once (RFC 6749 §3.1) and bounded; None if not."""
    try:
        pairs = query_pairs(request)
    except ValueError:
        return None
    params = dict(pairs)
    if len(params) != len(pairs) or any(len(v) > MAX_PARAM_CHARS for v in params.values()):
        return None
    return params


async def _signed_in(rt: Runtime, outcome: LoginOutcome | SendToSso) -> Response:
    if isinstance(outcome, SendToSso):
        return RedirectResponse(outcome.redirect_to, 302, headers=NO_STORE)
    response = await authorize.resume(rt, outcome.redirect_to, outcome.login)
    set_session_cookie(response, outcome.session, rt.settings.public_url, rt.clock())
    return response


@router.get("/oidc/{connection_id}/callback")
async def callback(request: Request, connection_id: str) -> Response:
    """The redirection endpoint (Core §3.1.2.5): the authorization response of a login this
    browser started. Callbacks per client address are limited like a SAML ACS's."""
    rt = _rt(request)
    limit = rt.settings.sign_in_finish_rate_limit_per_minute
    if refused := await authorize.too_many_sign_ins(rt, request, "finish", limit):
        return refused  # not audited: no write
    params = _callback_params(request)
    if params is None:
        return page(400, "Sign-in failed", "The sign-in response could not be read.")
    pending = cookie_name(params.get("state"))
    sealed = request.cookies.get(pending) if pending else None
    request_id: str | None = getattr(request.state, "request_id", None)
    test = pending_test(rt, params.get("state"), sealed)
    try:
        if test is not None:  # a test connection's answer: recorded, nobody signed in
            target = await finish_oidc_test(rt, connection_id, test, params, request_id)
            response: Response = RedirectResponse(target, 303, headers=NO_STORE)
        else:
            outcome = await finish_login(rt, connection_id, params, sealed, request_id)
            response = await _signed_in(rt, outcome)
    except NotFound:
        return page(404, "Not found", _NOT_FOUND)
    except LoginRefused as exc:
        why = "Your administrator can see why in the audit trail, under this request id."
        return page(exc.status, "Sign-in failed", exc.detail, why, request_id=request_id)
    if pending and sealed:  # the pending login is answered: the browser forgets it
        path = cookie_path(rp_urls(rt.settings.public_url, connection_id)["redirect_uri"])
        clear_pending_cookie(response, pending, path, rt.settings.public_url, "lax")
    return response


@router.get("/oidc/{connection_id}/signed-out")
async def signed_out(request: Request, connection_id: str, state: str = "") -> Response:
    """Where the OP sends the person after an RP-initiated logout went on to it
    (RP-Initiated Logout 1.0 §3): on to the app's address kept in this browser's cookie for
    that ``state``, else a page."""
    rt = _rt(request)
    name = cookie_name(state)
    sealed = request.cookies.get(name) if name else None
    target = after_op(rt, connection_id, state, sealed, rt.clock())
    response: Response
    if target:
        response = RedirectResponse(target, 302, headers=NO_STORE)
    else:
        response = page(200, "Signed out", "You are signed out.")
    if name and sealed:
        path = cookie_path(signed_out_url(rt.settings.public_url, connection_id))
        clear_pending_cookie(response, name, path, rt.settings.public_url, "lax")
    return response


def _bcl_error(description: str) -> JSONResponse:
    """Back-Channel Logout 1.0 §2.8: 400 with an OAuth-style error body."""
    body = {"error": "invalid_request", "error_description": description}
    return JSONResponse(body, 400, headers={"Cache-Control": "no-store"})


@router.post("/oidc/{connection_id}/backchannel-logout")
async def backchannel(request: Request, connection_id: str) -> Response:
    """Back-Channel Logout 1.0 §2.5: the OP POSTs ``logout_token``; 200 once the sessions it
    names have ended, 400 with a JSON error otherwise (§2.8). Limited per client address."""
    rt = _rt(request)
    limit = rt.settings.sign_in_finish_rate_limit_per_minute
    if await authorize.too_many_sign_ins(rt, request, "backchannel", limit):
        return JSONResponse(
            {"error": "temporarily_unavailable"}, 429, headers={"Cache-Control": "no-store"}
        )
    try:
        pairs = await read_form_pairs(request, MAX_LOGOUT_FORM_BYTES, max_fields=4)
    except ValueError:
        return _bcl_error("the body is not a bounded form")
    tokens = [v for k, v in pairs if k == "logout_token"]
    if len(tokens) != 1 or not tokens[0]:
        return _bcl_error("one logout_token is required")
    request_id: str | None = getattr(request.state, "request_id", None)
    try:
        await backchannel_logout(rt, connection_id, tokens[0], request_id)
    except NotFound:
        return _bcl_error("no such connection")
    except BackchannelRefused as exc:
        return _bcl_error(exc.reason)
    return Response(status_code=200, headers={"Cache-Control": "no-store"})
