"""A person signs in with a real browser: Debian's Chromium, driven by Playwright.

The app sends the browser to the authorization endpoint; Propylon's page asks for the work
email; the browser goes to the IdP, a loopback server that answers the AuthnRequest as Okta
does (a signed Response in a form the page submits by itself, HTTP-POST binding); the ACS
signs the person in (only in the browser that started the login: the pending login's cookie
must survive the IdP's cross-site POST) and sends the browser back to the app's redirect URI
with a code, which the app redeems. Then the same browser is signed in at once (the session
cookie is sent), and a person from an unknown organisation reads a page saying so. Live
server, both backends.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from propylon.admin import saml_connections as operations_saml
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.tenants.directories import scim_base_url
from propylon.tenants.saml_connections import IdpSource
from tests.browser import IDP, AppHost, LoopbackIdp, chromium, needs_chromium
from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import auth_params, decode, pkce, token_request

pytestmark = needs_chromium
__all__ = ["chromium"]  # the fixture


async def test_a_person_signs_in_with_a_real_browser(
    server: Server, chromium: Any, tmp_path: Path
) -> None:
    slug = f"web-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    email = f"grace@{domain}"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Web Corp", domains=[domain], seats=None
    )
    directory = await ops.create_directory(server.rt, CLI, slug)
    idp = LoopbackIdp(email)
    try:
        idp.connection = await operations_saml.create_connection(
            server.rt,
            CLI,
            slug,
            IdpSource(sso_url=idp.sso_url, idp_entity_id=IDP, certificates=(idp.keys.cert,)),
        )
        async with httpx.AsyncClient(
            base_url=scim_base_url(server.url, directory["directory_id"]),
            headers={"Authorization": f"Bearer {directory['token']}"},
        ) as scim:
            uid = (await scim.post("/Users", json=user_body(email))).json()["id"]
        app_host = AppHost()
        arrived, callback = app_host.arrived, app_host.callback
        app = await app_host.register(server)
        verifier, challenge = pkce()
        params = {
            **auth_params(app, state="web", code_challenge=challenge),
            "code_challenge_method": "S256",
            "redirect_uri": callback,
        }
        authorize = f"{server.url}/oauth2/authorize?{urlencode(params)}"

        context = await chromium.new_context()
        page = await context.new_page()

        await page.goto(authorize)
        assert await page.title() == "Sign in · Propylon"
        await page.fill("#login_hint", email)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{callback}**")
        q = parse_qs(urlsplit(arrived[-1]).query)
        assert q["state"] == ["web"]
        data = {
            "grant_type": "authorization_code",
            "code": q["code"][0],
            "redirect_uri": callback,
            "code_verifier": verifier,
        }
        async with httpx.AsyncClient(base_url=server.url) as rp:
            tokens = await token_request(rp, app, data)
        assert tokens.status_code == 200, tokens.text
        _, claims = await decode(server, tokens.json()["id_token"])
        assert claims["sub"] == uid and claims["email"] == email and claims["org_slug"] == slug

        (cookie,) = [c for c in await context.cookies() if c["name"] == "propylon_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        # the pending login's cookie came back through the IdP's cross-site POST (the ACS
        # refuses a pending login's Response without it) and was then cleared
        assert not [c for c in await context.cookies() if c["name"].startswith("propylon_login_")]

        # signed in: the next authorization request is answered at once, the IdP not asked
        hits = idp.http.hits
        await page.goto(authorize.replace("state=web", "state=again"))
        await page.wait_for_url(f"{callback}**state=again**")
        assert "code" in parse_qs(urlsplit(arrived[-1]).query) and idp.http.hits == hits

        # a person whose organisation does not use Propylon reads why, and may sign in with
        # a personal account
        fresh = await chromium.new_context()
        lost = await fresh.new_page()
        await lost.goto(f"{server.url}/oauth2/authorize?{urlencode(params)}")
        await lost.fill("#login_hint", "someone@nowhere.example")
        await lost.click("button[type=submit]")
        await lost.wait_for_load_state()
        assert await lost.title() == "Sign in · Propylon"
        assert "nowhere.example" in await lost.inner_text("body")
        assert await lost.input_value("#email") == "someone@nowhere.example"
        await lost.screenshot(path=str(tmp_path / "unknown-organisation.png"))
        await fresh.close()
        await context.close()
        app_host.http.close()
    finally:
        idp.http.close()
