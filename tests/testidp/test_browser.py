"""The test IdP's pages in Chromium: a SAML sign-in from the app's authorization request to
its redirect with a code, through the picker (with an error announced first) and the page
that hands the answer to Propylon; axe-core finds no serious WCAG 2.2 AA violation on any of
them. Screenshots go to ``$PROPYLON_SCREENSHOTS`` (else ``test-artifacts/screenshots``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.a11y import assert_accessible, needs_axe
from tests.browser import chromium as chromium  # the fixture
from tests.browser import needs_chromium
from tests.conftest import Server
from tests.provider.helpers import REDIRECT, auth_params, pkce
from tests.testidp.conftest import add_user, new_tenant

pytestmark = [needs_chromium, needs_axe]


def shots() -> Path:
    folder = Path(os.environ.get("PROPYLON_SCREENSHOTS") or "test-artifacts/screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def test_saml_sign_in_through_the_pickers_pages(idp_server: Server, chromium: Any) -> None:
    tenant = await new_tenant(idp_server)
    email = tenant.email("ada")
    await add_user(tenant, email)
    _, challenge = pkce()
    params = auth_params(
        tenant.app,
        state="s1",
        nonce="n1",
        code_challenge=challenge,
        code_challenge_method="S256",
        login_hint=email,
    )
    page = await chromium.new_page()
    landed: list[str] = []

    async def app_side(route: Any) -> None:
        landed.append(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="the app")

    await page.route(f"{REDIRECT}**", app_side)
    await page.goto(f"{idp_server.url}/oauth2/authorize?{urlencode(params)}")
    assert page.url.startswith(f"{idp_server.url}/test-idp/saml/sso?")
    await page.get_by_role("heading", name="TEST IdP - not for production").wait_for()
    await assert_accessible(page, "test IdP picker")
    await page.screenshot(path=shots() / f"testidp-picker-{idp_server.name}.png", full_page=True)

    await page.fill("#email", "not an address")
    await page.click("button[type=submit]")
    await page.get_by_role("alert").get_by_text("Enter an email address").wait_for()
    await assert_accessible(page, "test IdP picker with an error")
    await page.screenshot(
        path=shots() / f"testidp-picker-error-{idp_server.name}.png", full_page=True
    )

    await page.fill("#email", email)
    await page.fill("#groups", "Clinicians\nEngineering")
    await page.check("#scenario-success")
    await page.click("button[type=submit]")
    await page.get_by_role("button", name="Continue to Propylon").wait_for()
    await assert_accessible(page, "test IdP answer page")
    await page.screenshot(path=shots() / f"testidp-answer-{idp_server.name}.png", full_page=True)
    await page.click("text=Continue to Propylon")
    await page.wait_for_url(f"{REDIRECT}**")
    assert landed and "code=" in landed[-1] and "state=s1" in landed[-1]
    await page.close()
