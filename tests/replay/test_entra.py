"""Microsoft Entra ID provisioning, replayed against the live server on both backends.

Request shapes follow "Tutorial: Develop and plan provisioning for a SCIM endpoint in
Microsoft Entra ID" (learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-
provision-users-and-groups, section "Build a SCIM endpoint" > request/response examples),
"Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra user
provisioning service" (application-provisioning-config-problem-scim-compatibility: string
booleans, capitalized ops, pathless dotted keys) and the Entra SCIM validator's test cases.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.replay.conftest import (
    ENTERPRISE,
    GROUP,
    USER,
    assert_list,
    assert_scim,
    patch_op,
    send,
)

MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"


def entra_user(user_name: str, external_id: str, **extra: Any) -> dict[str, Any]:
    """The "Create User" request body of the tutorial."""
    return {
        "schemas": [USER, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
        **extra,
    }


async def _create(scim: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    name = f"Test_User_{secrets.token_hex(4)}@testuser.com"
    r = await send(scim, "POST", "/Users", entra_user(name, secrets.token_hex(8), **extra))
    return assert_scim(r, 201)


async def test_entra_user_operations(scim: httpx.AsyncClient) -> None:
    # Tutorial > "User Operations": Create User, Get User, Get User by query (userName and
    # externalId, with and without results), Update User [Multi-valued properties], Update
    # User [Single-valued properties], Disable User, Delete User.
    manager = await _create(scim)
    user_name = f"Test_User_{secrets.token_hex(4)}@testuser.com"
    external_id = secrets.token_hex(8)

    # Entra's matching query before creating: zero results.
    r = await send(scim, "GET", "/Users", params={"filter": f'userName eq "{user_name}"'})
    assert_list(r, 0)

    body = entra_user(user_name, external_id)
    body[ENTERPRISE] = {
        "employeeNumber": "701984",
        "department": "Tour Operations",
        "manager": {"value": manager["id"]},
    }
    created = assert_scim(await send(scim, "POST", "/Users", body), 201)
    uid = created["id"]
    assert created["userName"] == user_name and created["externalId"] == external_id
    assert created["active"] is True and created["meta"]["resourceType"] == "User"
    assert created[ENTERPRISE]["manager"]["value"] == manager["id"]

    # Entra re-reads by id and matches on userName, then on externalId.
    got = assert_scim(await send(scim, "GET", f"/Users/{uid}"), 200)
    assert got["id"] == uid and got[ENTERPRISE]["department"] == "Tour Operations"
    for attr, value in (("userName", user_name), ("externalId", external_id)):
        hits = assert_list(
            await send(scim, "GET", "/Users", params={"filter": f'{attr} eq "{value}"'}), 1
        )
        assert hits[0]["id"] == uid
    assert_list(
        await send(scim, "GET", "/Users", params={"filter": 'userName eq "non-existent user"'}),
        0,
    )

    # Update [multi-valued properties]: capitalized op, value-filtered path, dotted path.
    r = await send(
        scim,
        "PATCH",
        f"/Users/{uid}",
        patch_op(
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updatedEmail@microsoft.com",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        ),
    )
    patched = assert_scim(r, 200)
    assert [e["value"] for e in patched["emails"] if e["type"] == "work"] == [
        "updatedEmail@microsoft.com"
    ]
    assert patched["name"]["familyName"] == "updatedFamilyName"
    assert patched["name"]["givenName"] == "givenName"  # the rest of name is kept

    # Update [single-valued properties].
    new_user_name = f"{secrets.token_hex(6)}@testuser.com"
    r = await send(
        scim,
        "PATCH",
        f"/Users/{uid}",
        patch_op({"op": "Replace", "path": "userName", "value": new_user_name}),
    )
    assert assert_scim(r, 200)["userName"] == new_user_name

    # Addresses: Entra "Add"s a sub-attribute of a value that does not exist yet.
    r = await send(
        scim,
        "PATCH",
        f"/Users/{uid}",
        patch_op(
            {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Redmond"},
            {"op": "Add", "path": 'addresses[type eq "work"].postalCode', "value": "98052"},
        ),
    )
    work = [a for a in assert_scim(r, 200)["addresses"] if a.get("type") == "work"]
    assert work == [{"type": "work", "locality": "Redmond", "postalCode": "98052"}]

    # Pathless "Replace" with dotted and URN-prefixed keys; manager as a bare id string.
    r = await send(
        scim,
        "PATCH",
        f"/Users/{uid}",
        patch_op(
            {
                "op": "Replace",
                "value": {
                    "name.givenName": "Barbara",
                    "displayName": "Barbara Jensen",
                    f"{ENTERPRISE}:department": "Finance",
                    f"{ENTERPRISE}:manager": manager["id"],
                },
            }
        ),
    )
    patched = assert_scim(r, 200)
    assert patched["name"]["givenName"] == "Barbara"
    assert patched["name"]["familyName"] == "updatedFamilyName"
    assert patched["displayName"] == "Barbara Jensen"
    assert patched[ENTERPRISE]["department"] == "Finance"
    assert patched[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert patched[ENTERPRISE]["employeeNumber"] == "701984"

    # With a path, the manager comes as a plain string too.
    other = await _create(scim)
    r = await send(
        scim,
        "PATCH",
        f"/Users/{uid}",
        patch_op({"op": "Add", "path": f"{ENTERPRISE}:manager", "value": other["id"]}),
    )
    assert assert_scim(r, 200)[ENTERPRISE]["manager"]["value"] == other["id"]

    # Disable: Entra sends the boolean as the string "False" (documented known issue).
    r = await send(
        scim,
        "PATCH",
        f"/Users/{uid}",
        patch_op({"op": "Replace", "path": "active", "value": "False"}),
    )
    assert assert_scim(r, 200)["active"] is False
    hits = assert_list(
        await send(scim, "GET", "/Users", params={"filter": f'userName eq "{new_user_name}"'}),
        1,
    )
    assert hits[0]["active"] is False  # the validator re-reads the disabled user by filter
    r = await send(
        scim, "PATCH", f"/Users/{uid}", patch_op({"op": "Replace", "value": {"active": "True"}})
    )
    assert assert_scim(r, 200)["active"] is True

    # Delete: 204 without a body, then 404.
    r = await send(scim, "DELETE", f"/Users/{uid}")
    assert r.status_code == 204 and not r.content
    assert_scim(await send(scim, "GET", f"/Users/{uid}"), 404)
    assert_list(
        await send(scim, "GET", "/Users", params={"filter": f'externalId eq "{external_id}"'}),
        0,
    )


async def _member_ids(scim: httpx.AsyncClient, gid: str) -> list[str]:
    got = assert_scim(await send(scim, "GET", f"/Groups/{gid}"), 200)
    return sorted(m["value"] for m in got.get("members", []))


async def test_entra_group_operations(scim: httpx.AsyncClient) -> None:
    # Tutorial > "Group Operations": Create Group, Get Group (excludedAttributes=members),
    # Get Group by displayName, Update Group [Non-member attributes], Update Group [Add
    # Members], Update Group [Remove Members], Delete Group; members in batches as the
    # provisioning service sends them.
    users = sorted([(await _create(scim))["id"] for _ in range(5)])
    name = f"displayName {secrets.token_hex(3)}"

    r = await send(
        scim,
        "POST",
        "/Groups",
        {
            "schemas": [GROUP, MS_GROUP],
            "externalId": secrets.token_hex(8),
            "displayName": name,
            "meta": {"resourceType": "Group"},
        },
    )
    group = assert_scim(r, 201)
    gid = group["id"]
    assert group["displayName"] == name and group.get("members", []) == []

    got = assert_scim(
        await send(scim, "GET", f"/Groups/{gid}", params={"excludedAttributes": "members"}),
        200,
    )
    assert got["id"] == gid and "members" not in got

    # Members in batches: one op with a value list, then several ops in one request.
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op(
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": u} for u in users[:2]],
            }
        ),
    )
    assert r.status_code in (200, 204), r.text  # Entra accepts either (RFC 7644 §3.5.2)
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op(
            *(
                {"op": "Add", "path": "members", "value": [{"$ref": None, "value": u}]}
                for u in users[2:]
            )
        ),
    )
    assert r.status_code in (200, 204), r.text  # Entra accepts either (RFC 7644 §3.5.2)
    assert await _member_ids(scim, gid) == users

    # Adding an existing member again is not an error.
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op({"op": "Add", "path": "members", "value": [{"value": users[0]}]}),
    )
    assert r.status_code in (200, 204), r.text  # Entra accepts either (RFC 7644 §3.5.2)
    assert await _member_ids(scim, gid) == users

    # Remove one member by value list: the others stay.
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": users[1]}]}),
    )
    assert r.status_code in (200, 204), r.text  # Entra accepts either (RFC 7644 §3.5.2)
    assert await _member_ids(scim, gid) == [u for u in users if u != users[1]]

    # Non-member attributes.
    new_name = f"{name} updatedDisplayName"
    r = await send(
        scim,
        "PATCH",
        f"/Groups/{gid}",
        patch_op({"op": "Replace", "path": "displayName", "value": new_name}),
    )
    assert r.status_code in (200, 204), r.text  # Entra accepts either (RFC 7644 §3.5.2)

    # Entra finds the group by displayName without members.
    hits = assert_list(
        await send(
            scim,
            "GET",
            "/Groups",
            params={"excludedAttributes": "members", "filter": f'displayName eq "{new_name}"'},
        ),
        1,
    )
    assert hits[0]["id"] == gid and "members" not in hits[0]
    assert_list(
        await send(
            scim,
            "GET",
            "/Groups",
            params={"excludedAttributes": "members", "filter": f'displayName eq "{name}"'},
        ),
        0,
    )

    # A member that is deleted disappears from the group.
    r = await send(scim, "DELETE", f"/Users/{users[0]}")
    assert r.status_code == 204
    assert users[0] not in await _member_ids(scim, gid)

    r = await send(scim, "DELETE", f"/Groups/{gid}")
    assert r.status_code == 204 and not r.content
    assert_scim(await send(scim, "GET", f"/Groups/{gid}"), 404)
