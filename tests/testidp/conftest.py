"""A live server with the test IdP and the demo enabled, per backend (forced on PostgreSQL: a
test installation), and the demo tenant with a live SAML connection that trusts the test IdP
(the only tenant whose connections to it may be live: ``testidp/connections.py``; each
connection made here disables the tenant's earlier ones, so sign-in leads to it)."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from propylon.admin import oidc_connections, saml_connections
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.errors import NotFound
from propylon.tenants.oidc_connection_edits import OidcConnectionChanges
from propylon.tenants.saml_connection_edits import ConnectionChanges
from propylon.tenants.saml_connections import IdpSource
from propylon.testidp.connections import DEMO_TENANT
from propylon.testidp.identity import saml_identity
from tests.conftest import Server, make_backend, running_server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import App, new_app

ENABLED = {
    "PROPYLON_TEST_IDP_ENABLED": "true",
    "PROPYLON_TEST_IDP_FORCE": "true",
    "PROPYLON_DEMO_ENABLED": "true",
}
DEMO_DOMAIN = "demo.example"


# SQLite only: the test IdP's scenarios are protocol behaviour, the same on both backends; its
# one table (its keys) is tried on both in test_keys.py, and sign-in itself in tests/sso
@pytest.fixture(scope="session", params=["sqlite"])
async def idp_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    backend = make_backend(
        request.param, tmp_path_factory.mktemp(f"testidp-{request.param}"), ENABLED
    )
    async with running_server(backend) as server:
        yield server


@dataclass
class Tenant:
    slug: str
    domain: str
    connection: dict[str, Any]
    scim: httpx.AsyncClient
    app: App

    @property
    def cid(self) -> str:
        return str(self.connection["connection_id"])

    def email(self, local: str) -> str:
        """A fresh address of the tenant's domain (the demo tenant is shared by the tests)."""
        return unique_email(local, self.domain)


def unique_email(local: str, domain: str) -> str:
    return f"{local}-{secrets.token_hex(4)}@{domain}"


async def demo_tenant(server: Server) -> str:
    """The demo tenant (made once per server) with every connection it has disabled: the
    next one made is the one sign-in leads to. Returns its slug."""
    try:
        await ops.describe_tenant(server.rt, DEMO_TENANT)
    except NotFound:
        await ops.create_tenant(
            server.rt, CLI, slug=DEMO_TENANT, name="Demo", domains=[DEMO_DOMAIN], seats=None
        )
    for conn in await saml_connections.list_connections(server.rt, DEMO_TENANT):
        changes = ConnectionChanges(disabled=True)
        await saml_connections.update_connection(server.rt, CLI, conn["connection_id"], changes)
    for conn in await oidc_connections.list_connections(server.rt, DEMO_TENANT):
        oidc_changes = OidcConnectionChanges(disabled=True)
        await oidc_connections.update_connection(
            server.rt, CLI, conn["connection_id"], oidc_changes
        )
    return DEMO_TENANT


async def new_tenant(server: Server, **connection: Any) -> Tenant:
    """The demo tenant with a new directory and a new live SAML connection to the test IdP
    (``idp_initiated_app="{app}"``: IdP-initiated sign-ins land in the test's app)."""
    app = await new_app(server)
    slug = await demo_tenant(server)
    domain = DEMO_DOMAIN
    d = await ops.create_directory(server.rt, CLI, slug)
    identity = await saml_identity(server.rt)
    if connection.get("idp_initiated_app") == "{app}":
        connection["idp_initiated_app"] = app.client_id
    view = await saml_connections.create_connection(
        server.rt, CLI, slug, IdpSource(metadata_xml=identity.metadata_xml), **connection
    )
    scim = httpx.AsyncClient(
        base_url=d["base_url"], headers={"Authorization": f"Bearer {d['token']}"}, timeout=30
    )
    return Tenant(slug, domain, view, scim, app)


async def add_user(tenant: Tenant, email: str) -> str:
    r = await tenant.scim.post("/Users", json=user_body(email))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def form_of(page: str) -> tuple[str, dict[str, str]]:
    """The action and hidden fields of the (only) POST form of a page."""
    action = re.search(r'<form method="post" action="([^"]*)"', page)
    assert action, page
    fields = {
        html.unescape(m[0]): html.unescape(m[1])
        for m in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    }
    return html.unescape(action[1]), fields
