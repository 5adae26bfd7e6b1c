"""Two processes sharing PostgreSQL race to create the same userName: one 201, one 409."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from propylon.tenants.directories import scim_base_url
from tests.conftest import Server, new_directory, start_server, stop_server
from tests.http.test_scim_users import user_body


async def test_same_username_on_two_processes_gives_one_201_and_one_409(server: Server) -> None:
    if server.name != "postgres":
        pytest.skip("several processes share a database only in production mode")
    second_url, proc = start_server(server.backend)
    try:
        d = await new_directory(server)
        bases = [d.base_url, scim_base_url(second_url, d.directory_id)]
        headers = {"Authorization": f"Bearer {d.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            for round_ in range(20):
                name = f"race{round_}@acme.test"
                results = await asyncio.gather(
                    *(client.post(f"{b}/Users", json=user_body(name)) for b in bases)
                )
                assert sorted(r.status_code for r in results) == [201, 409], [
                    r.text for r in results
                ]
                found = await client.get(
                    f"{bases[0]}/Users", params={"filter": f'userName eq "{name}"'}
                )
                assert found.json()["totalResults"] == 1
    finally:
        stop_server(proc)
