"""A person's walk in Chromium from the app's authorization request to its redirect URI, and
the app redeeming the code it received (``tests/e2e``).

The app is a confidential client whose redirect URI is a loopback server of its own (the
browser follows Propylon's redirect there, as it would to a real app); every page the
browser loaded is recorded."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.browser import AppHost
from tests.conftest import Server
from tests.provider.helpers import App, auth_params, decode, pkce, token_request

TITLE = "Sign in · Propylon"


@dataclass
class Walk:
    url: str
    """The Propylon server the app sends the browser to."""
    app: App
    redirect_uri: str
    page: Any
    verifier: str
    state: str
    arrived: list[str] = field(default_factory=list)
    """What the app's redirect URI received."""
    seen: list[str] = field(default_factory=list)
    """Every document the browser loaded, in order."""

    async def type_email(self, email: str, shot: Path) -> None:
        """On the email-first page (a screenshot kept): Tab to the email field, type, Enter."""
        page = self.page
        assert await page.title() == TITLE
        assert await page.locator("label[for=login_hint]").inner_text() == "Work email"
        await page.screenshot(path=str(shot))
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "login_hint"
        await page.keyboard.type(email)
        await page.keyboard.press("Enter")

    async def methods_page(self, email: str, shot: Path) -> None:
        """The page of the ways in the route allows, for ``email`` (a screenshot kept)."""
        page = self.page
        await page.wait_for_url(f"{self.url}/oauth2/authorize?**login_hint=**")
        await page.wait_for_selector("section")
        assert await page.input_value("#email") == email
        await page.screenshot(path=str(shot))

    async def at_the_app(self, server: Server) -> dict[str, Any]:
        """The browser is at the app's redirect URI with a code and the state; the app
        redeems the code (PKCE, client secret) and reads the ID token's claims."""
        await self.page.wait_for_url(f"{self.redirect_uri}**")
        q = parse_qs(urlsplit(self.arrived[-1]).query)
        assert q["state"] == [self.state], q
        data = {
            "grant_type": "authorization_code",
            "code": q["code"][0],
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
        }
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as rp:
            tokens = await token_request(rp, self.app, data)
        assert tokens.status_code == 200, tokens.text
        _, claims = await decode(server, tokens.json()["id_token"])
        return claims


@asynccontextmanager
async def walking(chromium: Any, url: str, server: Server) -> AsyncIterator[Walk]:
    """A new app, and a fresh browser profile opening its authorization request (no
    ``login_hint``) at ``url``; the app's redirect URI closed at the end."""
    host = AppHost()
    callback = host.callback
    try:
        app = await host.register(server, "e2e")
        context = await chromium.new_context()
        verifier, challenge = pkce()
        state = "st-" + secrets.token_hex(6)
        walk = Walk(url, app, callback, await context.new_page(), verifier, state, host.arrived)
        walk.page.on("load", lambda p: walk.seen.append(p.url))
        params = auth_params(app, state=state, code_challenge=challenge)
        params |= {"code_challenge_method": "S256", "redirect_uri": callback}
        await walk.page.goto(f"{url}/oauth2/authorize?{urlencode(params)}")
        yield walk
        await context.close()
    finally:
        host.http.close()
