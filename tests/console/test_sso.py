"""Signing in to the console by SSO through Propylon itself: the console's tenant signs the
person in over SAML (a signed Response built by the test IdP of tests/saml), Propylon's own
OpenID Provider issues the console a code (PKCE), redeemed in process; admitted only with
the role ``PROPYLON_CONSOLE_SSO_ROLE`` in their entitlements, refused (audited) without."""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from lxml import etree

from propylon import errors
from propylon.admin import entitlements, saml_connections
from propylon.admin import tenants as tenant_ops
from propylon.admin.audited import CLI
from propylon.runtime import Runtime, build_runtime
from propylon.tenants.directories import scim_base_url
from propylon.tenants.saml_connections import IdpSource
from tests.a11y import assert_accessible, needs_axe
from tests.browser import IDP as BROWSER_IDP
from tests.browser import LoopbackIdp, chromium, needs_chromium  # noqa: F401
from tests.conftest import Server, start_server, stop_server
from tests.console.test_console_in_chromium import _shots
from tests.saml.idp import KeyPair, Spec, build, make_keypair

IDP = "http://idp.console-sso.test/exk"
SSO = "https://idp.console-sso.test/sso"
ROLE = "propylon-operator"


@dataclass
class ConsoleTenant:
    url: str
    rt: Runtime
    slug: str
    domain: str
    connection: dict[str, Any]
    idp: KeyPair
    scim: httpx.AsyncClient


@asynccontextmanager
async def sso_console(
    server: Server, idp: LoopbackIdp | None = None, env: dict[str, str] | None = None
) -> AsyncIterator[ConsoleTenant]:
    """A server of its own whose console signs in through a new tenant's SAML IdP (``idp``,
    or one this test plays by hand), where people in the group ``Platform`` get the
    console's role."""
    slug = f"platform-{secrets.token_hex(3)}"
    extra = {"PROPYLON_CONSOLE_SSO_TENANT": slug, **(env or {})}
    url, proc = start_server(server.backend, extra)
    settings = server.backend.settings().model_copy(
        update={"public_url": url, "console_sso_tenant": slug}
    )
    rt = build_runtime(settings)
    try:
        domain = f"{slug}.example"
        await tenant_ops.create_tenant(
            rt, CLI, slug=slug, name="Platform", domains=[domain], seats=None
        )
        d = await tenant_ops.create_directory(rt, CLI, slug)
        keys = idp.keys if idp else make_keypair("console-idp")
        source = IdpSource(
            sso_url=idp.sso_url if idp else SSO,
            idp_entity_id=BROWSER_IDP if idp else IDP,
            certificates=(keys.cert,),
        )
        conn = await saml_connections.create_connection(rt, CLI, slug, source)
        if idp:
            idp.connection = conn
        with suppress(errors.AlreadyExists):  # the catalogue is the installation's
            await entitlements.catalog_add(rt, CLI, "role", ROLE)
        rules = {
            "rules": [
                {"name": "ops", "when": {"any_groups": ["Platform"]}, "grant": {"roles": [ROLE]}}
            ]
        }
        await entitlements.rules_set(rt, CLI, slug, rules)
        scim = httpx.AsyncClient(
            base_url=scim_base_url(url, d["directory_id"]),
            headers={"Authorization": f"Bearer {d['token']}"},
        )
        async with scim:
            yield ConsoleTenant(url, rt, slug, domain, conn, keys, scim)
    finally:
        await rt.close()
        stop_server(proc)


async def _person(t: ConsoleTenant, email: str, in_platform: bool) -> str:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "emails": [{"value": email, "primary": True}],
        "active": True,
    }
    r = await t.scim.post("/Users", json=body)
    assert r.status_code == 201, r.text
    uid = str(r.json()["id"])
    if in_platform:
        group = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Platform",
            "members": [{"value": uid}],
        }
        g = await t.scim.post("/Groups", json=group)
        assert g.status_code == 201, g.text
    return uid


async def _sso(t: ConsoleTenant, browser: httpx.AsyncClient, email: str) -> httpx.Response:
    """From the console's "Sign in with SSO" to the answer of its callback."""
    r = await browser.get("/admin/sso/start")
    assert r.status_code == 302 and r.headers["location"].startswith("/oauth2/authorize?")
    r = await browser.get(r.headers["location"])
    assert r.status_code == 302 and r.headers["location"].startswith(SSO), r.text
    q = parse_qs(urlsplit(r.headers["location"]).query)
    request = etree.fromstring(zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15))
    acs = t.connection["acs_url"]
    spec = Spec(
        now=dt.datetime.now(dt.UTC),
        issuer=IDP,
        destination=acs,
        recipient=acs,
        audience=t.connection["sp_entity_id"],
        in_response_to=request.get("ID"),
        name_id=email,
        attributes={"email": [email]},
        assertion_id="id" + secrets.token_hex(16),
        response_id="id" + secrets.token_hex(16),
    )
    saml = base64.b64encode(build(spec, idp=t.idp, sign_assertion=True)).decode()
    r = await browser.post(
        urlsplit(acs).path, data={"SAMLResponse": saml, "RelayState": q["RelayState"][0]}
    )
    assert r.status_code == 303, r.text
    callback = r.headers["location"]
    assert urlsplit(callback).path == "/admin/sso/callback", callback
    return await browser.get(callback)


async def test_sso_admits_the_role_and_refuses_without_it(server: Server) -> None:
    async with sso_console(server) as t:
        ops, other = f"ops@{t.domain}", f"someone@{t.domain}"
        ops_id = await _person(t, ops, in_platform=True)
        other_id = await _person(t, other, in_platform=False)
        async with httpx.AsyncClient(base_url=t.url, timeout=30) as browser:
            login = await browser.get("/admin/login")
            assert 'href="/admin/sso/start"' in login.text
            done = await _sso(t, browser, ops)
            assert done.status_code == 200, done.text
            assert 'http-equiv="refresh"' in done.text
            home = await browser.get("/admin")
            assert home.status_code == 200 and ops in home.text and "(SSO)" in home.text
        async with httpx.AsyncClient(base_url=t.url, timeout=30) as browser:
            refused = await _sso(t, browser, other)
            assert refused.status_code == 403 and ROLE in refused.text
            assert "propylon_console=" not in refused.headers.get("set-cookie", "")
            assert (await browser.get("/admin")).status_code == 302
        trail = await tenant_ops.audit_trail(t.rt, t.slug, limit=50, action="console.sign_in")
        outcomes = {(e["target_id"], e["outcome"]) for e in trail}
        assert (ops_id, "success") in outcomes and (other_id, "failure") in outcomes


async def test_sso_callback_without_its_start_is_refused(server: Server) -> None:
    async with sso_console(server) as t, httpx.AsyncClient(base_url=t.url, timeout=30) as b:
        r = await b.get("/admin/sso/callback", params={"code": "x", "state": "y"})
        assert r.status_code == 400
        await b.get("/admin/sso/start")
        r = await b.get("/admin/sso/callback", params={"code": "x", "state": "not-the-state"})
        assert r.status_code == 400
        assert all(c.name != "propylon_console" for c in b.cookies.jar)


async def test_sso_is_off_unless_set(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as b:
        assert (await b.get("/admin/sso/start")).status_code == 404
        assert (await b.get("/admin/sso/callback")).status_code == 404
        assert "/admin/sso/start" not in (await b.get("/admin/login")).text


@needs_chromium
@needs_axe
async def test_sso_in_chromium(server: Server, chromium: Any) -> None:  # noqa: F811
    if server.name != "sqlite":
        return  # one browser walk is enough; the HTTP tests run on both backends
    idp = LoopbackIdp("nobody@example.com")
    async with sso_console(server, idp) as t:
        idp.email = f"ops@{t.domain}"
        await _person(t, idp.email, in_platform=True)
        context = await chromium.new_context()
        page = await context.new_page()
        await page.goto(t.url + "/admin/login")
        await page.click("text=Sign in with SSO")
        await page.wait_for_url(re.compile(r".*/admin$"))
        assert idp.email in await page.content()
        await assert_accessible(page, "console after SSO")
        await page.screenshot(path=str(_shots() / "console-sso-signed-in.png"), full_page=True)
        await context.close()
        idp.email = f"visitor@{t.domain}"
        await _person(t, idp.email, in_platform=False)
        context = await chromium.new_context()
        page = await context.new_page()
        await page.goto(t.url + "/admin/login")
        await page.click("text=Sign in with SSO")
        await page.wait_for_selector("text=Not allowed in the console")
        await assert_accessible(page, "console SSO refused")
        await page.screenshot(path=str(_shots() / "console-sso-refused.png"), full_page=True)
        await context.close()
