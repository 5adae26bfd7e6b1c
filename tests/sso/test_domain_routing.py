"""A tenant with several connections (a merger brings a second IdP): a login goes to the
connection its email domain is bound to, never silently to the oldest one."""

from __future__ import annotations

import secrets

import httpx

from propylon.admin import saml_connections as operations_saml
from propylon.admin.audited import CLI
from propylon.tenants.saml_connections import IdpSource
from tests.conftest import Server
from tests.provider.helpers import auth_params
from tests.saml.idp import make_keypair
from tests.sso.test_saml_login import IDP, SSO, Org, new_org

SECOND_SSO = "https://merged.entra.test/saml2"


async def second_connection(server: Server, org: Org) -> str:
    idp = make_keypair("entra-test")
    conn = await operations_saml.create_connection(
        server.rt,
        CLI,
        org.slug,
        IdpSource(sso_url=SECOND_SSO, idp_entity_id=IDP + "-2", certificates=(idp.cert,)),
    )
    return conn["connection_id"]


async def login_goes_to(server: Server, org: Org, email: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.get("/oauth2/authorize", params=auth_params(org.app, login_hint=email))
    if r.status_code == 302:
        return r.headers["location"].split("?", 1)[0]
    return r.text


async def test_a_bound_domain_signs_in_through_its_own_connection(server: Server) -> None:
    org = await new_org(server)
    second = await second_connection(server, org)
    merged = f"merged-{secrets.token_hex(3)}.example.com"
    server.cli_json("domain", "add", org.slug, merged, "--connection", second)
    assert await login_goes_to(server, org, f"ana@{merged}") == SECOND_SSO
    # the tenant's original domain, unbound, is no longer silently the oldest connection's
    unbound = await login_goes_to(server, org, f"bo@{org.domain}")
    assert "none is assigned to" in unbound
    server.cli_json(
        "domain", "bind", org.slug, org.domain, "--connection", org.connection["connection_id"]
    )
    assert await login_goes_to(server, org, f"bo@{org.domain}") == SSO
    listed = server.cli_json("domain", "list", org.slug)
    assert {d["domain"]: d["connection_id"] for d in listed} == {
        org.domain: org.connection["connection_id"],
        merged: second,
    }


async def test_an_organization_with_several_connections_asks_for_the_email(
    server: Server,
) -> None:
    org = await new_org(server)
    await second_connection(server, org)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.get(
            "/oauth2/authorize", params=auth_params(org.app, organization=org.slug)
        )
    assert r.status_code == 200 and 'name="login_hint"' in r.text


async def test_a_domain_cannot_be_bound_to_another_tenants_connection(server: Server) -> None:
    org, other = await new_org(server), await new_org(server)
    async with server.api() as api:
        r = await api.patch(
            f"/api/v1/tenants/{org.slug}/domains/{org.domain}",
            json={"connection_id": other.connection["connection_id"]},
        )
        assert r.status_code == 400
        ok = await api.patch(
            f"/api/v1/tenants/{org.slug}/domains/{org.domain}",
            json={"connection_id": org.connection["connection_id"]},
        )
        assert (
            ok.status_code == 200 and ok.json()["connection_id"] == org.connection["connection_id"]
        )
        extra = f"x-{secrets.token_hex(3)}.example.com"
        added = await api.post(f"/api/v1/tenants/{org.slug}/domains", json={"domain": extra})
        assert added.status_code == 201
        taken = await api.post(f"/api/v1/tenants/{other.slug}/domains", json={"domain": extra})
        assert taken.status_code == 409
        gone = await api.delete(f"/api/v1/tenants/{org.slug}/domains/{extra}")
        assert gone.status_code == 204
        listed = await api.get(f"/api/v1/tenants/{org.slug}/domains")
        assert [d["domain"] for d in listed.json()["data"]] == [org.domain]
    actions = {r["action"] for r in server.cli_json("audit", "list", org.slug)}
    assert {"domain.add", "domain.bind", "domain.remove"} <= actions


async def test_hostile_domain_requests_get_a_4xx_and_store_nothing(server: Server) -> None:
    org = await new_org(server)
    base = f"/api/v1/tenants/{org.slug}/domains"
    async with server.api() as api:
        nan = await api.post(
            base,
            content=b'{"domain": "x.example.com", "connection_id": NaN}',
            headers={"content-type": "application/json"},
        )
        assert nan.status_code == 400
        assert (
            await api.patch(f"{base}/a%00b.example.com", json={"connection_id": None})
        ).status_code == 400
        assert (await api.delete(f"{base}/{'a' * 300}.com")).status_code == 404
        long_ok = ".".join(["a" * 60] * 3) + ".example.com"  # a valid 195-character name
        assert (await api.post(base, json={"domain": long_ok})).status_code == 201
        assert (await api.delete(f"{base}/{long_ok}")).status_code == 204
        listed = (await api.get(base)).json()["data"]
    assert [d["domain"] for d in listed] == [org.domain]
