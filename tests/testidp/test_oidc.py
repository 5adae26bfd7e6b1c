"""The test IdP's OpenID Provider through a tenant's real OIDC connection: discovery, the
picker, the code flow (client_secret_basic, PKCE) to a session, and each scenario's refusal
as Propylon's callback names it in the audit trail."""

from __future__ import annotations

import base64
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from propylon.admin import oidc_connections as ops_oidc
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.tenants.oidc_connections import OidcConnectionDraft
from propylon.testidp.identity import oidc_issuer, test_client_secret
from tests.conftest import Server
from tests.oidc_signin.helpers import Tenant as OidcTenant
from tests.oidc_signin.helpers import return_to, scim_user
from tests.provider.helpers import REDIRECT, decode, new_app, pkce, token_request
from tests.testidp.conftest import DEMO_DOMAIN, demo_tenant, form_of, unique_email
from tests.testidp.test_saml import PERSON


async def oidc_tenant(server: Server) -> OidcTenant:
    """The demo tenant (the only one whose connections to the test IdP may be live) with a
    new live OIDC connection to the test OpenID Provider, its others disabled."""
    slug = await demo_tenant(server)
    view = await ops.describe_tenant(server.rt, slug)
    client_id = f"test-client-{secrets.token_hex(4)}"
    draft = OidcConnectionDraft(
        issuer=oidc_issuer(server.url),
        client_id=client_id,
        client_secret=test_client_secret(server.rt, client_id),
    )
    made = await ops_oidc.create_connection(server.rt, CLI, slug, draft)
    return OidcTenant(
        view.id, slug, DEMO_DOMAIN, made["connection_id"], client_id, await new_app(server)
    )


async def sign_in(
    server: Server, tenant: OidcTenant, email: str, scenario: str = "success"
) -> tuple[httpx.Response, httpx.AsyncClient, str]:
    browser = httpx.AsyncClient(base_url=server.url, timeout=30)
    verifier, challenge = pkce()
    r = await browser.get(
        f"/oidc/{tenant.connection_id}/login", params={"return_to": return_to(tenant, challenge)}
    )
    assert r.status_code == 302 and r.headers["location"].startswith(
        f"{server.url}/test-idp/oidc/authorize?"
    ), r.text
    picker = await browser.get(r.headers["location"])
    assert picker.status_code == 200 and "TEST IdP - not for production" in picker.text
    action, hidden = form_of(picker.text)
    back = await browser.post(
        action, data={**hidden, **PERSON, "email": email, "scenario": scenario}
    )
    assert back.status_code == 303, back.text
    q = parse_qs(urlsplit(back.headers["location"]).query)
    assert q["iss"] == [oidc_issuer(server.url)]
    return await browser.get(back.headers["location"]), browser, verifier


def refusals(server: Server, tenant: OidcTenant) -> list[str]:
    """The connection's refused sign-ins (the demo tenant is shared by the tests)."""
    rows = server.cli_json("audit", "list", tenant.slug, "--action", "sso.oidc.login")
    return [
        r["reason"]
        for r in rows
        if r["outcome"] == "failure" and r["target_id"] == tenant.connection_id
    ]


async def test_discovery_and_jwks(idp_server: Server) -> None:
    issuer = oidc_issuer(idp_server.url)
    async with httpx.AsyncClient(timeout=30) as client:
        doc = (await client.get(f"{issuer}/.well-known/openid-configuration")).json()
        assert doc["issuer"] == issuer and doc["code_challenge_methods_supported"] == ["S256"]
        keys = (await client.get(doc["jwks_uri"])).json()["keys"]
    assert [(k["kty"], k["alg"]) for k in keys] == [("RSA", "RS256")]


async def test_sign_in_through_a_tenant_connection(idp_server: Server) -> None:
    tenant = await oidc_tenant(idp_server)
    email = unique_email("ada", tenant.domain)
    uid = await scim_user(idp_server, tenant, email)
    r, browser, verifier = await sign_in(idp_server, tenant, email)
    try:
        assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT), r.text
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
        tokens = await token_request(browser, tenant.app, data)
        assert tokens.status_code == 200, tokens.text
    finally:
        await browser.aclose()
    _, claims = await decode(idp_server, tokens.json()["id_token"])
    assert claims["sub"] == uid and claims["email"] == email
    assert claims["idp"] == tenant.connection_id


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("error_response", "idp_error"),
        ("expired", "expired"),
        ("wrong_audience", "audience_mismatch"),
        ("wrong_key", "signature_invalid"),
        ("clock_skew", "issued_in_future"),
        ("nonce_mismatch", "nonce_mismatch"),
        ("missing_email", "unknown_user"),
        ("other_domain", "unknown_user"),
    ],
)
async def test_each_scenario_is_refused_for_its_reason(
    idp_server: Server, scenario: str, reason: str
) -> None:
    tenant = await oidc_tenant(idp_server)
    email = unique_email("ada", tenant.domain)
    await scim_user(idp_server, tenant, email)
    r, browser, _ = await sign_in(idp_server, tenant, email, scenario)
    await browser.aclose()
    assert r.status_code >= 400 and "propylon_session" not in r.headers.get("set-cookie", ""), (
        r.text
    )
    assert refusals(idp_server, tenant) == [reason]


async def test_token_endpoint_refuses_wrong_clients_and_reused_codes(idp_server: Server) -> None:
    tenant = await oidc_tenant(idp_server)
    issuer = oidc_issuer(idp_server.url)
    redirect_uri = f"{idp_server.url}/oidc/{tenant.connection_id}/callback"
    verifier, challenge = pkce()
    async with httpx.AsyncClient(timeout=30) as client:
        params = {
            "client_id": tenant.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid email",
            "state": "st",
            "nonce": "nn",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        picker = await client.get(f"{issuer}/authorize?{urlencode(params)}")
        action, hidden = form_of(picker.text)
        back = await client.post(
            f"{idp_server.url}{action}",
            data={**hidden, "email": "x@y.example", "scenario": "success"},
        )
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        secret = test_client_secret(idp_server.rt, tenant.client_id)
        wrong = await client.post(f"{issuer}/token", data=form, auth=(tenant.client_id, "nope"))
        assert wrong.status_code == 401 and wrong.json() == {"error": "invalid_client"}
        other = "test-client-other"
        stolen = await client.post(
            f"{issuer}/token", data=form, auth=(other, test_client_secret(idp_server.rt, other))
        )
        assert stolen.json() == {"error": "invalid_grant"}
        bad_pkce = await client.post(
            f"{issuer}/token",
            data={**form, "code_verifier": "x" * 43},
            auth=(tenant.client_id, secret),
        )
        assert bad_pkce.json() == {"error": "invalid_grant"}
        for verifier_sent in ("short", "é" * 43):  # not a verifier (RFC 7636 §4.1): no 5xx
            not_a_verifier = await client.post(
                f"{issuer}/token",
                data={**form, "code_verifier": verifier_sent},
                auth=(tenant.client_id, secret),
            )
            assert not_a_verifier.json() == {"error": "invalid_grant"}
        for header in ("Basic %%%", "Basic " + base64.b64encode(b"no-colon").decode()):
            malformed = await client.post(
                f"{issuer}/token", data=form, headers={"Authorization": header}
            )
            assert malformed.status_code == 401 and malformed.json() == {"error": "invalid_client"}
        ok = await client.post(
            f"{issuer}/token", data={**form, "client_id": tenant.client_id, "client_secret": secret}
        )
        assert ok.status_code == 200, ok.text
        info = await client.get(
            f"{issuer}/userinfo", headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
        )
        assert info.json()["email"] == "x@y.example"
        again = await client.post(f"{issuer}/token", data=form, auth=(tenant.client_id, secret))
        assert again.json() == {"error": "invalid_grant"}
        # an unknown client or a redirect URI that is not the connection's: a page, no redirect
        for change in (
            {"client_id": "test-client-nobody"},
            {"redirect_uri": "https://evil.example/cb"},
        ):
            r = await client.get(f"{issuer}/authorize?{urlencode({**params, **change})}")
            assert r.status_code == 400 and "location" not in r.headers
