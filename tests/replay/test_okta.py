"""Okta's SCIM 2.0 provisioning, replayed against the live server on both backends.

Request shapes and the checks Okta makes on responses follow "Okta and SCIM Version 2.0"
(developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20) and the "Build a SCIM API
service" guide's test sequence (Runscope/Okta SCIM 2.0 spec tests).
"""

from __future__ import annotations

import secrets

import httpx

from tests.replay.conftest import GROUP, LIST, USER, assert_list, assert_scim, patch_op, send


async def test_okta_user_lifecycle(scim: httpx.AsyncClient) -> None:
    # Sequence of "Okta and SCIM Version 2.0" > SCIM User operations: Create Users (existence
    # check, create), Retrieve Users, Update a specific User (PUT), Update a specific User
    # (PATCH) to deactivate and reactivate.
    login = f"test.user.{secrets.token_hex(3)}@okta.local"
    okta_user_id = "00u" + secrets.token_hex(8)

    # 1. Does the user exist? Okta reads totalResults and Resources of an empty ListResponse.
    r = await send(
        scim,
        "GET",
        "/Users",
        params={"filter": f'userName eq "{login}"', "startIndex": "1", "count": "100"},
    )
    body = assert_scim(r, 200)
    assert body["schemas"] == [LIST] and body["totalResults"] == 0
    assert body.get("Resources", []) == []

    # 2. Create. Okta sends its user id as externalId, the password, and an empty groups.
    password = "1mz050nq"
    r = await send(
        scim,
        "POST",
        "/Users",
        {
            "schemas": [USER],
            "userName": login,
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": login, "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": okta_user_id,
            "groups": [],
            "password": password,
            "active": True,
        },
    )
    created = assert_scim(r, 201)
    uid = created["id"]
    assert isinstance(uid, str) and uid  # Okta stores it as the app user's id
    assert created["userName"] == login and created["active"] is True
    assert "password" not in created and password not in r.text  # writeOnly, returned never

    # 3. Okta retrieves the user by id (and, on import, by filter).
    got = assert_scim(await send(scim, "GET", f"/Users/{uid}"), 200)
    assert got["id"] == uid and got["userName"] == login and got["externalId"] == okta_user_id
    assert got["name"] == {"givenName": "Test", "familyName": "User"}
    assert "password" not in got
    found = assert_list(
        await send(
            scim,
            "GET",
            "/Users",
            params={"filter": f'userName eq "{login}"', "startIndex": "1", "count": "100"},
        ),
        1,
    )
    assert found[0]["id"] == uid

    # 4. Profile update: Okta PUTs the whole user as it has it, id, meta and password included.
    r = await send(
        scim,
        "PUT",
        f"/Users/{uid}",
        {
            "schemas": [USER],
            "id": uid,
            "userName": login,
            "name": {"givenName": "Another", "familyName": "User"},
            "emails": [{"primary": True, "value": login, "type": "work"}],
            "displayName": "Another User",
            "locale": "en-US",
            "externalId": okta_user_id,
            "groups": [],
            "password": password,
            "active": True,
            "meta": {"resourceType": "User", "created": got["meta"]["created"]},
        },
    )
    put = assert_scim(r, 200)
    assert put["id"] == uid and put["name"]["givenName"] == "Another"
    assert put["displayName"] == "Another User" and "password" not in put

    # 5. Deactivate: pathless replace of active. Okta expects 200 and the user back.
    r = await send(
        scim, "PATCH", f"/Users/{uid}", patch_op({"op": "replace", "value": {"active": False}})
    )
    patched = assert_scim(r, 200)
    assert patched["id"] == uid and patched["active"] is False
    got = assert_scim(await send(scim, "GET", f"/Users/{uid}"), 200)
    assert got["active"] is False and got["name"]["givenName"] == "Another"  # data kept

    # 6. Reactivate the same user (same id, not a new one).
    r = await send(
        scim, "PATCH", f"/Users/{uid}", patch_op({"op": "replace", "value": {"active": True}})
    )
    assert assert_scim(r, 200)["active"] is True
    found = assert_list(
        await send(scim, "GET", "/Users", params={"filter": f'userName eq "{login}"'}), 1
    )
    assert found[0]["id"] == uid and found[0]["active"] is True

    # Okta's sync also pages through all users: GET /Users?startIndex=1&count=100.
    page = assert_scim(
        await send(scim, "GET", "/Users", params={"startIndex": "1", "count": "100"}), 200
    )
    assert [u["id"] for u in page["Resources"]] == [uid]


async def test_okta_group_push(scim: httpx.AsyncClient) -> None:
    # Sequence of "Okta and SCIM Version 2.0" > SCIM Group operations: Create Groups, Retrieve
    # Groups (filter on displayName), Update a specific Group name (PATCH replace with id in
    # value), Update specific Group membership (PATCH add / remove members[value eq]),
    # Delete a specific Group.
    users = []
    for n in range(3):
        login = f"member{n}.{secrets.token_hex(3)}@okta.local"
        r = await send(
            scim,
            "POST",
            "/Users",
            {
                "schemas": [USER],
                "userName": login,
                "name": {"givenName": f"M{n}", "familyName": "User"},
                "emails": [{"primary": True, "value": login, "type": "work"}],
                "displayName": f"Member {n}",
                "active": True,
                "password": "x" * 12,
            },
        )
        users.append((assert_scim(r, 201)["id"], login))

    name = f"Test SCIMv2 {secrets.token_hex(3)}"
    # Okta first looks the group up by displayName.
    r = await send(
        scim,
        "GET",
        "/Groups",
        params={"filter": f'displayName eq "{name}"', "startIndex": "1", "count": "100"},
    )
    assert assert_scim(r, 200)["totalResults"] == 0

    r = await send(
        scim, "POST", "/Groups", {"schemas": [GROUP], "displayName": name, "members": []}
    )
    group = assert_scim(r, 201)
    gid = group["id"]
    assert group["displayName"] == name and group.get("members", []) == []

    got = assert_scim(await send(scim, "GET", f"/Groups/{gid}"), 200)
    assert got["id"] == gid and got["displayName"] == name

    # Push membership: add with value + display, as Okta sends it.
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op(
            {
                "op": "add",
                "path": "members",
                "value": [{"value": uid, "display": login} for uid, login in users],
            }
        ),
    )
    assert r.status_code in (200, 204), r.text
    got = assert_scim(await send(scim, "GET", f"/Groups/{gid}"), 200)
    assert sorted(m["value"] for m in got["members"]) == sorted(u for u, _ in users)

    # Remove one member with a value filter; the others stay.
    removed = users[0][0]
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op({"op": "remove", "path": f'members[value eq "{removed}"]'}),
    )
    assert r.status_code in (200, 204), r.text
    got = assert_scim(await send(scim, "GET", f"/Groups/{gid}"), 200)
    assert sorted(m["value"] for m in got["members"]) == sorted(u for u, _ in users[1:])

    # Rename: Okta's PATCH replace repeats the group id inside the value.
    new_name = f"{name} renamed"
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op({"op": "replace", "value": {"id": gid, "displayName": new_name}}),
    )
    assert r.status_code in (200, 204), r.text
    hits = assert_list(
        await send(
            scim,
            "GET",
            "/Groups",
            params={"filter": f'displayName eq "{new_name}"', "startIndex": "1", "count": "100"},
        ),
        1,
    )
    assert hits[0]["id"] == gid and hits[0]["displayName"] == new_name
    assert sorted(m["value"] for m in hits[0]["members"]) == sorted(u for u, _ in users[1:])

    # Full membership replace (Okta's "push now" sends the current member list).
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op(
            {
                "op": "replace",
                "path": "members",
                "value": [{"value": users[0][0], "display": users[0][1]}],
            }
        ),
    )
    assert r.status_code in (200, 204), r.text
    got = assert_scim(await send(scim, "GET", f"/Groups/{gid}"), 200)
    assert [m["value"] for m in got["members"]] == [users[0][0]]

    # The members' user records show the group (RFC 7643 §4.1.2 "groups").
    user = assert_scim(await send(scim, "GET", f"/Users/{users[0][0]}"), 200)
    assert [g["value"] for g in user.get("groups", [])] == [gid]

    # Unpush: delete the group; 204, then 404.
    r = await send(scim, "DELETE", f"/Groups/{gid}")
    assert r.status_code == 204 and not r.content
    r = await send(scim, "GET", f"/Groups/{gid}")
    assert r.status_code == 404
    assert assert_scim(r, 404)["status"] == "404"
