"""Two changes of one resource at once: the second waits for the first and builds on it, so
neither is lost (a read-modify-write without the row lock would overwrite the first)."""

from __future__ import annotations

import asyncio
import secrets

from propylon.directory.groups import get_group
from propylon.directory.users import get_user
from propylon.tenants.directories import DirectoryScope
from tests.conftest import Directory, Server

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _scope(directory: Directory) -> DirectoryScope:
    return DirectoryScope(directory.tenant_id, directory.directory_id, None, None)


async def test_a_patch_waits_for_a_concurrent_change_of_the_same_user(
    server: Server, directory: Directory
) -> None:
    async with directory.client() as c:
        created = await c.post("/Users", json={"userName": f"lock-{secrets.token_hex(3)}"})
        uid = created.json()["id"]
        patch = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "title", "value": "B"}],
        }
        async with server.rt.db.write() as s:
            user = await get_user(s, _scope(directory), uid)
            racing = asyncio.create_task(c.patch(f"/Users/{uid}", json=patch))
            await asyncio.sleep(0.5)
            assert not racing.done(), "the PATCH did not wait for the change in progress"
            user.doc = {**user.doc, "nickName": "First"}
            user.version += 1
        response = await asyncio.wait_for(racing, 10)
        assert response.status_code == 200, response.text
        after = (await c.get(f"/Users/{uid}")).json()
    assert (after["nickName"], after["title"], after["meta"]["version"]) == ("First", "B", 'W/"3"')


async def test_a_patch_waits_for_a_concurrent_change_of_the_same_group(
    server: Server, directory: Directory
) -> None:
    async with directory.client() as c:
        created = await c.post("/Groups", json={"displayName": f"g-{secrets.token_hex(3)}"})
        gid = created.json()["id"]
        patch = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "externalId", "value": "ext-b"}],
        }
        async with server.rt.db.write() as s:
            group = await get_group(s, _scope(directory), gid)
            racing = asyncio.create_task(c.patch(f"/Groups/{gid}", json=patch))
            await asyncio.sleep(0.5)
            assert not racing.done(), "the PATCH did not wait for the change in progress"
            group.version += 1
        response = await asyncio.wait_for(racing, 10)
        assert response.status_code in (200, 204), response.text
        after = (await c.get(f"/Groups/{gid}")).json()
    assert (after["externalId"], after["meta"]["version"]) == ("ext-b", 'W/"3"')
