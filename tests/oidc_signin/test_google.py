"""Google sign-in (the platform-wide OpenID Provider) on the same relying-party code, against
a test OP standing in for Google: the tenant is decided per person by the verified email's
domain or the Workspace ``hd`` claim."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import update

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.db.tables import Tenant
from tests.conftest import Server, start_server, stop_server
from tests.oidc_signin.helpers import refused_without_session, tokens_for
from tests.oidc_signin.op import LoopbackOp
from tests.provider.helpers import REDIRECT, App, auth_params, decode, new_app, pkce


@dataclass
class Google:
    url: str
    op: LoopbackOp
    app: App


@pytest.fixture
async def google(server: Server) -> AsyncIterator[Google]:
    """A second server on the same backend with Google sign-in pointed at a test OP."""
    op = LoopbackOp()
    env = {
        "PROPYLON_GOOGLE_CLIENT_ID": "google-client-" + secrets.token_hex(4),
        "PROPYLON_GOOGLE_CLIENT_SECRET": "google-secret-" + secrets.token_hex(8),
        "PROPYLON_GOOGLE_ISSUER": op.issuer,
    }
    url, proc = start_server(server.backend, env)
    try:
        yield Google(url, op, await new_app(server))
    finally:
        stop_server(proc)
        op.close()


async def _sign_in(g: Google, claims: dict[str, object]) -> tuple[httpx.Response, str]:
    g.op.claims = claims
    verifier, challenge = pkce()
    params = auth_params(
        g.app, state="app-state", code_challenge=challenge, code_challenge_method="S256"
    )
    return_to = "/oauth2/authorize?" + urlencode(params)
    async with httpx.AsyncClient(base_url=g.url, timeout=30) as browser:
        r = await browser.get("/google/login", params={"return_to": return_to})
        assert r.status_code == 302, r.text
        async with httpx.AsyncClient(timeout=30) as op_side:
            back = await op_side.get(r.headers["location"])
        loc = urlsplit(back.headers["location"])
        assert loc.path == "/oidc/google/callback"
        done = await browser.get(loc.path + "?" + loc.query)
        if done.status_code == 302 and done.headers["location"].startswith(REDIRECT):
            return done, (await tokens_for(browser, g.app, done, verifier))["id_token"]
    return done, ""


async def test_an_individual_user_is_created_by_verified_email(
    server: Server, google: Google
) -> None:
    email = f"solo-{secrets.token_hex(4)}@gmail-like.test"
    claims = {"sub": "g-" + secrets.token_hex(4), "email": email, "email_verified": True}
    r, id_token = await _sign_in(google, claims)
    assert "propylon_session" in r.headers["set-cookie"]
    _, token_claims = await decode(server, id_token)
    assert token_claims["email"] == email and token_claims["auth_method"] == "google"
    # an individual belongs to no organisation: no org claims at all
    assert "org_id" not in token_claims and "org_slug" not in token_claims
    assert token_claims["idp"] == "google"
    # the same person again: the same user, not a second one
    _, again = await _sign_in(google, claims)
    assert (await decode(server, again))[1]["sub"] == token_claims["sub"]


async def test_an_unverified_google_email_is_refused(server: Server, google: Google) -> None:
    email = f"unverified-{secrets.token_hex(4)}@gmail-like.test"
    for verified in (False, None):
        claims = {"sub": "g-" + secrets.token_hex(4), "email": email, "email_verified": verified}
        r, _ = await _sign_in(google, claims)
        refused_without_session(r)


@pytest.mark.parametrize("by", ["email_domain", "hd_claim"])
async def test_a_tenant_enforcing_sso_gets_its_people_sent_to_its_sso(
    server: Server, google: Google, by: str
) -> None:
    slug = f"strict-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    view = await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Strict", domains=[domain], seats=None
    )
    async with server.rt.db.write() as s:
        await s.execute(update(Tenant).where(Tenant.id == view.id).values(enforce_sso=True))
    email = f"ceo@{domain}" if by == "email_domain" else "ceo@personal-alias.test"
    claims = {"sub": "g-ceo", "email": email, "email_verified": True, "hd": domain}
    r, _ = await _sign_in(google, claims)
    assert r.status_code == 302 and "propylon_session" not in r.headers.get("set-cookie", "")
    target = urlsplit(r.headers["location"])
    assert target.path == "/oauth2/authorize"
    assert parse_qs(target.query)["login_hint"] == [email]
    assert parse_qs(target.query)["client_id"] == [google.app.client_id]


async def test_a_tenant_allowing_google_signs_in_its_directory_users_only(
    server: Server, google: Google
) -> None:
    from tests.oidc_signin.helpers import Tenant as T
    from tests.oidc_signin.helpers import scim_user

    slug = f"open-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    view = await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Open", domains=[domain], seats=None
    )
    uid = await scim_user(server, T(view.id, slug, domain, "", "", google.app), f"ann@{domain}")
    _, id_token = await _sign_in(
        google, {"sub": "g-ann", "email": f"ann@{domain}", "email_verified": True}
    )
    claims = (await decode(server, id_token))[1]
    assert claims["sub"] == uid and claims["org_slug"] == slug
    # the tenant has a SCIM directory: Google creates no one in it
    stranger, _ = await _sign_in(
        google, {"sub": "g-x", "email": f"stranger@{domain}", "email_verified": True}
    )
    refused_without_session(stranger)
