"""Management API input at its edges (found by schemathesis against the served OpenAPI
document): a clear 4xx problem document, never a 500, and what the document promises."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Directory, Server, new_directory


@pytest.fixture
async def api(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with server.api("/api/v1") as client:
        yield client


async def test_numbers_beyond_the_columns_are_refused_not_500(
    server: Server, api: httpx.AsyncClient
) -> None:
    d: Directory = await new_directory(server)
    huge = 10**20
    for path in (f"/tenants/{d.tenant_slug}/users", f"/tenants/{d.tenant_slug}/groups"):
        r = await api.get(path, params={"offset": huge})
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
        assert (await api.get(path, params={"offset": 2**31 - 1})).json()["data"] == []
    r = await api.patch(f"/tenants/{d.tenant_slug}", json={"seats": 2**31})
    assert r.status_code == 400 and "seats" in r.json()["detail"]
    r = await api.post("/tenants", json={"slug": "big-seats", "name": "B", "seats": huge})
    assert r.status_code == 400
    cli = server.cli(
        "tenant", "create", "big-seats", "--name", "B", "--seats", str(huge), check=False
    )
    assert cli.returncode == 1 and "seats must be between" in cli.stderr


async def test_bodies_take_json_types_as_they_are(server: Server, api: httpx.AsyncClient) -> None:
    d = await new_directory(server)
    r = await api.patch(f"/tenants/{d.tenant_slug}", json={"unlimited_seats": 0})
    assert r.status_code == 400  # 0 is not false
    r = await api.post("/tenants", json={"slug": "typed", "name": "T", "seats": "5"})
    assert r.status_code == 400  # "5" is not 5
    r = await api.post("/apps", json={"name": "", "redirect_uris": []})
    assert r.status_code == 400


async def test_405_names_every_method_of_the_resource(
    server: Server, api: httpx.AsyncClient
) -> None:
    """RFC 9110 §15.5.6: ``Allow`` lists what the resource supports, though its GET and POST
    are separate routes; SCIM collections too."""
    r = await api.put("/apps", json={})
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    d = await new_directory(server)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {d.token}"}) as scim:
        r = await scim.put(f"{d.base_url}/Users", json={})
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"
