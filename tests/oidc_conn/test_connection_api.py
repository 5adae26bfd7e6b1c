"""The host platform manages OIDC connections through the management API: the same operations
as the CLI, strict input (a hostile body is a 4xx that stores nothing), in the OpenAPI
document, never answering with the credential."""

from __future__ import annotations

import json
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from tests.conftest import Server
from tests.interop.oidc_op import Op
from tests.oidc_conn.helpers import NEEDS_OP, ec_key, new_tenant

pytestmark = NEEDS_OP
SECRET = "api-s3cret-never-in-a-response"


def pem_of_new_key() -> str:
    return (
        ec_key()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


async def test_create_list_show_update_delete_through_the_api(server: Server, op: Op) -> None:
    slug = await new_tenant(server)
    async with server.api() as api:
        body = {
            "issuer": op.url,
            "client_id": "platform-rp",
            "client_secret": SECRET,
            "preset": "google",
            "jit": True,
            "scopes": ["email"],
        }
        r = await api.post(f"/api/v1/tenants/{slug}/oidc-connections", json=body)
        assert r.status_code == 201, r.text
        assert SECRET not in r.text
        made = r.json()
        cid = made["connection_id"]
        assert made["redirect_uri"] == f"{server.url}/oidc/{cid}/callback"
        assert made["scopes"] == ["openid", "email"] and made["claim_map"]["hosted_domain"] == [
            "hd"
        ]
        listed = (await api.get(f"/api/v1/tenants/{slug}/oidc-connections")).json()["data"]
        assert [c["connection_id"] for c in listed] == [cid]
        shown = await api.get(f"/api/v1/oidc-connections/{cid}")
        assert shown.status_code == 200 and shown.json()["issuer"] == op.url
        patch = {"private_key_pem": pem_of_new_key(), "disabled": True, "name": "Workspace"}
        r = await api.patch(f"/api/v1/oidc-connections/{cid}", json=patch)
        assert r.status_code == 200, r.text
        changed = r.json()
        assert changed["auth_method"] == "private_key_jwt" and changed["disabled"] is True
        assert "PRIVATE KEY" not in r.text and changed["name"] == "Workspace"
        assert (await api.delete(f"/api/v1/oidc-connections/{cid}")).status_code == 204
        assert (await api.get(f"/api/v1/oidc-connections/{cid}")).status_code == 404
        assert (await api.delete(f"/api/v1/oidc-connections/{cid}")).status_code == 404
    actions = [e["action"] for e in server.cli_json("audit", "list", slug)]
    assert actions[:3] == [
        "oidc.connection.delete",
        "oidc.connection.update",
        "oidc.connection.create",
    ]


HOSTILE: list[tuple[str, Any]] = [
    ("NUL in the issuer", {"issuer": "https://idp.example\u0000", "client_id": "rp"}),
    ("a number as a string", {"jit": "true"}),
    ("too long a client id", {"client_id": "c" * 256}),
    ("too many scopes", {"scopes": ["s"] * 40}),
    ("a scope that is not a token", {"scopes": ["a b"]}),
    ("an unknown method", {"auth_method": "none"}),
    ("a secret and a key", {"private_key_pem": "-----BEGIN PRIVATE KEY-----"}),
    ("a non-key PEM", {"client_secret": None, "private_key_pem": "not a key"}),
    ("a claim for no field", {"claim_map": {"shoe_size": "shoe"}}),
    ("a lone surrogate", {"name": "\ud800"}),
]


async def test_hostile_input_is_a_4xx_and_stores_nothing(server: Server, op: Op) -> None:
    slug = await new_tenant(server)
    async with server.api() as api:
        for why, change in HOSTILE:
            body = {"issuer": op.url, "client_id": "rp", "client_secret": SECRET, **change}
            # escaped JSON, so a lone surrogate reaches the server as its \\u escape
            raw = json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            url = f"/api/v1/tenants/{slug}/oidc-connections"
            r = await api.post(url, content=raw, headers=headers)
            assert 400 <= r.status_code < 500, (why, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json"), why
        listed = await api.get(f"/api/v1/tenants/{slug}/oidc-connections")
        assert listed.json()["data"] == []


async def test_unknown_and_absurd_connection_ids_are_404(server: Server) -> None:
    async with server.api() as api:
        for cid in ("oidc_nothing", "x" * 300):
            assert (await api.get(f"/api/v1/oidc-connections/{cid}")).status_code == 404
            r = await api.patch(f"/api/v1/oidc-connections/{cid}", json={"jit": True})
            assert r.status_code == 404


async def test_the_routes_are_in_the_openapi_document_and_need_an_api_key(server: Server) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    paths = doc["paths"]
    assert set(paths["/api/v1/tenants/{tenant}/oidc-connections"]) == {"get", "post"}
    assert set(paths["/api/v1/oidc-connections/{connection_id}"]) == {"get", "patch", "delete"}
    schema = doc["components"]["schemas"]["OidcConnectionIn"]
    assert {"issuer", "client_id"} <= set(schema["required"])
    r = httpx.get(f"{server.url}/api/v1/oidc-connections/oidc_x")
    assert r.status_code == 401
