"""The events API and its stream, on both backends: every directory change is an event with
its whole object, numbered globally in each tenant's order; pages by cursor, filtered by type
and tenant; the SSE stream replays from Last-Event-ID, goes live and beats while the
database answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Directory, Server, backend_env_server, new_directory
from tests.feed.helpers import events, sse, wait_for_events
from tests.http.test_scim_users import PATCH, user_body

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.fixture(scope="module")
async def key(server: Server) -> str:
    k: str = server.cli_json("api-key", "create")["key"]
    return k


@pytest.fixture
async def api(server: Server, key: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as client:
        yield client


async def _history(d: Directory) -> dict[str, str]:
    """user created, updated (department), group created with the user, user deactivated,
    group renamed, user deleted: the directory's common changes."""
    async with d.client() as scim:
        r = await scim.post("/Users", json=user_body("ada@feed.test"))
        uid = r.json()["id"]
        move = {"op": "replace", "path": "title", "value": "Engineer"}
        await scim.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [move]})
        g = await scim.post(
            "/Groups", json={"schemas": [GROUP], "displayName": "Eng", "members": [{"value": uid}]}
        )
        gid = g.json()["id"]
        off = {"op": "replace", "value": {"active": False}}
        await scim.patch(f"/Users/{uid}", json={"schemas": [PATCH], "Operations": [off]})
        rename = {"op": "replace", "path": "displayName", "value": "Engineering"}
        await scim.patch(f"/Groups/{gid}", json={"schemas": [PATCH], "Operations": [rename]})
        assert (await scim.delete(f"/Users/{uid}")).status_code == 204
    return {"user": uid, "group": gid}


async def test_directory_changes_are_sequenced_events_with_whole_objects(
    server: Server, api: httpx.AsyncClient
) -> None:
    d = await new_directory(server)
    ids = await _history(d)
    got = await wait_for_events(api, d.tenant_id, 11)
    assert [e["type"] for e in got] == [
        "user.created",
        "user.updated",
        "group.created",
        "group.membership_changed",
        "user.sessions_revoked",
        "user.deactivated",
        "user.updated",
        "group.updated",
        "user.sessions_revoked",
        "group.membership_changed",
        "user.deleted",
    ]
    assert [e["tenant_seq"] for e in got] == list(range(1, 12))
    seqs = [e["seq"] for e in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 11
    first = got[0]
    assert set(first) == {
        "id", "seq", "tenant_id", "tenant_seq", "type", "subject", "data", "created_at"
    }  # fmt: skip
    assert first["subject"] == {"type": "user", "id": ids["user"]}
    assert first["tenant_id"] == d.tenant_id and first["created_at"].endswith("Z")
    user = first["data"]["user"]
    assert user["id"] == ids["user"] and user["user_name"] == "ada@feed.test"
    assert user["department"] == "Engineering" and user["active"] is True
    assert "password" not in user["attributes"]
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert user["attributes"][enterprise]["employeeNumber"] == "42"
    assert got[1]["data"]["user"]["attributes"]["title"] == "Engineer"
    assert got[4]["data"]["reason"] == "deactivated"
    assert got[5]["data"]["user"]["active"] is False
    assert got[2]["data"]["group"]["display_name"] == "Eng"
    assert got[3]["data"]["added"] == [ids["user"]]
    assert got[7]["data"]["group"]["display_name"] == "Engineering"
    assert got[8]["data"]["reason"] == "deleted"
    assert got[9]["data"]["group"]["id"] == ids["group"]
    assert got[9]["data"]["removed"] == [ids["user"]]
    assert got[10]["data"]["user"]["deleted_at"] is not None


async def test_pages_follow_the_cursor_and_filter_by_type_and_tenant(
    server: Server, api: httpx.AsyncClient
) -> None:
    a, b = await new_directory(server), await new_directory(server)
    await _history(a)
    await _history(b)
    everything = await wait_for_events(api, a.tenant_id, 11)
    await wait_for_events(api, b.tenant_id, 11)
    start = everything[0]["seq"] - 1
    walked: list[dict[str, object]] = []
    cursor = start
    for _ in range(20):
        page = await events(api, after=cursor, limit=4, tenant=a.tenant_slug)
        walked += page["data"]
        if not page["data"]:
            assert page["next_after"] == cursor
            break
        assert page["next_after"] == page["data"][-1]["seq"]
        cursor = page["next_after"]
    assert walked == everything
    only = await events(api, after=start, tenant=b.tenant_id, type=["user.created", "user.deleted"])
    assert [e["type"] for e in only["data"]] == ["user.created", "user.deleted"]
    assert {e["tenant_id"] for e in only["data"]} == {b.tenant_id}
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}):
        assert (await api.get("/api/v1/events", params=bad)).status_code == 400
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        assert (await anonymous.get("/api/v1/events")).status_code == 401
        assert (await anonymous.get("/api/v1/events/stream")).status_code == 401
    bad_id = await api.get("/api/v1/events/stream", headers={"Last-Event-ID": "x1"})
    assert bad_id.status_code == 400


async def test_stream_replays_after_last_event_id_then_goes_live_with_heartbeats(
    server: Server, api: httpx.AsyncClient, key: str
) -> None:
    d = await new_directory(server)
    await _history(d)
    past = await wait_for_events(api, d.tenant_id, 11)
    resume = past[3]["seq"]
    params = {"tenant": d.tenant_id}
    async with sse(server.url, key, params, last_event_id=str(resume)) as stream:
        await stream.until(lambda s: len(s.events()) >= 7 and s.of("heartbeat"))
        replayed = stream.events()
        assert [f.data for f in replayed] == past[4:]
        assert [f.id for f in replayed] == [str(e["seq"]) for e in past[4:]]
        assert [f.event for f in replayed] == [e["type"] for e in past[4:]]
        beat = stream.of("heartbeat")[0].data
        assert beat["seq"] >= past[-1]["seq"] and isinstance(beat["at"], float)
        # live: a change now arrives on the open stream
        async with d.client() as scim:
            r = await scim.post("/Users", json=user_body("live@feed.test"))
        await stream.until(lambda s: len(s.events()) >= 8)
        live = stream.events()[7]
        assert live.event == "user.created" and live.data["subject"]["id"] == r.json()["id"]
        assert int(live.id or 0) > past[-1]["seq"]
        # heartbeats keep coming, each after a fresh read, never going back
        count = len(stream.of("heartbeat"))
        await stream.until(lambda s: len(s.of("heartbeat")) >= count + 2)
        beats = [f.data for f in stream.of("heartbeat")]
        assert [b["at"] for b in beats] == sorted(b["at"] for b in beats)
        assert len({b["at"] for b in beats}) == len(beats)
        assert beats[-1]["seq"] >= int(live.id or 0)


async def test_stream_type_filter_and_start_from_now(
    server: Server, api: httpx.AsyncClient, key: str
) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        await scim.post("/Users", json=user_body("before@feed.test"))
    await wait_for_events(api, d.tenant_id, 1)
    params = {"tenant": d.tenant_slug, "type": "user.deleted"}
    async with sse(server.url, key, params) as stream:
        await stream.until(lambda s: bool(s.of("heartbeat")))
        async with d.client() as scim:
            r = await scim.post("/Users", json=user_body("after@feed.test"))
            await scim.delete(f"/Users/{r.json()['id']}")
        await stream.until(lambda s: bool(s.events()))
        assert [(f.event, f.data["subject"]["id"]) for f in stream.events()] == [
            ("user.deleted", r.json()["id"])
        ]


async def test_cli_lists_events_as_json(server: Server, api: httpx.AsyncClient) -> None:
    d = await new_directory(server)
    async with d.client() as scim:
        await scim.post("/Users", json=user_body("cli@feed.test"))
    got = await wait_for_events(api, d.tenant_id, 1)
    out = server.cli_json(
        "events", "list", "--tenant", d.tenant_slug, "--type", "user.created",
        "--after", str(got[0]["seq"] - 1), "--limit", "5",
    )  # fmt: skip
    assert out == {"data": got, "next_after": got[0]["seq"]}
    assert json.loads(json.dumps(out))  # plain JSON


async def test_a_stream_ends_once_its_api_key_is_revoked(server: Server) -> None:
    """An open stream re-checks its key (``PROPYLON_EVENTS_STREAM_REAUTH_SECONDS``): a revoked
    key stops receiving events at the next check, with ``event: end``."""
    extra = {"PROPYLON_EVENTS_STREAM_REAUTH_SECONDS": "0.5"}
    async with backend_env_server(server, extra) as (url, _d):
        made = server.cli_json("api-key", "create")
        headers = {"Authorization": f"Bearer {made['key']}"}
        seen: list[str] = []
        async with (
            httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as c,
            c.stream("GET", "/api/v1/events/stream") as r,
        ):
            assert r.status_code == 200

            async def read_until_end() -> None:
                async for line in r.aiter_lines():
                    if line.startswith("event: "):
                        seen.append(line.removeprefix("event: "))
                        if seen[-1] == "heartbeat" and seen.count("heartbeat") == 1:
                            server.cli("api-key", "revoke", made["id"])
                        if seen[-1] == "end":
                            return

            await asyncio.wait_for(read_until_end(), timeout=20)
        assert seen[0] == "heartbeat" and seen[-1] == "end", seen
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as c:
            assert (await c.get("/api/v1/events/stream")).status_code == 401


async def test_a_non_ascii_last_event_id_is_refused_not_an_error(server: Server, key: str) -> None:
    # "²" is a digit to str.isdigit, not to int(): sent as its Latin-1 byte
    headers = {"Authorization": f"Bearer {key}", "Last-Event-ID": "²".encode("latin-1")}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as c:
        r = await c.get("/api/v1/events/stream")
    assert r.status_code == 400, r.text


async def test_filters_that_name_no_event_type_or_tenant_are_refused(
    api: httpx.AsyncClient,
) -> None:
    """A NUL or a stray character in a filter reached PostgreSQL (a 500, found by the OpenAPI
    fuzz): a type must look like one, a tenant like an id or slug."""
    for params in ({"type": "user.created\x00"}, {"type": "User Created"}, {"tenant": "a\x00"}):
        r = await api.get("/api/v1/events", params=params)
        assert r.status_code == 400, (params, r.text)


async def test_open_streams_are_limited_per_key_and_in_all(server: Server) -> None:
    """``PROPYLON_EVENTS_STREAM_MAX_PER_KEY`` and ``PROPYLON_EVENTS_STREAM_MAX``: the route
    answers 429 once this process's follower serves that many streams to the key, or in
    all; a stream that ends frees its place."""
    from types import SimpleNamespace

    from propylon.admin import events as ops

    follower = server.rt.feed.follower
    limits = SimpleNamespace(events_stream_max_per_key=1, events_stream_max=2)
    rt: Any = SimpleNamespace(feed=SimpleNamespace(follower=follower), settings=limits)
    a = follower.subscribe("key_a")
    try:
        assert ops.stream_refused(rt, "key_a") and not ops.stream_refused(rt, "key_b")
        b = follower.subscribe("key_b")
        assert ops.stream_refused(rt, "key_c")  # two open in all
        follower.unsubscribe(b)
        assert not ops.stream_refused(rt, "key_c")
    finally:
        follower.unsubscribe(a)
    assert not ops.stream_refused(rt, "key_a")
