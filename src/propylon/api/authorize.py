"""The authorization endpoint (RFC 6749 §3.1, §4.1.1; OpenID Connect Core §3.1.2).

:func:`answer` decides one authorization request: with a signed-in person Authlib issues the
code (the one write: a single statement, no transaction needed on PostgreSQL); without one,
the request is routed by ``organization``, the vanity host name or ``login_hint``
(:mod:`propylon.api.email_first`, :mod:`propylon.tenants.login_routes`).
A route to a SAML connection starts that login at once, writing nothing: the browser goes
straight to the IdP, and keeps the AuthnRequest and this request (the URL to resume) in a
sealed cookie that binds the login to it (:mod:`propylon.sessions.pending_cookie`). Starts
are limited per client address. The SAML ACS resumes it with :func:`resume` as soon as the
person is signed in, so the browser goes from the IdP back to the app with its code, without
another trip through this endpoint.

A session is not enough when the request asks for a fresh authentication (OpenID Connect Core
§3.1.2.1: ``prompt=login``, or a ``max_age`` the session is older than): the person goes back
to the IdP of their session, with ``ForceAuthn`` (SAML Core §3.4.1) so the IdP authenticates
them anew rather than from its own session; the same applies to a login the request starts
without a session, since the IdP's session may be as old as any.

Errors follow RFC 6749 §4.1.2.1: a redirect with ``error`` and ``state`` once client and
redirect URI are known good, an HTML page otherwise (never a redirect to an unregistered URI).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from propylon.api.client_address import client_key
from propylon.api.email_first import StartSso, sign_in, vanity_host
from propylon.api.oauth_adapter import (
    NO_STORE,
    HttpProviderServer,
    HttpRequest,
    browser_parameters,
    open_exchange,
    public_uri,
    runtime_of,
)
from propylon.api.pages import page
from propylon.errors import InvalidInput, NotFound
from propylon.oidc.errors import OidcError
from propylon.outbound import OutboundError
from propylon.runtime import Runtime
from propylon.sessions.pending_cookie import CookieTooLarge, set_pending_cookie
from propylon.sessions.service import COOKIE_NAME, ActiveSession, usable_handle
from propylon.sessions.store import load_active
from propylon.signin import oidc_sso
from propylon.signin.saml_sso import StartedLogin, start_login

router = APIRouter(tags=["openid provider"], include_in_schema=True)


@dataclass(frozen=True)
class Asked:
    """An authorization request as read off the wire (or off the URL a login resumes)."""

    method: str
    uri: str
    headers: Mapping[str, str]
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]


@router.get("/oauth2/authorize", operation_id="authorize_get")
@router.post("/oauth2/authorize", operation_id="authorize_post")
async def authorize(request: Request) -> Response:
    rt = runtime_of(request)
    params = await browser_parameters(request, "sign-in")
    if isinstance(params, Response):
        return params
    query, form = params
    outcome = await answer(
        rt,
        Asked(request.method, public_uri(rt, request), request.headers, query, form),
        handle=request.cookies.get(COOKIE_NAME),
    )
    if isinstance(outcome, Response):
        return outcome
    return await to_idp(
        rt,
        request,
        outcome.connection_id,
        outcome.resume,
        outcome.force_authn,
        protocol=outcome.protocol,
        login_hint=outcome.login_hint,
    )


async def too_many_sign_ins(
    rt: Runtime, request: Request, step: str, limit: int
) -> Response | None:
    """Count one anonymous sign-in ``step`` of this client address (the TCP peer, or what
    the trusted proxies say: :mod:`propylon.api.client_address`) in the accelerator, which
    writes nothing to the database; past ``limit`` a minute, a page with 429 and
    ``Retry-After`` (RFC 6585 §4)."""
    client = client_key(request.scope, rt.settings)
    decision = await rt.cache.rate_hit(f"sign-in-{step}:{client}", limit, 60)
    if decision.allowed:
        return None
    refused = page(
        429,
        "Too many sign-in attempts",
        "Too many sign-ins came from your network just now.",
        "Wait a minute, then try again.",
    )
    refused.headers["Retry-After"] = str(decision.retry_after)
    return refused


async def to_idp(
    rt: Runtime,
    request: Request,
    connection_id: str,
    resume: str,
    force_authn: bool,
    *,
    protocol: str = "saml",
    login_hint: str | None = None,
) -> Response:
    """The browser sent to the connection's IdP with a new AuthnRequest (``protocol``
    ``saml``) or OpenID Connect authentication request (``oidc``: :mod:`propylon.signin.
    oidc_sso`) that resumes the authorization request ``resume``, the pending login kept in a
    cookie of this browser (nothing is written on the server); a page if there is no such
    connection, or if this client address started too many sign-ins this minute (429 with
    ``Retry-After``)."""
    limit = rt.settings.sign_in_start_rate_limit_per_minute
    if refused := await too_many_sign_ins(rt, request, "start", limit):
        return refused
    try:
        if protocol == "oidc":
            started = await oidc_sso.start_login(
                rt, connection_id, resume, force=force_authn, login_hint=login_hint
            )
        else:
            started = await start_login(rt, connection_id, resume, force_authn=force_authn)
    except NotFound:
        return page(404, "Not found", "There is no such sign-in connection.")
    except InvalidInput:
        return page(400, "Sign-in not started", "Start signing in from your application.")
    except CookieTooLarge:
        return page(414, "Request too large", "The sign-in request is too long.")
    except (OidcError, OutboundError):
        return page(502, "Sign-in not started", "Your identity provider could not be reached.")
    return redirect_to_idp(rt, started, 302)


def redirect_to_idp(rt: Runtime, started: StartedLogin, status: int) -> Response:
    """The browser sent to the IdP with the pending login's cookie, which binds the answer
    to this browser (``sessions/pending_cookie.py``): a sign-in's start and a test's."""
    response = RedirectResponse(started.url, status_code=status, headers=NO_STORE)
    set_pending_cookie(
        response,
        started.cookie_name,
        started.cookie_value,
        started.cookie_path,
        rt.settings.public_url,
        started.max_age,
        started.same_site,
    )
    return response


async def resume(rt: Runtime, return_to: str, login: ActiveSession) -> Response:
    """Answer the authorization request ``return_to`` (a local ``/oauth2/authorize?…`` URL)
    for ``login``, who has just signed in: a redirect to the app with the code, or the error
    the endpoint itself would give."""
    query = parse_qsl(urlsplit(return_to).query, keep_blank_values=True)
    uri = rt.settings.public_url.rstrip("/") + return_to
    outcome = await answer(rt, Asked("GET", uri, {}, query, []), login=login)
    if not isinstance(outcome, Response):  # a signed-in person is never sent to sign in
        raise RuntimeError("an authorization for a signed-in person started a login")
    return outcome


async def answer(
    rt: Runtime,
    asked: Asked,
    *,
    handle: str | None = None,
    login: ActiveSession | None = None,
) -> Response | StartSso:
    """One authorization request, for ``login`` or for the session ``handle`` names."""
    values: defaultdict[str, list[str]] = defaultdict(list)
    for k, v in asked.query + asked.form:
        values[k].append(v)
    client_ids, redirect_uris = values.get("client_id", []), values.get("redirect_uri", [])
    now = rt.clock()
    signed_in = login is not None or usable_handle(handle)
    # Only a signed-in person gets a code, the one write here (a single statement: no
    # transaction needed); otherwise the lookups are reads.
    async with rt.db.single_write() if signed_in else rt.db.read() as s:
        ex = await open_exchange(rt, s, now)
        if len(client_ids) != 1:
            return page(400, "Invalid sign-in request", "The request names no application.")
        await ex.load_clients(client_ids[0])
        client = ex.clients.get(client_ids[0])
        if client is None:
            return page(
                400, "Unknown application", "The application that sent you here is not registered."
            )
        if len(redirect_uris) != 1 or not client.check_redirect_uri(redirect_uris[0]):
            return page(
                400,
                "Invalid redirect URI",
                "The application asked to return to an address it has not registered, "
                "so Propylon will not send you there.",
            )
        previous = None
        ex.login = login or await load_active(rt.sessions, s, handle, now)
        if login is None and ex.login is not None and _stale(values, ex.login, now):
            previous, ex.login = ex.login, None
        server = HttpProviderServer(ex)
        try:
            req = HttpRequest(asked.method, asked.uri, asked.headers, asked.query, asked.form)
        except InsecureTransportError:
            return page(400, "Insecure transport", "OAuth 2.0 requires https.")
        try:
            grant = server.get_consent_grant(req, end_user=ex.login)
        except OAuth2Error as err:
            if not err.redirect_uri:
                err.redirect_uri = redirect_uris[0]
            err.state = req.payload.state
            response: Response = server.handle_error_response(req, err)
            return response
        if ex.login is None:
            host = vanity_host(rt, asked.headers)
            fresh = _fresh_login_asked(values)
            return await sign_in(s, rt, values, previous, host=host, fresh=fresh)
        response = server.create_authorization_response(req, grant_user=ex.login, grant=grant)
        if len(ex.writes) > 1:
            raise RuntimeError("an authorization writes one statement (its code)")
        await ex.write_through()  # the code
        return response


def _first(values: Mapping[str, list[str]], name: str) -> str | None:
    return next(iter(values.get(name, [])), None)


def _fresh_login_asked(values: Mapping[str, list[str]]) -> bool:
    return "login" in (_first(values, "prompt") or "").split() or "max_age" in values


def _stale(values: Mapping[str, list[str]], login: ActiveSession, now: datetime) -> bool:
    """OpenID Connect Core §3.1.2.1: ``prompt=login`` asks for a new authentication; so does
    a ``max_age`` (seconds) the person's authentication (the IdP's, not the session's
    creation) is older than. A ``max_age`` that is not a non-negative integer counts as 0."""
    if "login" in (_first(values, "prompt") or "").split():
        return True
    raw = _first(values, "max_age")
    if raw is None:
        return False
    max_age = int(raw) if raw.isdigit() and len(raw) <= 10 else 0
    return (now - login.record.auth_time).total_seconds() > max_age
