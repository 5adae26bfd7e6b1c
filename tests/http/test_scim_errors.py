"""Bad input gets the right SCIM error, never a 500 (RFC 7644 §3.12)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Directory, Server, backend_env_server
from tests.http.test_scim_users import ERROR, PATCH, user_body


async def _err(r: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    if scim_type:
        assert body["scimType"] == scim_type
    assert r.headers["content-type"].startswith("application/scim+json")


async def test_missing_and_bad_token_is_401(directory: Directory) -> None:
    async with httpx.AsyncClient(base_url=directory.base_url) as anon:
        await _err(await anon.get("/Users"), 401)
    async with directory.client("scim_not-a-real-token") as bad:
        await _err(await bad.get("/Users"), 401)


async def test_malformed_json_is_invalid_syntax(scim: httpx.AsyncClient) -> None:
    await _err(
        await scim.post(
            "/Users", content=b"{not json", headers={"content-type": "application/scim+json"}
        ),
        400,
        "invalidSyntax",
    )
    await _err(await scim.post("/Users", content=b"[1,2]"), 400, "invalidSyntax")
    await _err(await scim.post("/Users", content=b"\xff\xfe\x00"), 400, "invalidSyntax")


async def test_unreadable_bodies_are_audited_under_the_token_and_need_a_valid_token(
    server: Server, directory: Directory
) -> None:
    """A body refused before the operation runs (malformed JSON, oversized, PATCH without
    its schema) is still authenticated first and lands in the tenant's audit trail."""
    async with directory.client() as scim:
        await _err(await scim.post("/Users", content=b"{not json"), 400, "invalidSyntax")
        huge = user_body("big2@acme.test", displayName="x" * 1_100_000)
        await _err(await scim.post("/Groups", json=huge), 413)
        await _err(await scim.patch("/Users/user_x", json={"Operations": []}), 400)
    async with directory.client("scim_not-a-real-token") as bad:
        await _err(await bad.post("/Users", content=b"{not json"), 401)
    rows = server.cli_json("audit", "list", directory.tenant_slug)
    failures = {(r["action"], r["status"]) for r in rows if r["outcome"] == "failure"}
    assert {
        ("scim.user.create", 400),
        ("scim.group.create", 413),
        ("scim.user.patch", 400),
    } <= failures
    refused = next(r for r in rows if r["action"] == "scim.user.create" and r["status"] == 400)
    assert "not valid JSON" in refused["reason"]
    assert refused["directory_id"] == directory.directory_id
    assert refused["actor_id"].startswith("stok_")


async def test_missing_username_is_invalid_value(scim: httpx.AsyncClient) -> None:
    await _err(
        await scim.post("/Users", json={"schemas": [], "name": {"givenName": "x"}}),
        400,
        "invalidValue",
    )


@pytest.mark.parametrize(
    "flt",
    [
        "userName eq",
        'userName xx "a"',
        '(userName eq "a"',
        'nosuchattr eq "a"',
        'emails[type eq "work"',
    ],
)
async def test_bad_filter_is_invalid_filter(scim: httpx.AsyncClient, flt: str) -> None:
    await _err(await scim.get("/Users", params={"filter": flt}), 400, "invalidFilter")


async def test_bad_patch_path_and_no_target(scim: httpx.AsyncClient) -> None:
    uid = (await scim.post("/Users", json=user_body("pp@acme.test"))).json()["id"]
    bad_path = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}],
    }
    await _err(await scim.patch(f"/Users/{uid}", json=bad_path), 400, "invalidPath")
    no_target = {"schemas": [PATCH], "Operations": [{"op": "remove"}]}
    await _err(await scim.patch(f"/Users/{uid}", json=no_target), 400, "noTarget")
    readonly = {
        "schemas": [PATCH],
        "Operations": [{"op": "replace", "path": "id", "value": "user_x"}],
    }
    await _err(await scim.patch(f"/Users/{uid}", json=readonly), 400, "mutability")
    no_schema = {"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]}
    await _err(await scim.patch(f"/Users/{uid}", json=no_schema), 400, "invalidSyntax")


async def test_externalid_unique_per_directory(scim: httpx.AsyncClient) -> None:
    assert (
        await scim.post("/Users", json=user_body("e1@acme.test", externalId="00u1"))
    ).status_code == 201
    await _err(
        await scim.post("/Users", json=user_body("e2@acme.test", externalId="00u1")),
        409,
        "uniqueness",
    )


async def test_oversized_body_is_413(scim: httpx.AsyncClient) -> None:
    huge = user_body("big@acme.test", displayName="x" * (1_100_000))
    await _err(await scim.post("/Users", json=huge), 413)


async def test_unknown_id_is_404(scim: httpx.AsyncClient) -> None:
    await _err(await scim.get("/Users/user_nope"), 404)
    await _err(await scim.get("/Groups/grp_nope"), 404)


async def test_rate_limit_gives_429_with_retry_after(server: Server) -> None:
    limited = {"PROPYLON_SCIM_RATE_LIMIT_PER_MINUTE": "5"}
    async with backend_env_server(server, limited) as (_url, d), d.client() as scim:
        statuses = [(await scim.get("/Users")).status_code for _ in range(8)]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429] * 3
        r = await scim.get("/Users")
        await _err(r, 429)
        assert 1 <= int(r.headers["retry-after"]) <= 60
