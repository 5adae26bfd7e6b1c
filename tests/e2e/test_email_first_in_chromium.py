"""Four people sign in to the app in Chromium from the email-first page, as a person would:
the app's authorization request (no ``login_hint``), their email typed, then what the page
offers, to the app's redirect URI with a code the app redeems. The ID token says how:

- a password user of no organisation: "Continue with password", then the password form;
- a SAML tenant's person: straight to the tenant's IdP (a loopback IdP posting a signed
  Response);
- an OIDC tenant's person: straight to the tenant's OpenID Provider, panva's
  ``oidc-provider`` from npm;
- a Google user of no organisation: "Continue with Google", a second ``oidc-provider``
  standing in for Google on a server of its own (``PROPYLON_GOOGLE_*``).

And a tenant that enforces SSO: its person goes to the IdP and never sees a password form.
Screenshots of the email-first and methods pages are kept in the test's ``tmp_path``. Live
server, both backends.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from propylon.admin import saml_connections as operations_saml
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.tenants.saml_connections import IdpSource
from propylon.tenants.service import SignInPolicy
from tests.browser import IDP, LoopbackIdp, chromium, needs_chromium
from tests.conftest import Server
from tests.e2e.walk import walking
from tests.http.test_scim_users import user_body
from tests.interop.oidc_op import Op, google_stand_in, has_oidc_provider
from tests.oidc_conn.conftest import op
from tests.password.helpers import PASSWORD, new_account
from tests.password.helpers import sign_in as password_sign_in

pytestmark = needs_chromium
__all__ = ["chromium", "op"]  # the fixtures (op: the tenant's OpenID Provider)
needs_op = pytest.mark.skipif(not has_oidc_provider(), reason="needs node and oidc-provider")


def no_org(claims: dict[str, Any]) -> bool:
    return "org_id" not in claims and "org_slug" not in claims


async def saml_tenant(server: Server) -> tuple[str, str, str, LoopbackIdp]:
    """A tenant with a SAML connection to a loopback IdP and one person (from SCIM): its
    slug and id, the person's email, the IdP (the caller closes it)."""
    slug = f"web-{secrets.token_hex(4)}"
    email = f"grace@{slug}.example.com"
    view = await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Web Corp", domains=[f"{slug}.example.com"], seats=None
    )
    directory = await ops.create_directory(server.rt, CLI, slug)
    idp = LoopbackIdp(email)
    source = IdpSource(sso_url=idp.sso_url, idp_entity_id=IDP, certificates=(idp.keys.cert,))
    idp.connection = await operations_saml.create_connection(server.rt, CLI, slug, source)
    headers = {"Authorization": f"Bearer {directory['token']}"}
    async with httpx.AsyncClient(base_url=directory["base_url"], headers=headers) as scim:
        r = await scim.post("/Users", json=user_body(email))
    assert r.status_code == 201, r.text
    return slug, view.id, email, idp


async def test_a_password_user_continues_with_password(
    server: Server, chromium: Any, tmp_path: Path
) -> None:
    email = f"pia-{secrets.token_hex(3)}@home-{secrets.token_hex(3)}.example"
    await new_account(server, email)  # signed up and verified through the emailed link
    async with walking(chromium, server.url, server) as walk:
        await walk.type_email(email, tmp_path / "password-email-first.png")
        await walk.methods_page(email, tmp_path / "password-methods.png")
        assert "No organisation uses the domain" in await walk.page.inner_text("main")
        assert await walk.page.locator("#google-link").count() == 0  # no Google on this server
        await walk.page.get_by_role("button", name="Continue with password").click()
        await walk.page.wait_for_selector("#password")
        assert await walk.page.input_value("#email") == email
        await walk.page.focus("#password")
        await walk.page.keyboard.type(PASSWORD)
        await walk.page.keyboard.press("Enter")
        claims = await walk.at_the_app(server)
        assert claims["email"] == email and no_org(claims)
        assert (claims["auth_method"], claims["idp"], claims["amr"]) == (
            "password",
            "password",
            ["pwd"],
        )


async def test_a_saml_tenants_person_goes_straight_to_the_idp(
    server: Server, chromium: Any, tmp_path: Path
) -> None:
    slug, tenant_id, email, idp = await saml_tenant(server)
    try:
        async with walking(chromium, server.url, server) as walk:
            await walk.type_email(email, tmp_path / "saml-email-first.png")
            claims = await walk.at_the_app(server)
    finally:
        idp.http.close()
    assert idp.authn_requests == 1
    assert claims["email"] == email
    assert (claims["org_slug"], claims["org_id"]) == (slug, tenant_id)
    assert (claims["auth_method"], claims["amr"]) == ("saml", ["saml"])
    assert claims["idp"] == idp.connection["connection_id"]
    assert not [u for u in walk.seen if "/password/" in u]


async def test_an_enforced_sso_tenants_person_never_sees_a_password_form(
    server: Server, chromium: Any, tmp_path: Path
) -> None:
    """The tenant allows passwords but enforces SSO, and its person had a password account
    from before: typing the email leads to the IdP, on no page a password field; the old
    password itself is refused."""
    slug, _, email, idp = await saml_tenant(server)
    try:
        await new_account(server, email)
        policy = SignInPolicy(enforce_sso=True, allow_password=True, allow_google=True)
        await ops.set_sign_in_policy(server.rt, CLI, slug, policy)
        async with walking(chromium, server.url, server) as walk:
            passwords = 0

            async def count_password_fields(page: Any) -> None:
                nonlocal passwords
                passwords += await page.locator("input[type=password]").count()

            walk.page.on("load", count_password_fields)
            assert await walk.page.locator("input[type=password]").count() == 0
            await walk.type_email(email, tmp_path / "enforced-email-first.png")
            claims = await walk.at_the_app(server)
    finally:
        idp.http.close()
    assert claims["email"] == email and claims["auth_method"] == "saml"
    assert claims["org_slug"] == slug and idp.authn_requests == 1
    assert walk.seen and passwords == 0
    assert not [u for u in walk.seen if "/password/" in u], walk.seen
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as b:
        refused = await password_sign_in(b, email, PASSWORD)
    assert refused.status_code == 403 and "single sign-on" in refused.text


@needs_op
async def test_an_oidc_tenants_person_goes_straight_to_the_op(
    server: Server, op: Op, chromium: Any, tmp_path: Path
) -> None:
    slug = f"oidc-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    view = await ops.create_tenant(
        server.rt, CLI, slug=slug, name="OIDC Corp", domains=[domain], seats=None
    )
    secret = "op-client-secret-" + secrets.token_hex(16)
    conn = server.cli_json(
        "oidc", "create-connection", slug, "--issuer", op.url, "--client-id",
        f"propylon-{slug}", "--client-secret", secret, "--jit",
    )  # fmt: skip
    ada = {"sub": "op-ada-" + secrets.token_hex(3), "email": f"ada@{domain}"}
    ada |= {"email_verified": True, "given_name": "Ada", "family_name": "Lovelace"}
    client = {
        "client_id": conn["client_id"],
        "client_secret": secret,
        "redirect_uris": [conn["redirect_uri"]],
    }
    op.restart(clients=[client], users=[ada])
    async with walking(chromium, server.url, server) as walk:
        await walk.type_email(ada["email"], tmp_path / "oidc-email-first.png")
        claims = await walk.at_the_app(server)
        assert claims["email"] == ada["email"] and claims["given_name"] == "Ada"
        assert (claims["org_slug"], claims["org_id"]) == (slug, view.id)
        assert (claims["auth_method"], claims["amr"]) == ("oidc", ["oidc"])
        assert claims["idp"] == conn["connection_id"]


@needs_op
async def test_a_google_user_continues_with_google(
    server: Server, chromium: Any, tmp_path: Path
) -> None:
    """Google is configured on a server of its own; the person's domain belongs to no
    tenant, so the page offers the individual accounts' ways in, Google among them."""
    email = f"gus-{secrets.token_hex(3)}@home-{secrets.token_hex(3)}.example"
    gus = {"sub": "g-" + secrets.token_hex(6), "email": email, "email_verified": True}
    with google_stand_in(server.backend, tmp_path, [gus]) as (url, _):
        async with walking(chromium, url, server) as walk:
            await walk.type_email(email, tmp_path / "google-email-first.png")
            await walk.methods_page(email, tmp_path / "google-methods.png")
            await walk.page.click("#google-link")
            claims = await walk.at_the_app(server)
    assert claims["email"] == email and no_org(claims)
    assert (claims["auth_method"], claims["idp"], claims["amr"]) == ("google", "google", ["google"])
