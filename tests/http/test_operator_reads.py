"""Everything an operator manages can be read and changed from the CLI and the API: users
and groups with their memberships and filters, API keys, apps' redirect URIs."""

from __future__ import annotations

from tests.conftest import Server, new_directory
from tests.http.test_scim_users import PATCH, user_body
from tests.provider.helpers import new_app


async def test_users_and_groups_are_readable_with_filters_and_members(server: Server) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        ids = {}
        for who in ("ann", "ben", "cat"):
            r = await scim.post("/Users", json=user_body(f"{who}@{d.tenant_slug}.test"))
            ids[who] = r.json()["id"]
        await scim.patch(
            f"/Users/{ids['cat']}",
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        )
        g = await scim.post(
            "/Groups",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Clinicians",
                "members": [{"value": ids["ann"]}, {"value": ids["cat"]}],
            },
        )
        gid = g.json()["id"]
    async with server.api(f"/api/v1/tenants/{d.tenant_slug}") as api:
        active = (await api.get("/users", params={"active": "true"})).json()["data"]
        assert {u["id"] for u in active} == {ids["ann"], ids["ben"]}
        members = (await api.get("/users", params={"group": gid})).json()["data"]
        assert {u["id"] for u in members} == {ids["ann"], ids["cat"]}
        by_mail = (await api.get("/users", params={"email": f"BEN@{d.tenant_slug}.test"})).json()
        assert [u["id"] for u in by_mail["data"]] == [ids["ben"]]
        group = (await api.get(f"/groups/{gid}")).json()
        assert group["member_count"] == 2
        assert {m["id"] for m in group["members"]} == {ids["ann"], ids["cat"]}
        user = (await api.get(f"/users/{ids['ann']}")).json()
        assert user["groups"] == [{"id": gid, "display_name": "Clinicians"}]
    listed = server.cli_json("user", "list", d.tenant_slug, "--inactive")
    assert [u["id"] for u in listed] == [ids["cat"]]
    shown = server.cli_json("group", "show", d.tenant_slug, gid)
    assert shown["display_name"] == "Clinicians" and len(shown["members"]) == 2
    human = server.cli("group", "show", d.tenant_slug, gid).stdout
    assert "Clinicians" in human and f"ann@{d.tenant_slug}.test" in human


async def test_api_keys_are_listed_without_their_secret(server: Server) -> None:
    made = server.cli_json("api-key", "create", "--name", "listing")
    listed = server.cli_json("api-key", "list")
    (row,) = [k for k in listed if k["id"] == made["id"]]
    assert row["name"] == "listing" and "key" not in row and made["key"] not in str(listed)
    async with server.api() as api:
        data = (await api.get("/api/v1/api-keys")).json()["data"]
        assert made["id"] in {k["id"] for k in data}


async def test_an_apps_redirect_uris_can_be_replaced(server: Server) -> None:
    app = await new_app(server)
    new_uri = "https://app.example.com/new-callback"
    out = server.cli_json("app", "update", app.client_id, "--redirect-uri", new_uri)
    assert out["redirect_uris"] == [new_uri]
    async with server.api() as api:
        shown = (await api.get(f"/api/v1/apps/{app.client_id}")).json()
        assert shown["redirect_uris"] == [new_uri]
        bad = await api.patch(f"/api/v1/apps/{app.client_id}", json={"redirect_uris": ["x"]})
        assert bad.status_code == 400
        renamed = await api.patch(f"/api/v1/apps/{app.client_id}", json={"name": "Renamed"})
        assert renamed.json()["name"] == "Renamed"
    updates = server.cli_json("audit", "list", "--action", "app.update")
    assert any(u["target_id"] == app.client_id for u in updates)
