"""The portal with Propylon's built-in test IdP, in Chromium: "Use Propylon's test IdP" on
the SAML guide creates a draft that trusts it; "Test connection" goes through the test IdP's
picker and comes back with every stage passed; the SHA-1 scenario fails at the signature
stage with the remedy worded for the IdP chosen (Okta). The same for OpenID Connect. With the
test IdP disabled, the offer is not there. Screenshots, axe-core clean on each page."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from tests.a11y import needs_axe
from tests.browser import chromium, needs_chromium
from tests.conftest import Server, make_backend, running_server
from tests.portal.helpers import portal_browser
from tests.portal_walk.sso_helpers import show
from tests.portal_walk.walk_helpers import look, open_portal

pytestmark = [needs_chromium, needs_axe]
__all__ = ["chromium"]
ENABLED = {"PROPYLON_TEST_IDP_ENABLED": "true", "PROPYLON_TEST_IDP_FORCE": "true"}


@pytest.fixture(scope="module")
async def idp_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    backend = make_backend("sqlite", tmp_path_factory.mktemp("portal-testidp"), ENABLED)
    async with running_server(backend) as server:
        yield server


async def tenant(server: Server) -> str:
    slug = f"tw-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Try Corp", domains=[domain], seats=None
    )
    return slug


async def through_picker(page: Any, context: Any, email: str, scenario: str) -> Any:
    """ "Test connection" → the test IdP's picker in a new tab → the result page."""
    async with context.expect_page() as opened:
        await page.click("#test-connection")
    tab = await opened.value
    await tab.wait_for_selector("#email")
    await tab.fill("#email", email)
    await tab.check(f"#scenario-{scenario}")
    await tab.click("button[type=submit]")
    await tab.wait_for_load_state()
    if "/test-idp/" in tab.url:  # the page that posts the Response, without its script
        await tab.click("text=Continue to Propylon")
    await tab.wait_for_url("**/portal/sso/tests/ctest_*", timeout=30_000)
    return tab


async def test_the_saml_test_idp_from_the_portal(idp_server: Server, chromium: Any) -> None:
    slug = await tenant(idp_server)
    context = await chromium.new_context()
    try:
        page = await open_portal(idp_server, context, slug, "testidp-saml")
        await page.goto(f"{idp_server.url}/portal/sso/saml/new?idp=okta")
        await page.click("#use-test-idp")
        await page.wait_for_url("**/portal/sso/connections/conn_*?created=1")
        cid = page.url.split("/connections/")[1].split("?")[0]
        view = await show(idp_server.rt, cid)
        assert view["idp_entity_id"] == f"{idp_server.url}/test-idp/saml" and view["disabled"]
        await look(page, "testidp-saml-01-draft")

        tab = await through_picker(page, context, f"ada@{slug}.example.com", "success")
        await look(tab, "testidp-saml-02-passed")
        assert "The test passed" in await tab.inner_text("#test-status")
        await tab.close()

        await page.select_option("#test-idp", "okta")
        tab = await through_picker(page, context, f"ada@{slug}.example.com", "sha1")
        await look(tab, "testidp-saml-03-sha1")
        status = await tab.inner_text("#test-status")
        assert "The test failed" in status, status
        assert await tab.get_attribute("#stage-signature", "data-state") == "failed"
        assert "Okta" in await tab.inner_text("#stage-signature")
        assert "SHA-256" in await tab.inner_text("#stage-signature")
        assert (await show(idp_server.rt, cid))["disabled"] is True
        await tab.close()
        # a connection to the test IdP never goes live outside the demo: refused on the page
        await page.click("#activate")
        await page.wait_for_selector("#error-summary")
        assert "Not activated" in await page.inner_text("#error-summary")
        await look(page, "testidp-saml-04-not-activated")
        assert (await show(idp_server.rt, cid))["disabled"] is True
    finally:
        await context.close()


async def test_the_oidc_test_idp_from_the_portal(idp_server: Server, chromium: Any) -> None:
    slug = await tenant(idp_server)
    context = await chromium.new_context()
    try:
        page = await open_portal(idp_server, context, slug, "testidp-oidc")
        await page.goto(f"{idp_server.url}/portal/sso/oidc/new?idp=generic")
        await page.click("#use-test-idp")
        await page.wait_for_url("**/portal/sso/connections/oidc_*?created=1")
        cid = page.url.split("/connections/")[1].split("?")[0]
        view = await show(idp_server.rt, cid)
        assert view["issuer"] == f"{idp_server.url}/test-idp/oidc"
        assert view["client_id"].startswith("test-client-") and view["disabled"]
        tab = await through_picker(page, context, f"grace@{slug}.example.com", "success")
        await look(tab, "testidp-oidc-01-passed")
        assert "The test passed" in await tab.inner_text("#test-status")
        await tab.close()
        tab = await through_picker(page, context, f"grace@{slug}.example.com", "missing_email")
        await look(tab, "testidp-oidc-02-missing-email")
        assert "The test failed" in await tab.inner_text("#test-status")
        assert await tab.get_attribute("#stage-attributes", "data-state") == "failed"
    finally:
        await context.close()


async def test_no_offer_while_the_test_idp_is_disabled(server: Server, tmp_path: Path) -> None:
    slug = await tenant(server)
    async with portal_browser(server, slug, ["sso"]) as client:
        first = await client.get("/portal/sso/saml/new?idp=okta")
        page = await client.get(first.headers["location"])
        assert page.status_code == 200 and "use-test-idp" not in page.text
