"""A live server with the test IdP enabled, per backend (forced on PostgreSQL: a test
installation), and a tenant whose SAML connection trusts the test IdP."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from propylon.admin import saml_connections
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.tenants.saml_connections import IdpSource
from propylon.testidp.identity import saml_identity
from tests.conftest import Server, make_backend, running_server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import App, new_app

ENABLED = {"PROPYLON_TEST_IDP_ENABLED": "true", "PROPYLON_TEST_IDP_FORCE": "true"}


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
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


async def new_tenant(server: Server, **connection: Any) -> Tenant:
    """A tenant with a domain, a directory and a SAML connection to the test IdP."""
    app = await new_app(server)
    slug = f"ti-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="Test IdP Corp", domains=[domain], seats=None
    )
    d = await ops.create_directory(server.rt, CLI, slug)
    identity = await saml_identity(server.rt)
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
