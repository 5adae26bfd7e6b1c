"""The CLI contract automation depends on: JSON shapes, human output, exit codes."""

from __future__ import annotations

import hashlib
import secrets

import httpx
from sqlalchemy import select

from propylon.db.tables import ApiKey, ScimToken
from tests.conftest import Server


def test_tenant_create_and_list_json(server: Server) -> None:
    slug = f"cli-{secrets.token_hex(4)}"
    out = server.cli_json(
        "tenant",
        "create",
        slug,
        "--name",
        "CLI Corp",
        "--domain",
        f"{slug}.example.com",
        "--seats",
        "10",
    )
    assert out["id"].startswith("tenant_") and out["slug"] == slug and out["seats"] == 10
    assert out["domains"] == [f"{slug}.example.com"]
    listed = server.cli_json("tenant", "list")
    assert any(t["slug"] == slug for t in listed)
    human = server.cli("tenant", "list").stdout
    assert slug in human and "SLUG" in human


def test_duplicate_slug_exits_1_with_message(server: Server) -> None:
    slug = f"dup-{secrets.token_hex(4)}"
    server.cli("tenant", "create", slug, "--name", "One")
    r = server.cli("tenant", "create", slug, "--name", "Two", check=False)
    assert r.returncode == 1 and "exists" in r.stderr


def test_scim_directory_token_rotation_and_revocation(server: Server) -> None:
    slug = f"dir-{secrets.token_hex(4)}"
    server.cli("tenant", "create", slug, "--name", "Dir Corp")
    d = server.cli_json("scim", "create-directory", slug)
    assert set(d) >= {"directory_id", "base_url", "token"}
    assert d["base_url"] == f"{server.url}/scim/v2/{d['directory_id']}"

    def status(token: str) -> int:
        return httpx.get(
            f"{d['base_url']}/Users", headers={"Authorization": f"Bearer {token}"}
        ).status_code

    assert status(d["token"]) == 200
    rotated = server.cli_json("scim", "rotate-token", d["directory_id"])
    assert rotated["token"] != d["token"]
    assert status(d["token"]) == 200 and status(rotated["token"]) == 200  # grace period
    revoked = server.cli_json("scim", "revoke-token", d["directory_id"])
    assert revoked["revoked"] == 2
    assert status(d["token"]) == 401 and status(rotated["token"]) == 401
    human = server.cli("scim", "create-directory", slug).stdout
    assert "SCIM base URL:" in human and "shown once" in human


async def test_secrets_are_stored_hashed_only(server: Server) -> None:
    slug = f"hash-{secrets.token_hex(4)}"
    server.cli("tenant", "create", slug, "--name", "Hash Corp")
    d = server.cli_json("scim", "create-directory", slug)
    key = server.cli_json("api-key", "create", "--name", "t")
    async with server.rt.db.read() as s:
        stored = (
            await s.scalars(
                select(ScimToken.token_hash).where(ScimToken.directory_id == d["directory_id"])
            )
        ).all()
        key_hash = await s.scalar(select(ApiKey.key_hash).where(ApiKey.id == key["id"]))
    assert list(stored) == [hashlib.sha256(d["token"].encode()).hexdigest()]
    assert key_hash == hashlib.sha256(key["key"].encode()).hexdigest()
    dump = server.cli("audit", "list", slug, "--json").stdout
    assert d["token"] not in dump and key["key"] not in dump


def test_management_api_uses_api_keys(server: Server) -> None:
    key = server.cli_json("api-key", "create", "--name", "platform")["key"]
    h = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{server.url}/api/v1/tenants").status_code == 401
    slug = f"api-{secrets.token_hex(4)}"
    r = httpx.post(
        f"{server.url}/api/v1/tenants",
        json={"slug": slug, "name": "API Corp", "seats": 3},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["slug"] == slug
    d = httpx.post(f"{server.url}/api/v1/tenants/{slug}/scim-directories", headers=h).json()
    assert d["base_url"].endswith(d["directory_id"]) and d["token"].startswith("scim_")
    httpx.post(
        f"{d['base_url']}/Users",
        json={"userName": "api@x.test"},
        headers={"Authorization": f"Bearer {d['token']}"},
    )
    users = httpx.get(f"{server.url}/api/v1/tenants/{slug}/users", headers=h).json()["data"]
    assert [u["user_name"] for u in users] == ["api@x.test"]
    audit = httpx.get(f"{server.url}/api/v1/tenants/{slug}/audit", headers=h).json()["data"]
    assert {"tenant.create", "scim.directory.create", "scim.user.create"} <= {
        a["action"] for a in audit
    }
    assert httpx.get(f"{server.url}/api/v1/tenants/nope", headers=h).status_code == 404
    server.cli("api-key", "revoke", server.cli_json("api-key", "create")["id"])
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/api/v1/tenants" in spec["paths"]
    # OpenAPI 3 §4.8.10: operationId is unique (client generators key methods by it); a
    # route taking GET and POST must not give both the same id
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"authorize_get", "authorize_post"} <= set(ids)


def test_health_ready_metrics(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "propylon_http_requests_total" in metrics


def test_scim_requests_are_labelled_by_their_route(server: Server) -> None:
    """SCIM routes sit behind one prefix test in the route table; a request is still counted
    under its own route template, and a known path with another method is a SCIM 405."""
    httpx.get(f"{server.url}/scim/v2/dir_nope/Users/u1")  # 401: no token, but routed
    wrong = httpx.request("PUT", f"{server.url}/scim/v2/dir_nope/Users")
    assert wrong.status_code == 405
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'route="/scim/v2/{directory_id}/Users/{rid}",status="401"' in metrics
    assert 'route="/scim/v2/{directory_id}/Users",status="405"' in metrics
