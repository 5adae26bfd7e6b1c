"""The console in Chromium: signing in through its forms (the TOTP code typed as a person
would, computed with the RFC 6238 reference algorithm), every page visited, no serious
accessibility violation (axe-core, WCAG 2.2 AA) on any, a screenshot of each in
``$PROPYLON_SCREENSHOTS`` (default ``test-artifacts/screenshots/``), and sign-out."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from propylon.admin import directories
from propylon.directory.views import UserFilter
from propylon.tenants.individuals import INDIVIDUALS_TENANT_ID
from tests.a11y import assert_accessible, needs_axe
from tests.browser import chromium, needs_chromium  # noqa: F401
from tests.conftest import Server
from tests.console.helpers import PASSWORD, code_now, new_operator
from tests.console.test_pages import _tenant
from tests.password.helpers import new_account
from tests.password.helpers import new_email as person_email

ROOT = Path(__file__).parent.parent.parent


def _shots() -> Path:
    where = Path(os.environ.get("PROPYLON_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
    where.mkdir(parents=True, exist_ok=True)
    return where


async def _check(page: Any, name: str) -> None:
    await assert_accessible(page, name)
    await page.screenshot(path=str(_shots() / f"console-{name}.png"), full_page=True)


@needs_chromium
@needs_axe
async def test_every_console_page_in_chromium(server: Server, chromium: Any) -> None:  # noqa: F811
    if server.name != "sqlite":
        return  # the pages are the same on both backends; one browser walk is enough
    tenant_id, _ = await _tenant(server)
    person = person_email()
    await new_account(server, person)  # a person with a session, for the person's page
    found = await directories.list_users(
        server.rt, INDIVIDUALS_TENANT_ID, offset=0, limit=1, where=UserFilter(email=person)
    )
    person_page = f"/admin/tenants/{INDIVIDUALS_TENANT_ID}/users/{found[0]['id']}"
    op = await new_operator(server)
    page = await chromium.new_page()
    try:
        await page.goto(server.url + "/admin")
        assert page.url.endswith("/admin/login")
        await _check(page, "login")
        await page.fill("#email", op["email"])
        await page.fill("#password", "wrong password here")
        await page.click("button[type=submit]")
        assert await page.locator("#error-summary").count() == 1
        await _check(page, "login-refused")
        await page.fill("#email", op["email"])
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(re.compile(r".*/admin/login/code$"))
        await _check(page, "code")
        await page.fill("#code", code_now(op))
        await page.click("button[type=submit]")
        await page.wait_for_url(re.compile(r".*/admin$"))
        assert op["email"] in await page.content()
        await _check(page, "tenants")
        for name, path in [
            ("tenant", f"/admin/tenants/{tenant_id}"),
            ("users", f"/admin/tenants/{tenant_id}/users"),
            ("person-search", f"/admin/tenants/{INDIVIDUALS_TENANT_ID}/users?email={person}"),
            ("person", person_page),
            ("audit", "/admin/audit"),
            ("audit-refused", "/admin/audit?since=yesterday"),
            ("events", "/admin/events"),
            ("deliveries", "/admin/deliveries?state=dead"),
            ("not-found", "/admin/tenants/tenant_nothere"),
            ("operators", "/admin/operators"),
            ("portal-links", "/admin/portal-links"),
        ]:
            await page.goto(server.url + path)
            await _check(page, name)
        await page.select_option("#tenant", tenant_id)
        await page.check("#intent-sso")
        await page.click("form[action='/admin/portal-links'][method=post] button[type=submit]")
        await page.wait_for_selector("#created-url")
        url = await page.input_value("#created-url")
        assert "/portal/start?token=" in url
        await _check(page, "portal-link-created")
        await page.goto(server.url + person_page)
        await page.click("text=Revoke all sessions of this person")
        await page.wait_for_selector("text=No active sessions.")
        await _check(page, "person-revoked")
        await page.click("text=Sign out")
        await page.wait_for_url(re.compile(r".*/admin/login\?signed_out=1$"))
        await page.goto(server.url + "/admin/audit")
        assert page.url.endswith("/admin/login?next=%2Fadmin%2Faudit")
    finally:
        await page.close()
