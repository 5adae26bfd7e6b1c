"""SCIM /Groups over HTTP: members in POST/PUT (Entra) and PATCH (Okta), batches, big groups."""

from __future__ import annotations

import httpx

from tests.http.test_scim_users import PATCH, user_body

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


async def _users(scim: httpx.AsyncClient, n: int, prefix: str) -> list[str]:
    return [
        (await scim.post("/Users", json=user_body(f"{prefix}{i}@acme.test"))).json()["id"]
        for i in range(n)
    ]


async def test_group_created_with_members_lists_them_and_users_show_group(
    scim: httpx.AsyncClient,
) -> None:
    ids = await _users(scim, 3, "m")
    r = await scim.post(
        "/Groups",
        json={"schemas": [GROUP], "displayName": "Nurses", "members": [{"value": i} for i in ids]},
    )
    assert r.status_code == 201, r.text
    group = r.json()
    assert sorted(m["value"] for m in group["members"]) == sorted(ids)
    user = (await scim.get(f"/Users/{ids[0]}")).json()
    assert [g["value"] for g in user["groups"]] == [group["id"]]


async def test_user_reads_list_groups_by_name_and_drop_deleted_groups(
    scim: httpx.AsyncClient,
) -> None:
    """GET by id, a filter, a plain page and a PATCH response all show the same direct
    memberships, sorted by display name; a deleted group disappears from them."""
    (uid,) = await _users(scim, 1, "read-groups")
    gids = {}
    for name in ("Zeta", "Alpha", "Mid"):
        body = {"schemas": [GROUP], "displayName": name, "members": [{"value": uid}]}
        gids[name] = (await scim.post("/Groups", json=body)).json()["id"]
    want = [gids["Alpha"], gids["Mid"], gids["Zeta"]]
    by_id = (await scim.get(f"/Users/{uid}")).json()
    assert [g["value"] for g in by_id["groups"]] == want
    assert [g["display"] for g in by_id["groups"]] == ["Alpha", "Mid", "Zeta"]
    found = await scim.get("/Users", params={"filter": 'userName eq "read-groups0@acme.test"'})
    assert [g["value"] for g in found.json()["Resources"][0]["groups"]] == want
    rename = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}],
    }
    patched = await scim.patch(f"/Users/{uid}", json=rename)
    assert [g["value"] for g in patched.json()["groups"]] == want
    assert (await scim.delete(f"/Groups/{gids['Mid']}")).status_code == 204
    after = (await scim.get(f"/Users/{uid}")).json()
    assert [g["value"] for g in after["groups"]] == [gids["Alpha"], gids["Zeta"]]
    page = (await scim.get("/Users", params={"count": "200"})).json()["Resources"]
    mine = next(u for u in page if u["id"] == uid)
    assert [g["value"] for g in mine["groups"]] == [gids["Alpha"], gids["Zeta"]]


async def test_patch_add_and_remove_with_value_list_removes_only_those(
    scim: httpx.AsyncClient,
) -> None:
    ids = await _users(scim, 4, "p")
    gid = (await scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Ops"})).json()["id"]
    add = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    }
    assert (await scim.patch(f"/Groups/{gid}", json=add)).status_code in (200, 204)
    remove = {
        "schemas": [PATCH],
        "Operations": [
            {"op": "remove", "path": "members", "value": [{"value": ids[0]}, {"value": ids[1]}]}
        ],
    }
    assert (await scim.patch(f"/Groups/{gid}", json=remove)).status_code in (200, 204)
    members = (await scim.get(f"/Groups/{gid}")).json()["members"]
    assert sorted(m["value"] for m in members) == sorted(ids[2:])


async def test_patch_remove_member_by_value_filter(scim: httpx.AsyncClient) -> None:
    ids = await _users(scim, 2, "f")
    gid = (
        await scim.post(
            "/Groups",
            json={"schemas": [GROUP], "displayName": "F", "members": [{"value": i} for i in ids]},
        )
    ).json()["id"]
    op = {
        "schemas": [PATCH],
        "Operations": [{"op": "remove", "path": f'members[value eq "{ids[0]}"]'}],
    }
    assert (await scim.patch(f"/Groups/{gid}", json=op)).status_code in (200, 204)
    members = (await scim.get(f"/Groups/{gid}")).json()["members"]
    assert [m["value"] for m in members] == [ids[1]]


async def test_put_with_members_replaces_membership(scim: httpx.AsyncClient) -> None:
    ids = await _users(scim, 3, "r")
    gid = (
        await scim.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "R", "members": [{"value": ids[0]}]}
        )
    ).json()["id"]
    r = await scim.put(
        f"/Groups/{gid}",
        json={
            "schemas": [GROUP],
            "displayName": "R2",
            "members": [{"value": ids[1]}, {"value": ids[2]}],
        },
    )
    assert r.status_code == 200
    assert r.json()["displayName"] == "R2"
    assert sorted(m["value"] for m in r.json()["members"]) == sorted(ids[1:])


async def test_excluding_members_reads_group_without_them(scim: httpx.AsyncClient) -> None:
    ids = await _users(scim, 2, "x")
    gid = (
        await scim.post(
            "/Groups",
            json={"schemas": [GROUP], "displayName": "X", "members": [{"value": i} for i in ids]},
        )
    ).json()["id"]
    r = await scim.get(f"/Groups/{gid}", params={"excludedAttributes": "members"})
    assert r.status_code == 200 and "members" not in r.json()
    listed = await scim.get(
        "/Groups", params={"filter": 'displayName eq "x"', "excludedAttributes": "members"}
    )
    assert listed.json()["totalResults"] == 1 and "members" not in listed.json()["Resources"][0]


async def test_unknown_member_ids_are_not_stored(scim: httpx.AsyncClient) -> None:
    ids = await _users(scim, 1, "u")
    members = [{"value": "user_doesnotexist"}, {"value": ids[0]}]
    body = {"schemas": [GROUP], "displayName": "Bad", "members": members}
    r = await scim.post("/Groups", json=body)
    assert r.status_code == 201
    assert [m["value"] for m in r.json()["members"]] == ids


async def test_batch_of_hundreds_of_members(scim: httpx.AsyncClient) -> None:
    ids = await _users(scim, 120, "b")
    gid = (await scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Big"})).json()["id"]
    op = {
        "schemas": [PATCH],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    }
    assert (await scim.patch(f"/Groups/{gid}", json=op)).status_code in (200, 204)
    r = await scim.get("/Users", params={"filter": f'groups.value eq "{gid}"', "count": 0})
    assert r.json()["totalResults"] == 120
    listed = await scim.get("/Groups", params={"filter": f'members.value eq "{ids[7]}"'})
    assert [g["id"] for g in listed.json()["Resources"]] == [gid]


async def test_delete_group_removes_memberships(scim: httpx.AsyncClient) -> None:
    ids = await _users(scim, 1, "d")
    gid = (
        await scim.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "D", "members": [{"value": ids[0]}]}
        )
    ).json()["id"]
    assert (await scim.delete(f"/Groups/{gid}")).status_code == 204
    assert (await scim.get(f"/Groups/{gid}")).status_code == 404
    assert "groups" not in (await scim.get(f"/Users/{ids[0]}")).json()
