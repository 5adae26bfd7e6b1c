"""The whole portal walk in Chromium for a SAML IdP (pysaml2, on loopback): a portal link →
the "Continue" page → the overview → single sign-on → SAML and the generic guide → the
values to paste → the IdP's metadata uploaded → the draft connection → "Test connection" in a
new tab, through the IdP and back to the result (every stage passed, the attributes mapped)
→ "Activate" → a real sign-in of the person through the app's authorization request. Then a
second IdP whose metadata names another certificate than the one it signs with: the test
fails at the signature stage with its remedy, in the browser. Screenshots of every page,
axe-core clean on each. Live server, both backends."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from tests.a11y import needs_axe
from tests.browser import AppHost, chromium, needs_chromium
from tests.conftest import Server
from tests.portal_walk.sso_helpers import show
from tests.portal_walk.walk_helpers import Pysaml2Idp, look, open_portal
from tests.provider.helpers import auth_params, decode, pkce, token_request
from tests.saml.idp import make_keypair

pytestmark = [
    needs_chromium,
    needs_axe,
    pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="needs xmlsec1"),
]
__all__ = ["chromium"]


async def configure(page: Any, server: Server, idp: Pysaml2Idp, name: str) -> str:
    """From the portal's overview to a draft connection of ``idp``; its id."""
    await page.click("nav >> text=Single sign-on")
    await page.wait_for_url(f"{server.url}/portal/sso")
    await look(page, f"{name}-03-sso")
    await page.check("#protocol-saml")
    await page.check("#idp-generic")
    await page.click("#show-guide")
    await page.wait_for_url("**/portal/sso/saml/new?idp=generic&draft=conn_*")
    draft = parse_qs(urlsplit(page.url).query)["draft"][0]
    assert await page.input_value("#acs-url") == f"{server.url}/saml/{draft}/acs"
    await look(page, f"{name}-04-guide")
    await page.set_input_files("#metadata_file", str(idp.metadata_file))
    await page.check("#jit")
    await page.click("#create")
    await page.wait_for_url(f"**/portal/sso/connections/{draft}?created=1")
    assert "Draft" in await page.inner_text("main")
    await look(page, f"{name}-05-draft")
    # the IdP admin downloads Propylon's SP metadata (the draft's, from the portal)
    href = await page.get_attribute("#sp-metadata", "href")
    download = await page.context.request.get(f"{server.url}{href}")
    assert download.ok and b"AssertionConsumerService" in await download.body()
    idp.sp_metadata = await download.body()
    return draft


async def run_test(page: Any, context: Any, name: str) -> Any:
    """ "Test connection": a new tab goes to the IdP and comes back to the result."""
    async with context.expect_page() as opened:
        await page.click("#test-connection")
    result = await opened.value
    await result.wait_for_url("**/portal/sso/tests/ctest_*", timeout=30_000)
    await result.wait_for_load_state()
    await look(result, f"{name}-06-result")
    return result


async def test_the_saml_walk_from_link_to_sign_in(
    server: Server, chromium: Any, tmp_path: Path
) -> None:
    slug = f"walk-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    email = f"ada@{domain}"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Walk Corp", domains=[domain], seats=None
    )
    idp = Pysaml2Idp(tmp_path, email)
    app_host = AppHost()
    context = await chromium.new_context()
    try:
        page = await open_portal(server, context, slug, "saml-walk")
        cid = await configure(page, server, idp, "saml-walk")
        assert (await show(server.rt, cid))["disabled"] is True

        result = await run_test(page, context, "saml-walk")
        assert "The test passed" in await result.inner_text("#test-status")
        states = await result.eval_on_selector_all(
            ".stages li", "els => els.map(e => [e.id, e.dataset.state])"
        )
        assert states and all(state == "passed" for _, state in states), states
        assert email in await result.inner_text("main")  # received, mapped
        await result.close()
        assert (await show(server.rt, cid))["disabled"] is True  # a test changes nothing

        await page.reload()  # the latest result and the preview from it
        assert "Ada" in await page.inner_text("td[data-field=given_name]")
        await page.click("#activate")
        await page.wait_for_url("**/portal/sso/connections/*?activated=1")
        assert "Activated" in await page.inner_text("main")
        await look(page, "saml-walk-07-active")
        assert (await show(server.rt, cid))["disabled"] is False

        # a real sign-in through the app's authorization request
        app = await app_host.register(server)
        verifier, challenge = pkce()
        params = {
            **auth_params(app, state="walk", code_challenge=challenge),
            "code_challenge_method": "S256",
            "redirect_uri": app_host.callback,
            "login_hint": email,
        }
        person = await context.new_page()
        await person.goto(f"{server.url}/oauth2/authorize?{urlencode(params)}")
        await person.wait_for_url(f"{app_host.callback}**", timeout=30_000)
        q = parse_qs(urlsplit(app_host.arrived[-1]).query)
        assert q["state"] == ["walk"] and q["code"], app_host.arrived
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
        idp.close()
        app_host.http.close()


async def test_a_wrong_certificate_is_named_in_the_browser(
    server: Server, chromium: Any, tmp_path: Path
) -> None:
    slug = f"walk-{secrets.token_hex(4)}"
    await ops.create_tenant(server.rt, CLI, slug=slug, name="Wrong Cert", domains=[], seats=None)
    idp = Pysaml2Idp(tmp_path, f"bob@{slug}.example.com", signer=make_keypair("not published"))
    context = await chromium.new_context()
    try:
        page = await open_portal(server, context, slug, "saml-wrong-cert")
        cid = await configure(page, server, idp, "saml-wrong-cert")
        result = await run_test(page, context, "saml-wrong-cert")
        status = await result.inner_text("#test-status")
        assert "The test failed" in status and "Signature" in status, status
        assert await result.get_attribute("#stage-signature", "data-state") == "failed"
        assert await result.get_attribute("#stage-idp_reached", "data-state") == "passed"
        assert await result.get_attribute("#stage-user", "data-state") == "not_reached"
        assert "How to fix it" in await result.inner_text("#stage-signature")
        assert (await show(server.rt, cid))["disabled"] is True
    finally:
        await context.close()
        idp.close()
