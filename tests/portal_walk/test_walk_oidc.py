"""The whole portal walk in Chromium for an OpenID Connect IdP (panva's oidc-provider from
npm, on loopback): a portal link → single sign-on → OpenID Connect and the generic guide →
the redirect URI registered at the OP → issuer, client id and secret in the form → the draft
→ "Test connection" in a new tab, signing in at the OP and back to the result (every stage
passed) → "Activate" → a real sign-in through the app's authorization request. Screenshots,
axe-core clean on each page. Live server, both backends."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from tests.a11y import needs_axe
from tests.browser import AppHost, chromium, needs_chromium
from tests.conftest import Server
from tests.interop.oidc_op import Op, has_oidc_provider, start_op
from tests.portal_walk.sso_helpers import show
from tests.portal_walk.walk_helpers import look, open_portal
from tests.provider.helpers import auth_params, decode, pkce, token_request

pytestmark = [
    needs_chromium,
    needs_axe,
    pytest.mark.skipif(not has_oidc_provider(), reason="needs node and oidc-provider"),
]
__all__ = ["chromium"]


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Op]:
    running = start_op(tmp_path_factory.mktemp("op"), clients=[], users=[])
    try:
        yield running
    finally:
        running.stop()


async def test_the_oidc_walk_from_link_to_sign_in(server: Server, chromium: Any, op: Op) -> None:
    slug = f"owalk-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    email = f"grace@{domain}"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="OIDC Walk", domains=[domain], seats=None
    )
    app_host = AppHost()
    context = await chromium.new_context()
    try:
        page = await open_portal(server, context, slug, "oidc-walk")
        await page.click("nav >> text=Single sign-on")
        await page.check("#protocol-oidc")
        await page.check("#idp-generic")
        await page.click("#show-guide")
        await page.wait_for_url("**/portal/sso/oidc/new?idp=generic&draft=oidc_*")
        draft = parse_qs(urlsplit(page.url).query)["draft"][0]
        redirect_uri = await page.input_value("#redirect-uri")
        assert redirect_uri == f"{server.url}/oidc/{draft}/callback"
        await look(page, "oidc-walk-03-guide")

        # the IdP admin registers Propylon at the OP with the values shown
        client_id, secret = f"portal-{slug}", secrets.token_urlsafe(24)
        op.restart(
            clients=[
                {
                    "client_id": client_id,
                    "client_secret": secret,
                    "redirect_uris": [redirect_uri],
                    "token_endpoint_auth_method": "client_secret_basic",
                }
            ],
            users=[
                {
                    "sub": "op-grace",
                    "email": email,
                    "email_verified": True,
                    "given_name": "Grace",
                    "family_name": "Hopper",
                    "name": "Grace Hopper",
                }
            ],
        )
        await page.fill("#issuer", op.issuer)
        await page.fill("#client_id", client_id)
        await page.fill("#secret", secret)
        await page.check("#jit")
        await page.click("#create")
        await page.wait_for_url(f"**/portal/sso/connections/{draft}?created=1")
        await look(page, "oidc-walk-04-draft")
        assert (await show(server.rt, draft))["disabled"] is True

        async with context.expect_page() as opened:
            await page.click("#test-connection")
        tab = await opened.value
        await tab.wait_for_selector("#login")  # the OP's own sign-in form
        await tab.fill("#login", email)
        await tab.click("button[type=submit]")
        await tab.wait_for_url("**/portal/sso/tests/ctest_*", timeout=30_000)
        await look(tab, "oidc-walk-05-result")
        assert "The test passed" in await tab.inner_text("#test-status")
        states = await tab.eval_on_selector_all(
            ".stages li", "els => els.map(e => e.dataset.state)"
        )
        assert states and set(states) == {"passed"}, states
        await tab.close()

        await page.reload()  # the mapping's preview from the test's claims; an edit of it
        assert "Grace" in await page.inner_text("td[data-field=given_name]")
        await page.fill("#map-groups", "groups, memberOf")
        await page.click("#save-mapping")
        await page.wait_for_url("**/portal/sso/connections/*?mapped=1")
        assert "Attribute mapping saved" in await page.inner_text("main")
        assert (await show(server.rt, draft))["claim_map"]["groups"] == ["groups", "memberOf"]
        await page.click("#activate")
        await page.wait_for_url("**/portal/sso/connections/*?activated=1")
        await look(page, "oidc-walk-06-active")
        assert (await show(server.rt, draft))["disabled"] is False

        app = await app_host.register(server)
        verifier, challenge = pkce()
        params = {
            **auth_params(app, state="owalk", code_challenge=challenge),
            "code_challenge_method": "S256",
            "redirect_uri": app_host.callback,
            "login_hint": email,
        }
        person = await context.new_page()
        await person.goto(f"{server.url}/oauth2/authorize?{urlencode(params)}")
        await person.wait_for_url(f"{app_host.callback}**", timeout=30_000)
        q = parse_qs(urlsplit(app_host.arrived[-1]).query)
        assert q["state"] == ["owalk"] and q["code"], app_host.arrived
        data = {
            "grant_type": "authorization_code",
            "code": q["code"][0],
            "redirect_uri": app_host.callback,
            "code_verifier": verifier,
        }
        async with httpx.AsyncClient(base_url=server.url) as rp:
            tokens = await token_request(rp, app, data)
        assert tokens.status_code == 200, tokens.text
        _, claims = await decode(server, tokens.json()["id_token"])
        assert claims["email"] == email and claims["org_slug"] == slug
    finally:
        await context.close()
        app_host.http.close()
