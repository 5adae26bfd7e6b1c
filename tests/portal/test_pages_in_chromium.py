"""Every portal page this package owns, in Chromium: reached through a real link (the
Continue page, then the session cookie), each form used as a person does, axe-core clean
(WCAG 2.2 AA, nothing serious or critical), no script but Propylon's own (CSP), and a
screenshot of each in ``$PROPYLON_SCREENSHOTS`` (default ``test-artifacts/screenshots/``)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from tests.a11y import assert_accessible, needs_axe
from tests.browser import chromium, needs_chromium
from tests.conftest import Server
from tests.domains.dns_server import DnsServer
from tests.entitlements.helpers import clinical_rules, suffix
from tests.portal.helpers import new_link, new_tenant

pytestmark = [needs_chromium, needs_axe]
__all__ = ["chromium"]  # the fixture
ROOT = Path(__file__).resolve().parents[2]


def shots() -> Path:
    where = Path(os.environ.get("PROPYLON_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
    where.mkdir(parents=True, exist_ok=True)
    return where


async def check(page: Any, name: str, backend: str) -> None:
    """The page is accessible; its screenshot saved."""
    await assert_accessible(page, name)
    assert await page.locator("h1").count() == 1, name
    await page.screenshot(path=str(shots() / f"portal-{name}-{backend}.png"), full_page=True)


async def _seed_directory_requests(base_url: str, token: str) -> None:
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}
    ) as scim:
        user = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"ann-{secrets.token_hex(3)}@example.org",
        }
        assert (await scim.post("/Users", json=user)).status_code == 201
        assert (await scim.post("/Users", json=user)).status_code == 409


async def test_every_portal_page_in_chromium(
    site: Server, chromium: Any, portal_dns: DnsServer
) -> None:
    if site.name != "sqlite":
        pytest.skip("the pages are the same on both backends; one browser walk is enough")
    tenant = await new_tenant(site)
    s = suffix()
    rules = await clinical_rules(site, s)
    link = await new_link(site, tenant.slug, ["all"])
    context = await chromium.new_context()
    page = await context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    try:
        await page.goto(link["url"])
        await check(page, "start", site.name)
        await page.click("#continue")
        await page.wait_for_url(f"{site.url}/portal")
        assert "token=" not in page.url
        await check(page, "overview", site.name)

        await page.click("a[href='/portal/domains']")
        await page.wait_for_url("**/portal/domains")
        await page.fill("#domain", "")
        domain = f"shot-{secrets.token_hex(3)}.example.org"
        await page.fill("#domain", domain)
        await page.click("#add-domain")
        await page.wait_for_selector("#value-1")
        await check(page, "domains", site.name)
        value = await page.input_value("#value-1")
        portal_dns.publish(f"_propylon-challenge.{domain}", value)
        await page.click("#check-1")
        await page.wait_for_selector("text=Verified: the TXT record was found")
        await check(page, "domains-verified", site.name)

        await page.click("a[href='/portal/scim']")
        await page.wait_for_url("**/portal/scim")
        await check(page, "scim-empty", site.name)
        await page.fill("#name", "Okta")
        await page.click("#create-directory")
        await page.wait_for_selector("#issued-token")
        await check(page, "scim-token", site.name)
        token = await page.input_value("#issued-token")
        base = await page.input_value("#issued-base-url")
        await _seed_directory_requests(base, token)
        await page.click("text=Okta")
        await page.wait_for_selector("text=Latest requests received")
        await page.reload()
        await check(page, "scim-directory", site.name)
        await page.click("#rotate")
        await page.wait_for_selector("#issued-token")
        await check(page, "scim-rotated", site.name)

        await page.click("a[href='/portal/roles']")
        await page.wait_for_url("**/portal/roles")
        await check(page, "roles", site.name)
        await page.fill("#rules", "{ not json")
        await page.click("#preview")
        await page.wait_for_selector("#error-summary")
        await check(page, "roles-error", site.name)
        await page.fill("#rules", json.dumps(rules, indent=2))
        await page.click("#preview")
        await page.wait_for_selector("#preview-heading")
        await check(page, "roles-preview", site.name)
        await page.click("#save")
        await page.wait_for_selector("text=Saved as version 1")
        await check(page, "roles-saved", site.name)

        await page.click("#sign-out")
        await page.wait_for_url("**/portal/signed-out")
        await check(page, "signed-out", site.name)
        await page.goto(f"{site.url}/portal")
        await check(page, "expired", site.name)
        assert "expired or was already used" in await page.content()
        await page.goto(link["url"])  # the link again: used
        assert "expired or was already used" in await page.content()
    finally:
        await context.close()
    assert blocked == []


async def test_a_section_the_link_does_not_cover_in_chromium(site: Server, chromium: Any) -> None:
    tenant = await new_tenant(site)
    await ops.create_directory(site.rt, CLI, tenant.slug)
    link = await new_link(site, tenant.slug, ["sso"])
    context = await chromium.new_context()
    page = await context.new_page()
    try:
        await page.goto(link["url"])
        await page.click("#continue")
        await page.wait_for_url(f"{site.url}/portal")
        answer = await page.goto(f"{site.url}/portal/scim")
        assert answer is not None and answer.status == 403
        await check(page, "forbidden", site.name)
    finally:
        await context.close()
