"""A tenant with an OIDC connection to a :class:`~tests.oidc_signin.op.LoopbackOp`, an app, and a
browser that signs in through the real start and callback endpoints."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from propylon.admin import oidc_connections as ops_oidc
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.tenants.directories import scim_base_url
from propylon.tenants.oidc_connections import OidcConnectionDraft
from tests.conftest import Server
from tests.oidc_signin.op import LoopbackOp
from tests.provider.helpers import REDIRECT, App, auth_params, new_app, pkce, token_request


@dataclass
class Tenant:
    id: str
    slug: str
    domain: str
    connection_id: str
    client_id: str
    app: App


async def new_tenant(
    server: Server,
    op: LoopbackOp,
    *,
    jit: bool = True,
    match_by: str = "email",
    trusted_audiences: tuple[str, ...] = (),
    use_userinfo: bool = False,
) -> Tenant:
    """A tenant owning a fresh domain, with an OIDC connection to ``op`` (made as the
    operator makes one: :mod:`propylon.admin.oidc_connections`) and an app."""
    slug = f"oidc-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    view = await ops.create_tenant(
        server.rt, CLI, slug=slug, name="OIDC Corp", domains=[domain], seats=None
    )
    client_id = "client-" + secrets.token_hex(4)
    draft = OidcConnectionDraft(
        issuer=op.issuer,
        client_id=client_id,
        client_secret="s3cret-" + slug,
        trusted_audiences=trusted_audiences,
        jit=jit,
        match_by=match_by,
        use_userinfo=use_userinfo,
    )
    made = await ops_oidc.create_connection(server.rt, CLI, slug, draft)
    conn_id = made["connection_id"]
    return Tenant(view.id, slug, domain, conn_id, client_id, await new_app(server))


async def scim_user(server: Server, tenant: Tenant, email: str) -> str:
    """A directory user of ``tenant`` provisioned over SCIM; its id."""
    from tests.http.test_scim_users import user_body

    d = await ops.create_directory(server.rt, CLI, tenant.slug)
    base = scim_base_url(server.url, d["directory_id"])
    headers = {"Authorization": f"Bearer {d['token']}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as scim:
        r = await scim.post("/Users", json=user_body(email))
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


@dataclass
class Started:
    """A login started in a browser: where the OP sent the browser back, and the PKCE
    verifier of the app's own authorization request."""

    callback: str
    """The callback path and query the OP redirected to."""
    verifier: str
    authorize_query: dict[str, str]


def return_to(tenant: Tenant, challenge: str, **extra: str) -> str:
    params = auth_params(
        tenant.app,
        state="app-state",
        nonce="app-nonce",
        code_challenge=challenge,
        code_challenge_method="S256",
        **extra,
    )
    return "/oauth2/authorize?" + urlencode(params)


async def start(
    browser: httpx.AsyncClient, tenant: Tenant, *, path: str | None = None, **query: str
) -> Started:
    """Start at ``/oidc/{id}/login`` and follow the OP's authorization endpoint (with
    another client: the OP is another site) to the redirect back."""
    verifier, challenge = pkce()
    params = {"return_to": return_to(tenant, challenge), **query}
    r = await browser.get(path or f"/oidc/{tenant.connection_id}/login", params=params)
    assert r.status_code == 302, (r.status_code, r.text)
    at_op = r.headers["location"]
    async with httpx.AsyncClient(timeout=30) as op_side:
        back = await op_side.get(at_op)
    assert back.status_code == 302, back.text
    loc = urlsplit(back.headers["location"])
    q = {k: v[0] for k, v in parse_qs(urlsplit(at_op).query).items()}
    return Started(loc.path + "?" + loc.query, verifier, q)


async def finish(browser: httpx.AsyncClient, started: Started) -> httpx.Response:
    return await browser.get(started.callback)


async def tokens_for(
    browser: httpx.AsyncClient, app: App, r: httpx.Response, verifier: str
) -> dict[str, Any]:
    """The app's tokens for the code the callback's redirect carries."""
    assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT), r.text
    q = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert q["state"] == "app-state"
    data = {
        "grant_type": "authorization_code",
        "code": q["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    t = await token_request(browser, app, data)
    assert t.status_code == 200, t.text
    out: dict[str, Any] = t.json()
    return out


async def sign_in(browser: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """A whole login in ``browser``: the app's tokens."""
    started = await start(browser, tenant)
    return await tokens_for(browser, tenant.app, await finish(browser, started), started.verifier)


def refused_without_session(r: httpx.Response) -> None:
    """A refusal: a 4xx page, no session cookie, never a 5xx."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    assert "propylon_session" not in r.headers.get("set-cookie", "")


def audit_reasons(server: Server, slug: str, action: str = "sso.oidc.login") -> list[str]:
    rows = server.cli_json("audit", "list", slug, "--action", action, "--limit", "200")
    return [r["reason"] for r in rows if r["outcome"] == "failure"]
