"""A real browser for the sign-in tests: Debian's Chromium driven by Playwright (the
``chromium`` fixture, flags as the machine's probe starts it), and a loopback SAML IdP that
answers like Okta (a signed Response in a page that posts itself, HTTP-POST binding).

Test modules import the fixture (``from tests.browser import chromium``) and skip with
:data:`needs_chromium` where ``/usr/bin/chromium`` is missing."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import shutil
import zlib
from collections.abc import AsyncIterator
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from propylon.admin import apps
from propylon.admin.audited import CLI
from tests.conftest import Server
from tests.loopback_http import LoopbackHttp
from tests.provider.helpers import App
from tests.saml.idp import KeyPair, Spec, build, make_keypair

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian chromium")
IDP = "http://idp.loopback.test/exk-browser"


class LoopbackIdp:
    """An IdP on loopback: each GET of ``/sso`` carries an AuthnRequest (HTTP-Redirect); the
    answer is a page that posts a signed Response for ``email`` to the ACS."""

    def __init__(self, email: str) -> None:
        self.email = email
        self.keys: KeyPair = make_keypair("browser-idp")
        self.connection: dict[str, Any] = {}
        self.http = LoopbackHttp(self.answer)
        self.sso_url = f"http://127.0.0.1:{self.http.port}/sso"
        self.authn_requests = 0

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if not path.startswith("/sso?"):  # the browser's /favicon.ico
            return 404, {"Content-Type": "text/plain"}, b"not found"
        self.authn_requests += 1
        q = parse_qs(urlsplit(path).query)
        request = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15)
        acs = self.connection["acs_url"]
        spec = Spec(
            now=dt.datetime.now(dt.UTC),
            issuer=IDP,
            destination=acs,
            recipient=acs,
            audience=self.connection["sp_entity_id"],
            in_response_to=etree.fromstring(request).get("ID"),
            name_id=self.email,
            attributes={"email": [self.email], "firstName": ["Grace"], "lastName": ["Hopper"]},
            assertion_id="id" + secrets.token_hex(16),
            response_id="id" + secrets.token_hex(16),
        )
        saml = base64.b64encode(build(spec, idp=self.keys, sign_assertion=True)).decode()
        page = (
            f'<!doctype html><body onload="document.forms[0].submit()">'
            f'<form method="post" action="{escape(acs)}">'
            f'<input type="hidden" name="SAMLResponse" value="{saml}">'
            f'<input type="hidden" name="RelayState" value="{escape(q["RelayState"][0])}">'
            f"<noscript><button>Continue</button></noscript></form></body>"
        )
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()


class AppHost:
    """An app whose redirect URI is a loopback server of its own: the browser follows
    Propylon's redirect there as it would to a real app; ``arrived`` is what it received."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.http = LoopbackHttp(self.answer)
        self.callback = f"http://127.0.0.1:{self.http.port}/callback"

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/callback"):  # not the browser's /favicon.ico
            self.arrived.append(path)
        return 200, {"Content-Type": "text/plain"}, b"signed in"

    async def register(self, server: Server, name: str = "web") -> App:
        """A confidential app at ``server`` with this redirect URI."""
        made = await apps.create_app(server.rt, CLI, name=name, redirect_uris=[self.callback])
        return App(made["client_id"], made["client_secret"])


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """Headless Chromium as the machine's probe starts it: no sandbox (root), no network
    beyond what a test routes, a fresh profile."""
    async_api = pytest.importorskip("playwright.async_api")
    async with async_api.async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield browser
        finally:
            await browser.close()
