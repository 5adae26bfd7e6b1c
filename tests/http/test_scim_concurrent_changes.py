"""Two changes of one resource at once: the second waits for the first and builds on it, so
neither is lost (a read-modify-write without the row lock would overwrite the first)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.directory.groups import get_group
from propylon.directory.scope import DirectoryScope
from propylon.directory.users import get_user
from tests.conftest import Directory, Server

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

Change = Callable[[AsyncSession, DirectoryScope, str], Awaitable[None]]


async def _race(
    server: Server,
    directory: Directory,
    c: httpx.AsyncClient,
    path: str,
    operation: dict[str, Any],
    change_first: Change,
) -> httpx.Response:
    """Hold ``change_first`` open in a unit of work while a PATCH of the same resource comes
    in; the PATCH must wait for it. Returns the PATCH's response."""
    scope = DirectoryScope(directory.tenant_id, directory.directory_id, None, None)
    patch = {"schemas": [PATCH_OP], "Operations": [operation]}
    async with server.rt.db.write() as s:
        rid = path.rsplit("/", 1)[1]
        await change_first(s, scope, rid)  # loads the resource (locked) and changes it
        racing = asyncio.create_task(c.patch(path, json=patch))
        await asyncio.sleep(0.5)
        assert not racing.done(), "the PATCH did not wait for the change in progress"
    return await asyncio.wait_for(racing, 10)


async def test_a_patch_waits_for_a_concurrent_change_of_the_same_user(
    server: Server, directory: Directory
) -> None:
    async def nickname(s: AsyncSession, scope: DirectoryScope, uid: str) -> None:
        user = await get_user(s, scope, uid)
        user.doc = {**user.doc, "nickName": "First"}
        user.version += 1

    async with directory.client() as c:
        created = await c.post("/Users", json={"userName": f"lock-{secrets.token_hex(3)}"})
        uid = created.json()["id"]
        operation = {"op": "add", "path": "title", "value": "B"}
        response = await _race(server, directory, c, f"/Users/{uid}", operation, nickname)
        assert response.status_code == 200, response.text
        after = (await c.get(f"/Users/{uid}")).json()
    assert (after["nickName"], after["title"], after["meta"]["version"]) == ("First", "B", 'W/"3"')


async def test_a_patch_waits_for_a_concurrent_change_of_the_same_group(
    server: Server, directory: Directory
) -> None:
    async def bump(s: AsyncSession, scope: DirectoryScope, gid: str) -> None:
        group = await get_group(s, scope, gid)
        group.version += 1

    async with directory.client() as c:
        created = await c.post("/Groups", json={"displayName": f"g-{secrets.token_hex(3)}"})
        gid = created.json()["id"]
        operation = {"op": "replace", "path": "externalId", "value": "ext-b"}
        response = await _race(server, directory, c, f"/Groups/{gid}", operation, bump)
        assert response.status_code in (200, 204), response.text
        after = (await c.get(f"/Groups/{gid}")).json()
    assert (after["externalId"], after["meta"]["version"]) == ("ext-b", 'W/"3"')
