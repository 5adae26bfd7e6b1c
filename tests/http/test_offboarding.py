"""Deleting a tenant or a SCIM directory: gone at once for every caller, its people's
sign-ins revoked, data kept for the retention period, then purged."""

from __future__ import annotations

from datetime import timedelta

import httpx

from propylon.directory.retention import purge
from tests.conftest import Server, new_directory
from tests.http.test_scim_users import user_body
from tests.provider.helpers import auth_params, browser, new_app, new_person, redirect_query


async def test_a_deleted_tenant_loses_tokens_sessions_and_routing_but_keeps_data(
    server: Server,
) -> None:
    person = await new_person(server)
    app = await new_app(server)

    async def silent_sign_in() -> dict[str, str]:
        async with browser(server, person) as b:
            r = await b.get("/oauth2/authorize", params=auth_params(app, prompt="none"))
            return redirect_query(r)

    assert "code" in await silent_sign_in()
    refused = server.cli("tenant", "delete", person.tenant_slug, "--json", check=False)
    assert refused.returncode == 2  # needs --yes
    out = server.cli_json("tenant", "delete", person.tenant_slug, "--yes")
    assert out["slug"] == person.tenant_slug
    scim = httpx.get(
        f"{person.directory_base}/Users", headers={"Authorization": f"Bearer {person.scim_token}"}
    )
    assert scim.status_code == 401
    assert server.cli("tenant", "show", person.tenant_slug, check=False).returncode == 1
    assert person.tenant_slug not in {t["slug"] for t in server.cli_json("tenant", "list")}
    # the session is revoked for good, in whichever store holds it
    assert (await silent_sign_in()).get("error") == "login_required"
    # kept until the retention period ends: purge would remove it only after that
    dry = server.cli_json("purge", "--dry-run")
    assert person.tenant_id not in {c["id"] for c in dry["purged"]}
    later = server.rt.clock() + timedelta(days=server.rt.settings.retention_days + 1)
    async with server.rt.db.read() as s:
        due = await purge(s, now=later, retention=timedelta(days=30), dry_run=True)
    assert ("tenant", person.tenant_id) in {(c.kind, c.id) for c in due}
    deletes = server.cli_json("audit", "list", "--action", "tenant.delete")
    assert deletes[0]["target_id"] == person.tenant_id


async def test_a_deleted_directory_revokes_its_tokens_and_deprovisions_its_users(
    server: Server,
) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        for who in ("a", "b"):
            r = await scim.post("/Users", json=user_body(f"{who}@{d.tenant_slug}.test"))
            assert r.status_code == 201
    async with server.api() as api:
        r = await api.delete(f"/api/v1/scim-directories/{d.directory_id}")
        assert r.status_code == 200 and r.json()["users_deprovisioned"] == 2
        users = await api.get(f"/api/v1/tenants/{d.tenant_slug}/users")
        assert users.json()["data"] == []
        tenant = (await api.get(f"/api/v1/tenants/{d.tenant_slug}")).json()
        assert tenant["seats_used"] == 0
        listed = await api.get(f"/api/v1/tenants/{d.tenant_slug}/scim-directories")
        assert listed.json()["data"] == []
    async with d.client() as scim:
        assert (await scim.get("/Users")).status_code == 401
