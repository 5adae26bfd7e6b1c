"""The test IdP signs in anyone as anyone, so it answers only drafts (disabled connections),
plus the demo tenant's while the demo is enabled; a connection to it is never made live
(portal, management API, CLI) but for the demo tenant's with the demo enabled; and the
picker suggests people of the demo tenant only."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import update

from propylon.admin import oidc_connections as oidc_ops
from propylon.admin import saml_connections as saml_ops
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.admin.test_idp import connect_test_idp
from propylon.db.tables_saml import SamlConnection
from propylon.runtime import build_runtime
from propylon.tenants.oidc_connection_edits import OidcConnectionChanges
from propylon.tenants.saml_connection_edits import ConnectionChanges
from propylon.tenants.saml_connections import IdpSource
from propylon.testidp.connections import DEMO_TENANT, TestIdpNotLive
from propylon.testidp.identity import saml_identity
from tests.conftest import Server, make_backend, running_server
from tests.http.test_scim_users import user_body
from tests.testidp.conftest import DEMO_DOMAIN, new_tenant

REASON = "test_idp_connection_not_live"
NOT_ANSWERED = "There is no SAML connection trusting the test IdP by that id."


async def other_tenant(server: Server) -> tuple[str, str]:
    """A tenant that is not the demo's, with one person; its slug and the person's email."""
    slug = f"nd-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Not Demo", domains=[domain], seats=None
    )
    d = await ops.create_directory(server.rt, CLI, slug)
    email = f"secret-person@{domain}"
    headers = {"Authorization": f"Bearer {d['token']}"}
    async with httpx.AsyncClient(base_url=d["base_url"], headers=headers, timeout=30) as scim:
        assert (await scim.post("/Users", json=user_body(email))).status_code == 201
    return slug, email


async def start(server: Server, connection_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        return await browser.get("/test-idp/saml/start", params={"connection_id": connection_id})


async def test_a_draft_is_answered_without_suggesting_the_tenants_people(
    idp_server: Server,
) -> None:
    slug, email = await other_tenant(idp_server)
    draft = await connect_test_idp(idp_server.rt, CLI, slug, "saml")
    assert draft["disabled"] is True
    picker = await start(idp_server, draft["connection_id"])
    assert picker.status_code == 200, picker.text
    assert email not in picker.text and "secret-person" not in picker.text
    # the demo tenant's people are suggested
    demo = await new_tenant(idp_server)
    person = demo.email("0suggested")  # sorts first among the suggestions
    assert (await demo.scim.post("/Users", json=user_body(person))).status_code == 201
    assert person in (await start(idp_server, demo.cid)).text


async def test_a_live_connection_of_another_tenant_is_not_answered(idp_server: Server) -> None:
    """A row made live before the rule existed (or by hand in the database) is not served."""
    slug, _ = await other_tenant(idp_server)
    draft = await connect_test_idp(idp_server.rt, CLI, slug, "saml")
    cid = draft["connection_id"]
    async with idp_server.rt.db.write() as s:
        await s.execute(
            update(SamlConnection).where(SamlConnection.id == cid).values(disabled_at=None)
        )
    r = await start(idp_server, cid)
    assert r.status_code == 404 and NOT_ANSWERED in r.text


async def test_going_live_is_refused_everywhere_but_the_demo(idp_server: Server) -> None:
    rt = idp_server.rt
    slug, _ = await other_tenant(idp_server)
    saml = (await connect_test_idp(rt, CLI, slug, "saml"))["connection_id"]
    oidc = (await connect_test_idp(rt, CLI, slug, "oidc"))["connection_id"]
    # the service layer: enabling, or creating live
    with pytest.raises(TestIdpNotLive):
        await saml_ops.update_connection(rt, CLI, saml, ConnectionChanges(disabled=False))
    with pytest.raises(TestIdpNotLive):
        await oidc_ops.update_connection(rt, CLI, oidc, OidcConnectionChanges(disabled=False))
    with pytest.raises(TestIdpNotLive):
        await connect_test_idp(rt, CLI, slug, "saml", disabled=False)
    identity = await saml_identity(rt)
    with pytest.raises(TestIdpNotLive):  # the metadata by hand, the CLI's `saml create`
        await saml_ops.create_connection(
            rt, CLI, slug, IdpSource(metadata_xml=identity.metadata_xml)
        )
    # the management API: 400 with the reason named
    async with idp_server.api("/api/v1") as api:
        r = await api.patch(f"/saml-connections/{saml}", json={"disabled": False})
        assert r.status_code == 400 and REASON in r.json()["detail"], r.text
    # the CLI
    for args in (("saml", "enable", saml), ("oidc", "update", oidc, "--enable")):
        done = idp_server.cli(*args, check=False)
        assert done.returncode != 0 and REASON in done.stdout + done.stderr, done
    for view in (
        await saml_ops.show_connection(rt, saml),
        await oidc_ops.show_connection(rt, oidc),
    ):
        assert view["disabled"] is True
    # the demo tenant's may go live while the demo is enabled
    demo = await new_tenant(idp_server)
    assert demo.connection["disabled"] is False


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def no_demo_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """The test IdP enabled, the demo not."""
    enabled = {"PROPYLON_TEST_IDP_ENABLED": "true", "PROPYLON_TEST_IDP_FORCE": "true"}
    backend = make_backend(request.param, tmp_path_factory.mktemp("nodemo"), enabled)
    async with running_server(backend) as server:
        yield server


async def test_the_demo_tenants_connection_only_while_the_demo_is_enabled(
    no_demo_server: Server,
) -> None:
    server = no_demo_server
    await ops.create_tenant(
        server.rt, CLI, slug=DEMO_TENANT, name="Demo", domains=[DEMO_DOMAIN], seats=None
    )
    with pytest.raises(TestIdpNotLive):
        await connect_test_idp(server.rt, CLI, DEMO_TENANT, "saml", disabled=False)
    # made live by `propylon demo` (the demo enabled in its process) ...
    demo_rt = build_runtime(server.rt.settings.model_copy(update={"demo_enabled": True}))
    try:
        live = await connect_test_idp(demo_rt, CLI, DEMO_TENANT, "saml", disabled=False)
    finally:
        await demo_rt.close()
    assert live["disabled"] is False
    # ... is not answered by a server where the demo is not enabled
    r = await start(server, live["connection_id"])
    assert r.status_code == 404 and NOT_ANSWERED in r.text
    # nor enabled again there once disabled
    cid = live["connection_id"]
    await saml_ops.update_connection(server.rt, CLI, cid, ConnectionChanges(disabled=True))
    with pytest.raises(TestIdpNotLive):
        await saml_ops.update_connection(server.rt, CLI, cid, ConnectionChanges(disabled=False))
    # a draft of the demo tenant is answered, with no one suggested (the demo is off)
    assert (await start(server, cid)).status_code == 200
