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
from urllib.parse import urlencode

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError

from propylon.api.http import FormTooLarge, bearer_token, query_pairs
from propylon.api.oauth_adapter import (
    NO_STORE,
    HttpProviderServer,
    basic_client_id,
    invalid_basic,
    oauth_error,
    oauth_request,
    open_exchange,
    read_oauth_form,
    runtime_of,
)
from propylon.api.pages import page
from propylon.provider import discovery, keys
from propylon.provider.exchange import Exchange, load_subject
from propylon.provider.oidc_core import identity_claims
from propylon.sessions.cookie import clear_session_cookie
from propylon.sessions.service import COOKIE_NAME
from propylon.sessions.store import load_active

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
        await keys.active_key(s, rt.settings.signing_alg, now)
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
    RFC 7009 §2): bounded form, one transaction, what Authlib's hooks need pre-loaded."""
    rt = runtime_of(request)
    try:
        form = await read_oauth_form(request)
    except FormTooLarge:
        return oauth_error("invalid_request", "request body too large")
    data = dict(reversed(form))
    refused = invalid_basic(request)
    if refused is not None:
        return refused
    async with rt.db.write() as s:
        ex = await open_exchange(rt, s, rt.clock(), signing=signing, verifying=verifying)
        await ex.load_clients(data.get("client_id"), basic_client_id(request))
        await preload(ex, data)
        try:
            req = oauth_request(rt, request, [], form)
        except InsecureTransportError:
            response: Response = oauth_error("invalid_request", "OAuth 2.0 requires https")
        else:
            response = respond(HttpProviderServer(ex), req)
        await ex.write_through()  # e.g. a replayed code's grant revoked, even on an error
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
        return JSONResponse(identity_claims(sub.login), headers=NO_STORE)


# --- RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3) ---------------------


@router.get("/oauth2/logout", operation_id="logout_get")
@router.post("/oauth2/logout", operation_id="logout_post")
async def logout(request: Request) -> Response:
    rt = runtime_of(request)
    try:
        form = await read_oauth_form(request)
    except FormTooLarge:
        return page(413, "Request too large", "The sign-out request is too large.")
    try:
        data = dict(reversed(query_pairs(request) + form))
    except ValueError:
        return page(400, "Invalid sign-out request", "The sign-out request could not be read.")
    now = rt.clock()
    target: str | None = None
    async with rt.db.write() as s:
        hint = data.get("id_token_hint")
        ex = await open_exchange(rt, s, now, verifying=bool(hint))
        client_id = data.get("client_id")
        if hint:
            aud = _id_token_audience(ex, hint)
            if aud is None or (client_id and client_id != aud):
                return page(400, "Invalid sign-out request", "The id_token_hint is not valid.")
            client_id = aud
        login = await load_active(rt.sessions, s, request.cookies.get(COOKIE_NAME), now)
        if login is not None:
            await rt.sessions.end(s, login.id, now)
        wanted = data.get("post_logout_redirect_uri")
        if wanted:
            await ex.load_clients(client_id)
            client = ex.clients.get(client_id or "")
            if client is None or not client.check_post_logout_redirect_uri(wanted):
                response: Response = page(
                    400,
                    "Signed out",
                    "You are signed out. The application asked to send you to an address it "
                    "has not registered, so Propylon will not.",
                )
                clear_session_cookie(response, rt.settings.public_url)
                return response
            state = data.get("state")
            target = wanted + (
                ("&" if "?" in wanted else "?") + urlencode({"state": state}) if state else ""
            )
    if target:
        response = RedirectResponse(target, status_code=302)
    else:
        response = page(200, "Signed out", "You are signed out.")
    clear_session_cookie(response, rt.settings.public_url)
    return response


def _id_token_audience(ex: Exchange, hint: str) -> str | None:
    """The ``aud`` of an ID token this issuer signed (expiry is not checked: §2 allows an
    expired hint)."""
    if len(hint) > 8192 or ex.verifier is None:
        return None
    try:
        decoded = jwt.decode(hint, ex.verifier, algorithms=list(keys.SUPPORTED_ALGS))
    except (JoseError, ValueError, KeyError, TypeError):
        return None
    aud = decoded.claims.get("aud")
    if decoded.claims.get("iss") != ex.issuer or not isinstance(aud, str):
        return None
    return aud
