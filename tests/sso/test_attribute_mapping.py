"""Which IdP attribute fills which user field: the generic default knows the common names,
a connection can name its own, and claims without a value are left out of tokens."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from propylon.admin import saml_connections as operations_saml
from propylon.admin.audited import CLI
from propylon.tenants.saml_connection_edits import ConnectionChanges
from tests.conftest import Server
from tests.provider.helpers import REDIRECT, decode, token_request
from tests.sso.test_saml_login import Org, new_org, response_for, start


async def sign_in(server: Server, org: Org, email: str, attributes: dict[str, list[str]]) -> dict:
    """A JIT sign-in carrying ``attributes``; the ID token's claims and the userinfo answer."""
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, verifier = await start(browser, org, email)
        saml = response_for(org, email, request_id, attributes=attributes)
        r = await browser.post(acs, data={"SAMLResponse": saml, "RelayState": relay})
        assert r.status_code == 303, r.text
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        tokens = await token_request(
            browser,
            org.app,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
        )
        assert tokens.status_code == 200, tokens.text
        info = await browser.get(
            "/oauth2/userinfo",
            headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        )
    _, claims = await decode(server, tokens.json()["id_token"])
    return {"id_token": claims, "userinfo": info.json()}


async def test_the_generic_default_reads_ldap_style_names(server: Server) -> None:
    org = await new_org(server, jit=True)
    email = f"grace@{org.domain}"
    got = await sign_in(
        server,
        org,
        email,
        {"mail": [email], "givenName": ["Grace"], "sn": ["Hopper"], "displayName": ["G. Hopper"]},
    )
    for claims in got.values():
        assert claims["given_name"] == "Grace" and claims["family_name"] == "Hopper"
        assert claims["name"] == "G. Hopper"


async def test_a_connection_names_its_own_attributes(server: Server) -> None:
    org = await new_org(server, jit=True)
    await operations_saml.update_connection(
        server.rt,
        CLI,
        org.connection["connection_id"],
        ConnectionChanges(attribute_overrides={"given_name": "prenom", "family_name": "nom"}),
    )
    email = f"marie@{org.domain}"
    got = await sign_in(server, org, email, {"email": [email], "prenom": ["Marie"], "nom": ["C"]})
    assert got["id_token"]["given_name"] == "Marie" and got["id_token"]["family_name"] == "C"


async def test_claims_without_a_value_are_left_out_not_null(server: Server) -> None:
    org = await new_org(server, jit=True)
    email = f"anon@{org.domain}"
    got = await sign_in(server, org, email, {"email": [email]})
    for claims in got.values():
        assert claims["email"] == email
        assert not {"given_name", "family_name", "name"} & set(claims)
        assert None not in claims.values()
