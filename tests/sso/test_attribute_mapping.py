"""Which IdP attribute fills which user field: the generic default knows the common names,
a connection can name its own, and claims without a value are left out of tokens."""

from __future__ import annotations

import httpx

from propylon.admin import saml_connections as operations_saml
from propylon.admin.audited import CLI
from propylon.tenants.saml_connection_edits import ConnectionChanges
from tests.conftest import Server
from tests.provider.helpers import decode
from tests.sso.test_saml_login import Org, new_org
from tests.sso.test_session_store import saml_login


async def sign_in(server: Server, org: Org, email: str, attributes: dict[str, list[str]]) -> dict:
    """A JIT sign-in carrying ``attributes``; the ID token's claims and the userinfo answer."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await saml_login(server, browser, org, email, attributes=attributes)
        info = await browser.get(
            "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
    _, claims = await decode(server, tokens["id_token"])
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
