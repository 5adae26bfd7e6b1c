"""The email-first pages in Chromium, by keyboard only: the person types their email, and the
page of the methods allowed is reached, labelled and navigable with a visible focus; an
error page announces itself and leads back."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from tests.browser import chromium, needs_chromium
from tests.conftest import Server
from tests.provider.helpers import auth_params, new_app

pytestmark = needs_chromium
__all__ = ["chromium"]  # the fixture


async def focused(page: Any) -> dict[str, str]:
    return dict(
        await page.evaluate(
            """() => { const e = document.activeElement, s = getComputedStyle(e);
            return {id: e.id || e.name || e.textContent.trim(), tag: e.tagName,
                    outline: s.outlineStyle + ' ' + s.outlineWidth}; }"""
        )
    )


async def test_an_individual_reaches_password_and_google_by_keyboard(
    site: Server, chromium: Any
) -> None:
    app = await new_app(site)
    email = f"ida@home-{secrets.token_hex(3)}.example"
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(f"{site.url}/oauth2/authorize?{urlencode(auth_params(app))}")
    assert await page.title() == "Sign in · Acme Cloud"
    assert await page.locator("h1").count() == 1
    label = page.locator("label[for=login_hint]")
    assert await label.inner_text() == "Work email"
    await page.keyboard.press("Tab")
    assert (await focused(page))["id"] == "login_hint"
    await page.keyboard.type(email)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await page.wait_for_selector("#email")

    assert "No organisation uses the domain" in await page.inner_text("main")
    assert await page.input_value("#email") == email
    assert await page.locator("label[for=email]").inner_text() == "Email"
    order = []
    for _ in range(6):
        await page.keyboard.press("Tab")
        now = await focused(page)
        assert now["outline"].startswith("solid") and not now["outline"].endswith(" 0px")
        order.append(now["id"])
    assert order == [
        "email",
        "Continue with password",
        "Forgot your password?",
        "Create an account",
        "google-link",
        "back-link",
    ]
    google = await page.get_attribute("#google-link", "href")
    assert google is not None and google.startswith("/google/login?return_to=")
    await context.close()


async def test_an_error_page_announces_itself_and_leads_back(site: Server, chromium: Any) -> None:
    context = await chromium.new_context()
    page = await context.new_page()
    await page.goto(f"{site.url}/oauth2/authorize?response_type=code")
    alert = page.get_by_role("alert")
    assert "names no application" in await alert.inner_text()
    assert await page.get_attribute("#back-link", "href") == "https://cloud.example.com/"
    assert await page.get_attribute("html", "lang") == "en"
    await context.close()
