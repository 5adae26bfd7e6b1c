"""Tenant isolation: a token of one directory never reads or changes another directory's or
tenant's resources, on any endpoint, and gets 404 with no hint that the id exists."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Server, new_directory
from tests.http.test_scim_groups import GROUP
from tests.http.test_scim_users import PATCH, user_body


@pytest.fixture
async def two(server: Server) -> tuple[dict[str, str], httpx.AsyncClient, httpx.AsyncClient]:
    a = await new_directory(server)
    b = await new_directory(server)
    ca, cb = a.client(), b.client()
    uid = (await ca.post("/Users", json=user_body("iso@a.test"))).json()["id"]
    gid = (
        await ca.post(
            "/Groups",
            json={"schemas": [GROUP], "displayName": "A only", "members": [{"value": uid}]},
        )
    ).json()["id"]
    # b's client pointed at b's own base URL, using a's ids
    return {"uid": uid, "gid": gid, "a_base": a.base_url, "b_token": b.token}, ca, cb


async def test_every_endpoint_answers_404_for_another_tenants_ids(two) -> None:  # type: ignore[no-untyped-def]
    ids, ca, cb = two
    uid, gid = ids["uid"], ids["gid"]
    patch = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "displayName", "value": "x"}],
    }
    calls = [
        cb.get(f"/Users/{uid}"),
        cb.put(f"/Users/{uid}", json=user_body("iso@a.test")),
        cb.patch(f"/Users/{uid}", json=patch),
        cb.delete(f"/Users/{uid}"),
        cb.get(f"/Groups/{gid}"),
        cb.put(f"/Groups/{gid}", json={"schemas": [GROUP], "displayName": "x"}),
        cb.patch(f"/Groups/{gid}", json=patch),
        cb.delete(f"/Groups/{gid}"),
    ]
    for call in calls:
        r = await call
        assert r.status_code == 404, r.text
        assert "exist" not in r.json()["detail"].lower() or "no " in r.json()["detail"].lower()
    missing = await cb.get("/Users/user_nosuchuser")
    assert (
        missing.json()["detail"].replace("user_nosuchuser", uid)
        == (await cb.get(f"/Users/{uid}")).json()["detail"]
    )
    # lists and filters never show a's resources
    assert (await cb.get("/Users", params={"filter": 'userName eq "iso@a.test"'})).json()[
        "totalResults"
    ] == 0
    assert (await cb.get("/Groups")).json()["totalResults"] == 0
    assert (await cb.get("/Users", params={"filter": f'id eq "{uid}"'})).json()["totalResults"] == 0
    # a still has everything
    assert (await ca.get(f"/Users/{uid}")).status_code == 200
    assert len((await ca.get(f"/Groups/{gid}")).json()["members"]) == 1


async def test_cannot_add_another_tenants_user_as_member(two) -> None:  # type: ignore[no-untyped-def]
    ids, _ca, cb = two
    r = await cb.post(
        "/Groups",
        json={"schemas": [GROUP], "displayName": "steal", "members": [{"value": ids["uid"]}]},
    )
    # The id names nothing in b's directory, so it is not stored, exactly like an unknown id.
    assert r.status_code == 201 and "members" not in r.json()
    fetched = await cb.get(f"/Groups/{r.json()['id']}")
    assert "members" not in fetched.json()


async def test_token_is_refused_on_another_directorys_url(two) -> None:  # type: ignore[no-untyped-def]
    ids, _ca, _cb = two
    async with httpx.AsyncClient(
        base_url=ids["a_base"], headers={"Authorization": f"Bearer {ids['b_token']}"}
    ) as c:
        for r in [
            await c.get("/Users"),
            await c.get(f"/Users/{ids['uid']}"),
            await c.post("/Users", json=user_body("x@a.test")),
        ]:
            assert r.status_code == 401
            assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
