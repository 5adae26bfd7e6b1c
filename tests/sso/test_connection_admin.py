"""An operator changes, disables and deletes a SAML connection through the CLI and the API;
sign-in follows at once."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.serialization import Encoding

from tests.conftest import Server
from tests.provider.helpers import auth_params
from tests.saml.idp import KeyPair, make_keypair
from tests.sso.test_saml_login import IDP, SSO, new_org, response_for, start


def cert_pem_of(kp: KeyPair) -> str:
    return kp.cert.public_bytes(Encoding.PEM).decode()


async def authorize_goes_to(server: Server, org_app: object, email: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.get("/oauth2/authorize", params=auth_params(org_app, login_hint=email))
    return r.headers["location"].split("?", 1)[0] if r.status_code == 302 else r.text


async def test_new_idp_certificate_by_api_is_pinned_for_the_next_response(server: Server) -> None:
    org = await new_org(server, jit=True)
    conn_id = org.connection["connection_id"]
    rotated = make_keypair("okta-rotated")
    async with server.api() as api:
        r = await api.patch(
            f"/api/v1/saml-connections/{conn_id}",
            json={
                "sso_url": SSO,
                "idp_entity_id": IDP,
                "certificates_pem": [cert_pem_of(rotated)],
                "name": "Okta (rotated)",
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "Okta (rotated)"
    email = f"pin@{org.domain}"
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, _ = await start(browser, org, email)
        old = await browser.post(
            acs, data={"SAMLResponse": response_for(org, email, request_id), "RelayState": relay}
        )
        assert old.status_code >= 400  # signed with the certificate that was replaced
        org.idp = rotated
        request_id, relay, _ = await start(browser, org, email)
        new = await browser.post(
            acs, data={"SAMLResponse": response_for(org, email, request_id), "RelayState": relay}
        )
        assert new.status_code == 303, new.text
    updates = server.cli_json("audit", "list", org.slug, "--action", "saml.connection.update")
    assert updates[0]["diff"]["name"]["after"] == "Okta (rotated)"


async def test_a_disabled_connection_signs_nobody_in_until_enabled(server: Server) -> None:
    org = await new_org(server, jit=True)
    conn_id = org.connection["connection_id"]
    email = f"dis@{org.domain}"
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, _ = await start(browser, org, email)
        assert server.cli_json("saml", "disable", conn_id)["disabled"] is True
        late = await browser.post(
            acs, data={"SAMLResponse": response_for(org, email, request_id), "RelayState": relay}
        )
        assert late.status_code >= 400 and "propylon_session" not in late.headers.get(
            "set-cookie", ""
        )
    # no live connection: the tenant's other ways in (password), never the disabled IdP
    assert 'action="/password/sign-in"' in await authorize_goes_to(server, org.app, email)
    assert server.cli_json("saml", "enable", conn_id)["disabled"] is False
    assert await authorize_goes_to(server, org.app, email) == SSO


async def test_deleting_a_connection_unbinds_its_domains(server: Server) -> None:
    org = await new_org(server)
    conn_id = org.connection["connection_id"]
    server.cli_json("domain", "bind", org.slug, org.domain, "--connection", conn_id)
    assert server.cli_json("saml", "delete", conn_id)["deleted"] is True
    shown = server.cli("saml", "show", conn_id, "--json", check=False)
    assert shown.returncode == 1
    (domain,) = server.cli_json("domain", "list", org.slug)
    assert domain["connection_id"] is None
    went = await authorize_goes_to(server, org.app, f"x@{org.domain}")
    assert 'action="/password/sign-in"' in went  # the tenant's other ways in, no IdP
