"""Email-first sign-in: where a person without a session goes (the no-session branch of the
authorization endpoint), the vanity entry point ``/login/{tenant_slug}``, and the page that
turns a password or Google attempt away when the tenant enforces SSO.

The request is routed (:mod:`propylon.tenants.login_routes`) by ``organization``, then the
vanity host name the request came to (``Host``, RFC 9110 §7.2), then the email's domain:

- a tenant's SSO connection, SAML or OIDC: the login starts at once (:class:`StartSso`, the
  caller sends the browser to the IdP), with ``ForceAuthn`` / ``prompt=login`` when a fresh
  authentication is asked (OpenID Connect Core §3.1.2.1); a person whose Google session is
  too old goes to ``/google/login`` again;
- otherwise a page offering what the tenant, or the platform for individual accounts,
  allows: a password form (``/password/sign-in``, with sign-up and reset links) and
  "Continue with Google" (``/google/login``).

Everything here reads; nothing is written for an anonymous request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.api.oauth_adapter import NO_STORE, runtime_of
from propylon.api.pages import page
from propylon.runtime import Runtime
from propylon.sessions.service import ActiveSession
from propylon.signin.landing import NoLandingApp, authorize_url, default_app
from propylon.signin.saml_sso import is_local_authorize
from propylon.tenants.login_routes import GOOGLE, PASSWORD, LoginRoute, LoginRouter

router = APIRouter(tags=["sign-in"])
MAX_HOST = 253


@dataclass(frozen=True)
class StartSso:
    """No one is signed in and the request routes to a tenant's SSO connection: start that
    login, resuming the authorization request at ``resume`` once the person is back."""

    connection_id: str
    resume: str
    force_authn: bool
    protocol: str = "saml"
    """``saml`` or ``oidc``."""
    login_hint: str | None = None


def login_router(rt: Runtime) -> LoginRouter:
    return LoginRouter(google_enabled=bool(rt.settings.google_client_id))


def vanity_host(rt: Runtime, headers: Mapping[str, str]) -> str | None:
    """The ``Host`` the request names, without port, if it is not the platform's own."""
    raw = headers.get("host", "")
    host = raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw
    host = host.strip().lower().rstrip(".")
    own = (urlsplit(rt.settings.public_url).hostname or "").lower()
    if not host or len(host) > MAX_HOST or host == own or host.startswith("["):
        return None
    return host


def _first(values: Mapping[str, list[str]], name: str) -> str | None:
    return next(iter(values.get(name, [])), None)


def with_params(url: str, **params: str | None) -> str:
    """``url`` with the given query parameters replaced (``None`` removes one)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, v) for k, v in params.items() if v is not None]
    return parts._replace(query=urlencode(query)).geturl()


def oidc_login_url(connection_id: str, resume: str, hint: str | None, fresh: bool) -> str:
    path = "/google/login" if connection_id == GOOGLE else f"/oidc/{connection_id}/login"
    params = {"return_to": resume, "login_hint": hint, "force_authn": "1" if fresh else None}
    return with_params(path, **params)


def _to_sso(route: LoginRoute, resume: str, hint: str | None, fresh: bool) -> StartSso:
    assert route.connection_id is not None
    return StartSso(route.connection_id, resume, fresh, route.protocol or "saml", hint)


def methods_page(route: LoginRoute, resume: str, email: str | None) -> Response:
    """The ways in the route allows besides SSO, for ``email``."""
    google = None
    if GOOGLE in route.methods:
        google = with_params("/google/login", return_to=resume, login_hint=email)
    account = {"email": email, "return_to": resume}
    methods = {
        "email": email or "",
        "return_to": resume,
        "password": PASSWORD in route.methods,
        "google_url": google,
        "reset_url": with_params("/password/reset", **account),
        "sign_up_url": with_params("/password/sign-up", **account),
    }
    if route.individuals:
        title = "Sign in"
        message = (
            f"No organisation uses the domain {route.domain}: sign in with a personal account."
            if route.domain
            else "Sign in with a personal account."
        )
    else:
        title, message = f"Sign in to {route.tenant_name}", "Choose how to sign in."
    other = with_params(resume, login_hint=None, organization=None)
    return page(200, title, message, methods=methods, back=other, back_label="Use another email")


def sso_required_page(route: LoginRoute, return_to: str | None, email: str | None) -> Response:
    """A password or Google attempt for a tenant that enforces SSO (403): the person is sent
    to the tenant's SSO (the authorization request again, routed by their email), or told
    to ask their administrator when no connection is enabled."""
    name = route.tenant_name or "Your organisation"
    sso = None
    if return_to is not None and is_local_authorize(return_to) and route.kind == "sso":
        url = with_params(return_to, login_hint=email, organization=route.tenant_slug)
        sso = {"url": url, "label": "Continue with single sign-on"}
    detail = None if sso else "Its SSO connection is not available: ask your IT administrator."
    return page(
        403,
        "Single sign-on required",
        f"{name} signs its people in through single sign-on only.",
        detail,
        sso=sso,
    )


async def sign_in(
    s: AsyncSession,
    rt: Runtime,
    values: Mapping[str, list[str]],
    previous: ActiveSession | None,
    *,
    host: str | None,
    fresh: bool,
) -> Response | StartSso:
    """Where a person without a (fresh enough) session goes: the SSO that ``organization``,
    the vanity host or ``login_hint`` leads to, else the IdP of the session they have,
    else a page."""
    pairs = [(k, v) for k, vs in values.items() for v in vs]
    resume = "/oauth2/authorize?" + urlencode(pairs)
    hint, org = _first(values, "login_hint"), _first(values, "organization")
    route = await login_router(rt).route(
        s, login_hint=hint, organization=org, host=host, copies=rt.sign_in.routes
    )
    if route.kind == "sso":
        return _to_sso(route, resume, hint, fresh)
    connection = previous.record.connection_id if previous is not None else None
    if route.kind == "ask_email" and previous is not None and connection is not None:
        if previous.record.auth_method in ("saml", "oidc"):
            return StartSso(connection, resume, fresh, previous.record.auth_method, hint)
        if previous.record.auth_method == GOOGLE:
            url = oidc_login_url(connection, resume, hint, fresh)
            return RedirectResponse(url, status_code=302, headers=NO_STORE)
    if route.kind == "methods":
        return methods_page(route, resume, hint)
    keep = [
        (k, v) for k, vs in values.items() if k not in ("login_hint", "organization") for v in vs
    ]
    ask = {"action": "/oauth2/authorize", "hidden": keep}
    if route.kind == "no_method" and route.enforce_sso:
        return sso_required_page(route, None, hint)
    if route.kind == "no_method":
        return page(
            200,
            "Single sign-on not set up",
            f"{route.tenant_name} has no SSO connection configured yet.",
            "Ask your IT administrator to connect your company's identity provider.",
        )
    if route.kind == "unbound_domain":
        return page(
            200,
            "Sign-in not set up for this address",
            f"{route.tenant_name} signs people in through several identity providers, and "
            f"none is assigned to {route.domain}.",
            "Ask your IT administrator to assign your email domain to a connection.",
        )
    if route.kind == "unknown_org":
        return page(200, "Organisation not found", "No organisation has that name.", form=ask)
    return page(
        200,
        "Sign in",
        "Enter your work email, or the email of your personal account, to continue.",
        form=ask,
    )


ReturnTo = Annotated[str | None, Query(max_length=4096)]
Hint = Annotated[str | None, Query(max_length=320)]


@router.get("/login/{tenant_slug}", operation_id="vanity_login")
async def vanity_login(
    tenant_slug: str, request: Request, return_to: ReturnTo = None, login_hint: Hint = None
) -> Response:
    """A tenant's own entry point: the authorization request ``return_to`` (a local
    ``/oauth2/authorize?…`` URL), else one for the platform's default app (its only
    confidential app, as an IdP-initiated login lands), routed to the tenant's SSO."""
    if len(tenant_slug) > 64 or "\x00" in tenant_slug:
        return page(404, "Organisation not found", "No organisation has that name.")
    rt = runtime_of(request)
    if return_to is None:
        async with rt.db.read() as s:
            try:
                return_to = authorize_url(await default_app(s))
            except NoLandingApp as exc:
                return page(400, "Sign-in not started", exc.detail)
    if not is_local_authorize(return_to) or "\x00" in return_to:
        return page(400, "Sign-in not started", "Start signing in from your application.")
    url = with_params(return_to, organization=tenant_slug, login_hint=login_hint)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)
