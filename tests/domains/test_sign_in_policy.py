"""A tenant's sign-in policy: ``propylon tenant update`` and the management API; enforcing SSO
needs a live connection, refuses password and Google sign-in for the tenant's domains and
ends their sessions for good, while SSO sessions go on."""

from __future__ import annotations

from datetime import timedelta

from propylon.admin import saml_connections as operations_saml
from propylon.admin.audited import CLI
from propylon.sessions import SessionDraft, create_session
from propylon.sessions.store import load_active
from propylon.tenants.saml_connections import IdpSource
from tests.conftest import Server
from tests.domains.helpers import arrive, location, new_tenant
from tests.provider.helpers import auth_params as params
from tests.provider.helpers import authorize, browser, new_app, new_person
from tests.revocation.helpers import events
from tests.saml.idp import make_keypair
from tests.sso.test_saml_login import IDP, SSO


async def saml_connection(site: Server, slug: str) -> str:
    idp = make_keypair("enforce-test")
    source = IdpSource(sso_url=SSO, idp_entity_id=IDP, certificates=(idp.cert,))
    conn = await operations_saml.create_connection(site.rt, CLI, slug, source)
    return conn["connection_id"]


async def session(site: Server, tenant_id: str, user_id: str, method: str) -> str:
    now = site.rt.clock()
    draft = SessionDraft(tenant_id, user_id, method, "conn", "x", None, now + timedelta(hours=1))
    return (await create_session(site.rt.sessions, site.rt.db, draft, now)).handle


async def active(site: Server, handle: str) -> bool:
    async with site.rt.db.read() as s:
        return await load_active(site.rt.sessions, s, handle, site.rt.clock()) is not None


async def test_enforcing_sso_ends_password_and_google_sessions_for_good(site: Server) -> None:
    person = await new_person(site, "password")
    app = await new_app(site)
    google = await session(site, person.tenant_id, person.user_id, "google")
    sso = await session(site, person.tenant_id, person.user_id, "saml")
    async with browser(site, person) as b:
        assert "code" in await authorize(b, params(app, prompt="none"))

    refused = site.cli(
        "tenant", "update", person.tenant_slug, "--enforce-sso", "--json", check=False
    )
    assert refused.returncode == 1 and "no enabled SAML or OIDC connection" in refused.stdout
    assert await active(site, person.handle)

    await saml_connection(site, person.tenant_slug)
    out = site.cli_json("tenant", "update", person.tenant_slug, "--enforce-sso")
    assert out["enforce_sso"] is True
    async with browser(site, person) as b:
        assert (await authorize(b, params(app, prompt="none")))["error"] == "login_required"
    assert not await active(site, person.handle) and not await active(site, google)
    assert await active(site, sso)
    [event] = await events(site, person.tenant_id, "tenant.sessions_revoked")
    assert event["subject"] == ("tenant", person.tenant_id)
    assert event["data"]["auth_methods"] == ["google", "password"]
    assert event["data"]["reason"] == "sso_enforced" and event["data"]["before"].endswith("Z")

    # ending enforcement brings no ended session back; a new one lives
    site.cli_json("tenant", "update", person.tenant_slug, "--no-enforce-sso")
    assert not await active(site, person.handle) and not await active(site, google)
    fresh = await session(site, person.tenant_id, person.user_id, "password")
    assert await active(site, fresh)
    audit = site.cli_json("audit", "list", person.tenant_slug, "--action", "tenant.sign_in_policy")
    assert audit[0]["outcome"] == "success"


async def test_an_enforcing_tenant_sends_its_people_to_sso_only(site: Server) -> None:
    tenant = await new_tenant(site)
    connection = await saml_connection(site, tenant.slug)
    app = await new_app(site)
    site.cli_json("tenant", "update", tenant.slug, "--enforce-sso")
    idp, _ = location(await arrive(site, app, login_hint=f"hal@{tenant.domain}"))
    assert idp == SSO
    async with site.api("/api/v1") as api:
        body = (await api.get("/discovery", params={"email": f"hal@{tenant.domain}"})).json()
    assert body["methods"] == ["sso"] and body["enforce_sso"] is True
    # its only connection disabled: no password or Google either, and a way back
    site.cli_json("saml", "disable", connection)
    r = await arrive(site, app, login_hint=f"hal@{tenant.domain}")
    assert r.status_code == 403 and "Single sign-on required" in r.text
    assert "/password/" not in r.text and 'id="back-link"' in r.text


async def test_tenant_update_contract(site: Server) -> None:
    tenant = await new_tenant(site)
    out = site.cli_json("tenant", "update", tenant.slug, "--no-password", "--no-google")
    assert (out["allow_password"], out["allow_google"], out["enforce_sso"]) == (False, False, False)
    host = f"{tenant.slug}.example.net"
    out = site.cli_json("tenant", "update", tenant.slug, "--hostname", host.upper() + ".")
    assert out["hostname"] == host and out["slug"] == tenant.slug
    other = await new_tenant(site)
    taken = site.cli("tenant", "update", other.slug, "--hostname", host, "--json", check=False)
    assert taken.returncode == 1 and '"already_exists"' in taken.stdout
    both = site.cli(
        "tenant", "update", tenant.slug, "--hostname", host, "--no-hostname", "--json", check=False
    )
    assert both.returncode == 2
    assert site.cli("tenant", "update", tenant.slug, "--json", check=False).returncode == 2
    bad = site.cli(
        "tenant", "update", tenant.slug, "--hostname", "not a host", "--json", check=False
    )
    assert bad.returncode == 1 and '"invalid_input"' in bad.stdout
    assert site.cli_json("tenant", "update", tenant.slug, "--no-hostname")["hostname"] is None
    assert site.cli_json("tenant", "update", tenant.slug, "--name", "Renamed")["name"] == "Renamed"

    async with site.api("/api/v1") as api:
        r = await api.patch(
            f"/tenants/{tenant.slug}", json={"allow_password": True, "hostname": host}
        )
        assert r.status_code == 200 and r.json()["allow_password"] is True
        assert r.json()["hostname"] == host
        r = await api.patch(f"/tenants/{tenant.slug}", json={"hostname": None})
        assert r.json()["hostname"] is None and r.json()["allow_password"] is True
        r = await api.patch(f"/tenants/{tenant.slug}", json={"enforce_sso": True})
        assert r.status_code == 400
        r = await api.patch(f"/tenants/{tenant.slug}", json={"enforce_sso": "yes"})
        assert r.status_code == 422 or r.status_code == 400
