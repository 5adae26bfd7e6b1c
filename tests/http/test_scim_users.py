"""SCIM /Users over HTTP against the live server, on both backends."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Directory

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def user_body(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER, ENTERPRISE],
        "userName": name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE: {"department": "Engineering", "employeeNumber": "42"},
        **extra,
    }


async def test_create_returns_201_with_location_etag_and_scim_media_type(
    scim: httpx.AsyncClient,
) -> None:
    r = await scim.post("/Users", json=user_body("ada@acme.test"))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/scim+json")
    body = r.json()
    assert body["id"].startswith("user_")
    assert r.headers["location"].endswith(f"/Users/{body['id']}")
    assert r.headers["etag"] == body["meta"]["version"]
    assert body[ENTERPRISE]["department"] == "Engineering"
    assert body["meta"]["resourceType"] == "User"


async def test_get_by_id_and_if_none_match_gives_304(scim: httpx.AsyncClient) -> None:
    created = (await scim.post("/Users", json=user_body("bob@acme.test"))).json()
    r = await scim.get(f"/Users/{created['id']}")
    assert r.status_code == 200 and r.json()["userName"] == "bob@acme.test"
    r304 = await scim.get(f"/Users/{created['id']}", headers={"If-None-Match": r.headers["etag"]})
    assert r304.status_code == 304


async def test_unknown_extension_attributes_round_trip(scim: httpx.AsyncClient) -> None:
    custom = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"
    body = user_body("ext@acme.test", **{custom: {"costCode": "X-1", "tier": 3}})
    body["schemas"].append(custom)
    created = (await scim.post("/Users", json=body)).json()
    fetched = (await scim.get(f"/Users/{created['id']}")).json()
    assert fetched[custom] == {"costCode": "X-1", "tier": 3}
    assert custom in fetched["schemas"]


async def test_username_is_unique_per_tenant_case_insensitively(scim: httpx.AsyncClient) -> None:
    assert (await scim.post("/Users", json=user_body("Dup@Acme.test"))).status_code == 201
    r = await scim.post("/Users", json=user_body("dup@acme.TEST"))
    assert r.status_code == 409
    assert r.json()["scimType"] == "uniqueness" and r.json()["schemas"] == [ERROR]


async def test_filter_username_eq_is_case_insensitive(scim: httpx.AsyncClient) -> None:
    await scim.post("/Users", json=user_body("Carol@Acme.test"))
    r = await scim.get("/Users", params={"filter": 'userName eq "carol@acme.test"'})
    assert r.status_code == 200
    body = r.json()
    assert body["totalResults"] == 1 and body["Resources"][0]["userName"] == "Carol@Acme.test"


async def test_put_replaces_and_if_match_mismatch_gives_412(scim: httpx.AsyncClient) -> None:
    created = await scim.post("/Users", json=user_body("dan@acme.test"))
    uid, tag = created.json()["id"], created.headers["etag"]
    replaced = user_body("dan@acme.test", displayName="Dan")
    r = await scim.put(f"/Users/{uid}", json=replaced, headers={"If-Match": tag})
    assert r.status_code == 200 and r.json()["displayName"] == "Dan"
    stale = await scim.put(f"/Users/{uid}", json=replaced, headers={"If-Match": tag})
    assert stale.status_code == 412


async def test_patch_deactivates_with_entra_string_boolean(scim: httpx.AsyncClient) -> None:
    uid = (await scim.post("/Users", json=user_body("eve@acme.test"))).json()["id"]
    ops = {
        "schemas": [PATCH],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
    }
    r = await scim.patch(f"/Users/{uid}", json=ops)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False


async def test_delete_then_get_is_404(scim: httpx.AsyncClient) -> None:
    uid = (await scim.post("/Users", json=user_body("fay@acme.test"))).json()["id"]
    assert (await scim.delete(f"/Users/{uid}")).status_code == 204
    r = await scim.get(f"/Users/{uid}")
    assert r.status_code == 404 and r.json()["status"] == "404"


async def test_pagination_reports_total_and_pages(scim: httpx.AsyncClient) -> None:
    for i in range(5):
        await scim.post("/Users", json=user_body(f"page{i}@acme.test"))
    r = await scim.get("/Users", params={"startIndex": 2, "count": 2, "sortBy": "userName"})
    body = r.json()
    assert body["totalResults"] == 5 and body["startIndex"] == 2 and body["itemsPerPage"] == 2
    assert [u["userName"] for u in body["Resources"]] == ["page1@acme.test", "page2@acme.test"]
    # past the end, however far (beyond what the databases' integers hold): an empty page
    for start in (6, 2**63, 10**30):
        r = await scim.get("/Users", params={"startIndex": start, "count": 2})
        assert r.status_code == 200, r.text
        assert r.json()["totalResults"] == 5 and r.json()["Resources"] == []


async def test_every_page_has_the_same_total_and_sorted_rows_with_groups(
    scim: httpx.AsyncClient,
) -> None:
    """Walking a listing page by page (first page full, middle, last page short, past the
    end, count=0) gives one total, every row exactly once in sortBy order (descending too),
    and each row its groups."""
    names = [f"walk{i}@acme.test" for i in range(7)]
    ids = [(await scim.post("/Users", json=user_body(n))).json()["id"] for n in names]
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Walkers",
        "members": [{"value": ids[3]}],
    }
    gid = (await scim.post("/Groups", json=group)).json()["id"]
    base = {"filter": 'userName sw "walk"', "sortBy": "userName"}
    for order, expected in (("ascending", names), ("descending", names[::-1])):
        seen: list[str] = []
        for start in (1, 4, 7, 10):
            params = {**base, "sortOrder": order, "startIndex": start, "count": 3}
            body = (await scim.get("/Users", params=params)).json()
            assert body["totalResults"] == 7, (order, start)
            for user in body["Resources"]:
                seen.append(user["userName"])
                groups = [g["value"] for g in user.get("groups", [])]
                assert groups == ([gid] if user["id"] == ids[3] else [])
        assert seen == expected
    only_total = (await scim.get("/Users", params={**base, "count": 0})).json()
    assert only_total["totalResults"] == 7 and only_total.get("Resources", []) == []
    short = (await scim.get("/Users", params={**base, "count": 50})).json()
    assert short["totalResults"] == 7 and len(short["Resources"]) == 7


async def test_attributes_and_excluded_attributes(scim: httpx.AsyncClient) -> None:
    await scim.post("/Users", json=user_body("gil@acme.test"))
    only = (await scim.get("/Users", params={"attributes": "userName"})).json()["Resources"][0]
    assert set(only) <= {"id", "schemas", "userName", "meta"} and "userName" in only
    without = (await scim.get("/Users", params={"excludedAttributes": "emails"})).json()
    assert "emails" not in without["Resources"][0]


async def test_search_post(scim: httpx.AsyncClient) -> None:
    await scim.post("/Users", json=user_body("hal@acme.test"))
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'emails.value co "hal@"',
    }
    r = await scim.post("/Users/.search", json=body)
    assert r.status_code == 200 and r.json()["totalResults"] == 1


async def test_discovery_endpoints(scim: httpx.AsyncClient, directory: Directory) -> None:
    spc = (await scim.get("/ServiceProviderConfig")).json()
    assert spc["patch"]["supported"] is True and spc["bulk"]["supported"] is False
    schemas = (await scim.get("/Schemas")).json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert {USER, ENTERPRISE, "urn:ietf:params:scim:schemas:core:2.0:Group"} <= ids
    rts = (await scim.get("/ResourceTypes")).json()
    assert {r["id"] for r in rts["Resources"]} == {"User", "Group"}
    assert spc["meta"]["location"].startswith(directory.base_url)
