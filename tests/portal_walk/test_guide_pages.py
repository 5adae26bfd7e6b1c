"""Every guide (six IdPs, SAML and OpenID Connect) in Chromium: each value to paste is in a
read-only field with its IdP field's name, the copy button works, axe-core finds no serious
violation; the page of a refused form (its error summary) and the page of an unknown
connection too. Live server, SQLite (the pages do not depend on the backend)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.setup import guides
from tests.a11y import needs_axe
from tests.browser import chromium, needs_chromium
from tests.conftest import Server
from tests.portal_walk.walk_helpers import look, open_portal

pytestmark = [needs_chromium, needs_axe]
__all__ = ["chromium"]


async def test_every_guide_page_in_the_browser(server: Server, chromium: Any) -> None:
    if server.name != "sqlite":
        pytest.skip("the guide pages are the same on both backends")
    slug = f"g-{secrets.token_hex(4)}"
    await ops.create_tenant(server.rt, CLI, slug=slug, name="Guide Corp", domains=[], seats=None)
    context = await chromium.new_context()
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        page = await open_portal(server, context, slug, f"guides-{server.name}")
        for protocol, _ in guides.PROTOCOLS:
            for idp, name in guides.IDPS:
                await page.goto(f"{server.url}/portal/sso/{protocol}/new?idp={idp}")
                assert name in await page.inner_text("h1")
                g = guides.guide(protocol, idp)
                fields = [p.idp_field for s in g.steps for p in s.pastes]
                body = await page.inner_text("main")
                assert all(f in body for f in fields), (protocol, idp)
                await look(page, f"guide-{protocol}-{idp}")
        # the copy button (copy.js) puts the value on the clipboard
        await page.goto(f"{server.url}/portal/sso/saml/new?idp=okta")
        await page.click("button[data-copy=acs-url]")
        copied = await page.evaluate("navigator.clipboard.readText()")
        assert copied == await page.input_value("#acs-url")
        # a refused form: the error summary first, linking to the field
        await page.fill("#metadata_url", "http://127.0.0.1:9/md")
        await page.click("#create")
        await page.wait_for_selector("#error-summary")
        await look(page, "guide-refused")
        await page.goto(f"{server.url}/portal/sso/connections/conn_nope")
        assert "no such connection" in (await page.inner_text("main")).lower()
        await look(page, "connection-missing")
    finally:
        await context.close()
