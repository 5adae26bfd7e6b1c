"""Property-based fuzzing of the SCIM server (Hypothesis), on both backends, over HTTP with a
real SCIM token: User and Group bodies, PATCH operations and filters from the strategies of
:mod:`tests.fuzz.strategies`. Any 5xx fails; every answer is a SCIM document; afterwards the
directory still lists (a stored value that breaks later reads would show there).

Examples are derandomized and bounded (``max_examples``), so a run is repeatable and adds
seconds, not minutes. Hypothesis drives a synchronous client in a worker thread while the
server runs in its own process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Directory, Server, new_directory
from tests.fuzz.strategies import (
    FILTERS,
    GROUP,
    SEARCH,
    SEARCH_BODIES,
    USER,
    encode,
    group_bodies,
    patch_bodies,
    user_bodies,
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SCIM_JSON = {"content-type": "application/scim+json"}


def _client(d: Directory) -> httpx.Client:
    headers = {"Authorization": f"Bearer {d.token}", **SCIM_JSON}
    return httpx.Client(base_url=d.base_url, headers=headers, timeout=60)


def _check(r: httpx.Response, what: Any) -> None:
    assert r.status_code < 500, (what, r.status_code, r.text[:500])
    if r.content:
        assert r.headers["content-type"].startswith("application/scim+json"), (what, r.text)
        body = r.json()
        if r.status_code >= 400:
            assert body["status"] == str(r.status_code), body


def _still_lists(client: httpx.Client) -> None:
    for path, params in (
        ("/Users", {"count": "1000"}),
        ("/Users", {"filter": "title pr or displayName pr", "sortBy": "title"}),
        ("/Users", {"filter": 'emails[type eq "work"] or name.givenName pr'}),
        ("/Groups", {"filter": "displayName pr", "sortBy": "displayName"}),
    ):
        r = client.get(path, params=params)
        assert r.status_code == 200, (path, params, r.text[:500])


async def _fuzz(server: Server, run: Callable[[httpx.Client, list[str], list[str]], None]) -> None:
    """Run ``run(client, user_ids, group_ids)`` against a fresh directory with a user and a
    group in it, then check the directory still lists."""
    d = await new_directory(server)

    def go() -> None:
        with _client(d) as client:
            user = client.post("/Users", json={"schemas": [USER], "userName": "seed@acme.test"})
            group = client.post("/Groups", json={"schemas": [GROUP], "displayName": "Seed"})
            assert user.status_code == group.status_code == 201
            run(client, [user.json()["id"]], [group.json()["id"]])
            _still_lists(client)

    await asyncio.to_thread(go)


async def test_fuzzed_user_bodies_never_get_a_server_error(server: Server) -> None:
    def run(client: httpx.Client, users: list[str], groups: list[str]) -> None:
        @FUZZ
        @given(body=user_bodies(), replace=st.booleans())
        def one(body: dict[str, Any], replace: bool) -> None:
            raw = encode(body)
            if replace:
                _check(client.put(f"/Users/{users[0]}", content=raw), raw)
            else:
                _check(client.post("/Users", content=raw), raw)

        one()

    await _fuzz(server, run)


async def test_fuzzed_group_bodies_never_get_a_server_error(server: Server) -> None:
    def run(client: httpx.Client, users: list[str], groups: list[str]) -> None:
        @FUZZ
        @given(data=st.data(), replace=st.booleans())
        def one(data: st.DataObject, replace: bool) -> None:
            raw = encode(data.draw(group_bodies(users + groups)))
            if replace:
                _check(client.put(f"/Groups/{groups[0]}", content=raw), raw)
            else:
                _check(client.post("/Groups", content=raw), raw)

        one()

    await _fuzz(server, run)


async def test_fuzzed_patch_operations_never_get_a_server_error(server: Server) -> None:
    def run(client: httpx.Client, users: list[str], groups: list[str]) -> None:
        @FUZZ
        @given(data=st.data(), on_group=st.booleans())
        def one(data: st.DataObject, on_group: bool) -> None:
            raw = encode(data.draw(patch_bodies(users + groups)))
            target = f"/Groups/{groups[0]}" if on_group else f"/Users/{users[0]}"
            _check(client.patch(target, content=raw), raw)

        one()

    await _fuzz(server, run)


async def test_fuzzed_filters_never_get_a_server_error(server: Server) -> None:
    def run(client: httpx.Client, users: list[str], groups: list[str]) -> None:
        @FUZZ
        @given(flt=FILTERS, where=st.sampled_from(["/Users", "/Groups", ""]))
        def listed(flt: str, where: str) -> None:
            _check(client.get(where, params={"filter": flt}), flt)

        @FUZZ
        @given(body=SEARCH_BODIES, where=st.sampled_from(["/Users", "/Groups", ""]))
        def searched(body: dict[str, Any], where: str) -> None:
            raw = encode({"schemas": [SEARCH], **body})
            _check(client.post(f"{where}/.search", content=raw), raw)

        listed()
        searched()

    await _fuzz(server, run)
