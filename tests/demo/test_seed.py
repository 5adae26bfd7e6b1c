"""``propylon demo``'s seed (``demo/seed.py``) on both backends: what it makes, and that a
second run makes nothing new, that a lost state file costs new credentials but no duplicate,
and that a new public URL moves the app's redirect URI and the test IdP's connection."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from propylon.admin import apps, entitlements
from propylon.admin import saml_connections as saml_admin
from propylon.admin import tenants as ops
from propylon.admin.directories import list_groups, list_users
from propylon.demo.seed import GROUPS, PEOPLE, redirect_uri, seed
from propylon.demo.state import STATE_FILE, load_state
from propylon.runtime import build_runtime
from propylon.testidp.identity import saml_entity_id
from tests.conftest import Server, make_backend, running_server


@pytest.fixture(params=["sqlite", "postgres"])
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """A server of its own: the demo tenant's slug is fixed, and the counts are exact. The
    demo is enabled (as ``propylon demo`` does): only then may its connection be live."""
    enabled = {"PROPYLON_DEMO_ENABLED": "true"}
    backend = make_backend(request.param, tmp_path_factory.mktemp(request.param), enabled)
    async with running_server(backend) as server:
        yield server


async def _counts(server: Server) -> dict[str, int]:
    rt = server.rt
    return {
        "tenants": sum(1 for t in await ops.list_tenants(rt) if t.slug == "demo"),
        "directories": len(await ops.list_directories(rt, "demo")),
        "users": len(await list_users(rt, "demo", offset=0, limit=100)),
        "groups": len(await list_groups(rt, "demo", offset=0, limit=100)),
        "connections": len(await saml_admin.list_connections(rt, "demo")),
        "apps": sum(1 for a in await apps.list_apps(rt) if a["name"] == "Demo host app"),
        "keys": sum(1 for k in await ops.list_api_keys(rt) if k["revoked_at"] is None),
        "rule_versions": len(await entitlements.rules_history(rt, "demo")),
    }


async def test_the_seed_is_idempotent(server: Server, tmp_path: Path) -> None:
    first = await seed(server.rt, tmp_path)
    counts = await _counts(server)
    assert counts | {"keys": 0} == {
        "tenants": 1,
        "directories": 1,
        "users": len(PEOPLE),
        "groups": len(GROUPS),
        "connections": 1,
        "apps": 1,
        "keys": 0,
        "rule_versions": 1,
    }
    again = await seed(server.rt, tmp_path)
    assert again == first
    assert await _counts(server) == counts

    # the state file is the host's secrets: owner-only
    mode = stat.S_IMODE((tmp_path / STATE_FILE).stat().st_mode)
    assert mode == 0o600
    assert load_state(tmp_path) == first

    # the people got what the rules say, through SCIM (created with the directory's token)
    users = {u["user_name"]: u for u in await list_users(server.rt, "demo", offset=0, limit=10)}
    grace = users["grace@demo.example"]["id"]
    got = await entitlements.user_entitlements(server.rt, "demo", grace)
    assert "clinician" in json.dumps(got) and "premium" in json.dumps(got)
    trail = await ops.audit_trail(server.rt, "demo", limit=200, action="scim.user.create")
    assert len(trail) == len(PEOPLE)

    # state lost (another data directory): the same tenant and directory, new credentials
    other = tmp_path / "elsewhere"
    lost = await seed(server.rt, other)
    assert (lost.tenant_id, lost.directory_id) == (first.tenant_id, first.directory_id)
    assert lost.groups == first.groups and lost.connection_id == first.connection_id
    assert lost.scim_token != first.scim_token and lost.client_id != first.client_id
    after = await _counts(server)
    assert after["apps"] == 2 and after["users"] == counts["users"]
    assert after["connections"] == 1 and after["rule_versions"] == 1

    # a new public URL: the app's redirect URI and the test IdP's entity id follow it
    state = first
    moved_url = "http://127.0.0.1:1"
    settings = server.rt.settings.model_copy(update={"public_url": moved_url})
    rt = build_runtime(settings)
    try:
        again = await seed(rt, tmp_path)
        assert again.client_id == state.client_id
        assert (await apps.show_app(rt, state.client_id))["redirect_uris"] == [
            redirect_uri(moved_url)
        ]
        conn = await saml_admin.show_connection(rt, state.connection_id)
        assert conn["idp_entity_id"] == saml_entity_id(moved_url)
    finally:
        await seed(server.rt, tmp_path)  # back where the running server is
        await rt.close()
