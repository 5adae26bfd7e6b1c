"""Direct checks of the RFC points the conformance tools found, so a regression names itself."""

from __future__ import annotations

import httpx

from tests.conftest import Directory

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


async def test_root_search_spans_users_and_groups(
    directory: Directory, scim: httpx.AsyncClient
) -> None:
    # RFC 7644 §3.4.2/§3.4.3: a query from the server root covers every resource type.
    uid = (
        await scim.post("/Users", json={"schemas": [USER], "userName": "root@acme.test"})
    ).json()["id"]
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Root"}
    gid = (await scim.post("/Groups", json=group)).json()["id"]
    r = await scim.post("/.search", json={"schemas": [SEARCH], "count": 10})
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["Resources"]] == [uid, gid] and r.json()["totalResults"] == 2
    page2 = (await scim.get(directory.base_url, params={"startIndex": 2, "count": 1})).json()
    assert [x["id"] for x in page2["Resources"]] == [gid]
    # displayName exists on both types; userName only on User, so Groups contribute nothing
    by_name = await scim.post(
        "/.search", json={"schemas": [SEARCH], "filter": 'userName sw "root"'}
    )
    assert [x["id"] for x in by_name.json()["Resources"]] == [uid]
    bad = await scim.post("/.search", json={"schemas": [SEARCH], "filter": 'nope eq "x"'})
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidFilter"
    async with directory.client(token="scim_wrong") as anonymous:
        assert (await anonymous.post("/.search", json={"schemas": [SEARCH]})).status_code == 401


async def test_removed_active_is_unassigned(scim: httpx.AsyncClient) -> None:
    # RFC 7644 §3.5.2.2: a removed single-valued attribute "SHALL be considered unassigned".
    r = await scim.post(
        "/Users", json={"schemas": [USER], "userName": "rm@acme.test", "active": False}
    )
    uid = r.json()["id"]
    op = {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "active"}]}
    r = await scim.patch(f"/Users/{uid}", json=op)
    assert r.status_code == 200 and "active" not in r.json()
    assert "active" not in (await scim.get(f"/Users/{uid}")).json()
    # Unassigned is not deactivated: the user counts as active in filters.
    query = 'userName eq "rm@acme.test" and active eq true'
    found = await scim.get("/Users", params={"filter": query})
    assert found.json()["totalResults"] == 1
    # Other PATCHes leave it unassigned; assigning it again returns it.
    op = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "RM"}],
    }
    assert "active" not in (await scim.patch(f"/Users/{uid}", json=op)).json()
    op = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    assert (await scim.patch(f"/Users/{uid}", json=op)).json()["active"] is False


async def test_extension_value_naming_its_schema(scim: httpx.AsyncClient) -> None:
    # A whole extension as PATCH value, serialized with its own "schemas" (scim2-models does).
    uid = (await scim.post("/Users", json={"schemas": [USER], "userName": "ext@acme.test"})).json()[
        "id"
    ]
    op = {
        "schemas": [PATCH],
        "Operations": [
            {
                "op": "add",
                "path": ENTERPRISE,
                "value": {"schemas": [ENTERPRISE], "department": "R&D"},
            }
        ],
    }
    r = await scim.patch(f"/Users/{uid}", json=op)
    assert r.status_code == 200, r.text
    assert r.json()[ENTERPRISE] == {"department": "R&D"}


async def test_group_member_display_is_published_read_only(scim: httpx.AsyncClient) -> None:
    schema = (await scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")).json()
    members = next(a for a in schema["attributes"] if a["name"] == "members")
    display = next(s for s in members["subAttributes"] if s["name"] == "display")
    assert display["mutability"] == "readOnly"
