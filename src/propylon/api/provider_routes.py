"""HTTP edge of the OpenID Provider: the FastAPI adapter for Authlib and the ``/oauth2/*``
and ``/.well-known/openid-configuration`` routes.

Each route reads the request (bounded form), opens one write transaction, pre-loads an
:class:`~propylon.provider.exchange.Exchange`, runs the synchronous Authlib server built around
it, executes the writes its hooks recorded, and commits (see ``provider/exchange.py`` for
why). Errors are RFC 6749 §5.2 JSON at the token, introspection and revocation endpoints.
The authorization endpoint has a module of its own (:mod:`propylon.api.authorize`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from propylon.api import rp_logout
from propylon.api.client_address import client_key
from propylon.api.http import FormTooLarge, bearer_token
from propylon.api.oauth_adapter import (
    NO_STORE,
    HttpProviderServer,
    basic_client_id,
    client_credential,
    invalid_basic,
    oauth_error,
    oauth_request,
    read_oauth_form,
    run_token_exchange,
    runtime_of,
    too_many_failures,
)
from propylon.audit.auth_failures import Failure
from propylon.oauth_store import signing_keys as keys
from propylon.provider import discovery
from propylon.provider.claims import identity_claims
from propylon.provider.exchange import Exchange, load_subject

router = APIRouter(tags=["openid provider"], include_in_schema=True)


# --- discovery and keys --------------------------------------------------------------------


@router.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request) -> JSONResponse:
    return JSONResponse(discovery.metadata(runtime_of(request).settings.public_url))


@router.get("/oauth2/jwks")
async def jwks(request: Request) -> JSONResponse:
    rt = runtime_of(request)
    now = rt.clock()
    async with rt.db.write() as s:
        await rt.signing_keys.active(s, rt.settings.signing_alg, now)  # made on first use
        doc = keys.public_jwks(await keys.published(s, now), rt.signing_keys)
    return JSONResponse(doc, headers={"Cache-Control": "public, max-age=300"})


# --- token, introspection, revocation ------------------------------------------------------


async def _client_endpoint(
    request: Request,
    preload: Callable[[Exchange, dict[str, str]], Awaitable[None]],
    respond: Callable[[HttpProviderServer, Any], Response],
    *,
    signing: bool = False,
    verifying: bool = False,
) -> Response:
    """A client-authenticated form POST (token §3.2, introspection RFC 7662 §2, revocation
    RFC 7009 §2): bounded form, one transaction, what Authlib's hooks need pre-loaded.

    Failed client authentication is limited per client address and audited in aggregate
    (``audit/auth_failures.py``): an address past the limit gets 429 before any database
    work."""
    rt = runtime_of(request)
    try:
        form = await read_oauth_form(request)
    except FormTooLarge:
        return oauth_error("invalid_request", "request body too large")
    address = client_key(request.scope, rt.settings)
    credential = client_credential(request, form)
    wait = rt.auth_failures.refused(address, credential, "oauth_client")
    if wait is not None:
        return too_many_failures(wait)
    data = dict(reversed(form))
    refused = invalid_basic(request)
    if refused is not None:  # RFC 6749 §5.2: a malformed Basic header fails client auth
        failure = Failure(
            "oauth_client",
            address,
            "malformed Basic credentials",
            request.state.request_id,
            credential,
            detail={"endpoint": request.url.path},
        )
        await rt.auth_failures.failed(failure)
        return refused

    async def load(ex: Exchange) -> None:
        await ex.load_clients(data.get("client_id"), basic_client_id(request))
        await preload(ex, data)

    response, server = await run_token_exchange(
        rt,
        load,
        lambda: oauth_request(rt, request, [], form),
        respond,
        signing=signing,
        verifying=verifying,
    )
    if server is not None and server.client_auth is False:
        client_id = data.get("client_id") or basic_client_id(request) or ""
        failure = Failure(
            "oauth_client",
            address,
            "client authentication failed",
            request.state.request_id,
            credential,
            detail={"endpoint": request.url.path, "client_id": client_id[:64]},
        )
        await rt.auth_failures.failed(failure)
    elif server is not None and server.client_has_secret and credential is not None:
        rt.auth_failures.succeeded(credential)
    return response


@router.post("/oauth2/token")
async def token(request: Request) -> Response:
    async def preload(ex: Exchange, data: dict[str, str]) -> None:
        if data.get("grant_type") == "authorization_code":
            await ex.load_code(data.get("code"))
        elif data.get("grant_type") == "refresh_token":
            await ex.load_refresh(data.get("refresh_token"))

    return await _client_endpoint(
        request, preload, lambda server, req: server.create_token_response(req), signing=True
    )


async def _token_endpoint(request: Request, name: str) -> Response:
    async def preload(ex: Exchange, data: dict[str, str]) -> None:
        await load_subject(ex, data.get("token"))

    return await _client_endpoint(
        request,
        preload,
        lambda server, req: server.create_endpoint_response(name, req),
        verifying=True,
    )


@router.post("/oauth2/introspect")
async def introspect(request: Request) -> Response:
    return await _token_endpoint(request, "introspection")


@router.post("/oauth2/revoke")
async def revoke(request: Request) -> Response:
    return await _token_endpoint(request, "revocation")


# --- userinfo (OpenID Connect Core §5.3) ----------------------------------------------------


@router.get("/oauth2/userinfo", operation_id="userinfo_get")
@router.post("/oauth2/userinfo", operation_id="userinfo_post")
async def userinfo(request: Request) -> Response:
    rt = runtime_of(request)
    presented = bearer_token(request)
    now = rt.clock()

    def refuse(error: str, description: str) -> JSONResponse:
        header = f'Bearer error="{error}", error_description="{description}"'
        return JSONResponse(
            {"error": error, "error_description": description},
            status_code=401,
            headers={**NO_STORE, "WWW-Authenticate": header},
        )

    if not presented:
        return JSONResponse(
            {"error": "invalid_request"},
            status_code=401,
            headers={**NO_STORE, "WWW-Authenticate": "Bearer"},
        )
    async with rt.db.read() as s:
        ex = Exchange(
            session=s,
            settings=rt.settings,
            sessions=rt.sessions,
            now=now,
            verifier=await keys.verifier(s, now, rt.signing_keys),
        )
        await load_subject(ex, presented)
        sub = ex.subject
        if sub is None or sub.kind != "access_token" or not sub.active or sub.login is None:
            return refuse("invalid_token", "the access token is invalid, expired or revoked")
        grants = ex.grants.get(sub.login.user.id)
        return JSONResponse(identity_claims(sub.login, grants, sub.get_scope()), headers=NO_STORE)


# --- RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3) ---------------------


@router.get("/oauth2/logout", operation_id="logout_get")
@router.post("/oauth2/logout", operation_id="logout_post")
async def logout(request: Request) -> Response:
    """End the browser's session: at once with a valid ``id_token_hint`` for it, else after
    the person confirms (see :mod:`propylon.api.rp_logout`); a SAML session continues to the
    IdP's SingleLogoutService."""
    return await rp_logout.logout(request)
