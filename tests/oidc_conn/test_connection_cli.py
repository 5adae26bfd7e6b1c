"""An operator connects a tenant's OpenID Provider through ``propylon oidc …``: the JSON
contract automation reads, the discovery check, the credential sealed at rest and never shown,
changes, disabling, deletion and domain binding, each audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from propylon.crypto.secretbox import CLIENT_SECRET, OIDC_CLIENT_KEY
from propylon.db.tables_oidc import OidcConnection
from propylon.errors import NotFound
from propylon.tenants.oidc_connections import load_oidc_connection
from tests.conftest import Server
from tests.interop.oidc_op import Op
from tests.loopback_http import LoopbackHttp
from tests.oidc_conn.helpers import NEEDS_OP, ec_key, key_file, new_tenant, rsa_key

pytestmark = NEEDS_OP
SECRET = "s3cr3t-0f-the-client-that-must-never-show"
CONTRACT = {
    "connection_id",
    "redirect_uri",
    "backchannel_logout_uri",
    "login_url",
    "issuer",
    "client_id",
    "auth_method",
    "scopes",
    "preset",
    "claim_map",
    "jit",
}


def create(server: Server, slug: str, op: Op, *extra: str) -> dict[str, Any]:
    out: dict[str, Any] = server.cli_json(
        "oidc", "create-connection", slug, "--issuer", op.url, "--client-id", "rp", *extra
    )
    return out


def refused(server: Server, *args: str) -> dict[str, Any]:
    r = server.cli(*args, "--json", check=False)
    assert r.returncode != 0, r.stdout
    error: dict[str, Any] = json.loads(r.stdout)["error"]
    return error


async def stored(server: Server, connection_id: str) -> OidcConnection:
    async with server.rt.db.read() as s:
        row = await s.scalar(select(OidcConnection).where(OidcConnection.id == connection_id))
    assert row is not None
    return row


async def test_create_prints_the_uris_to_register_and_never_the_secret(
    server: Server, op: Op
) -> None:
    slug = await new_tenant(server)
    r = server.cli(
        "oidc", "create-connection", slug, "--issuer", op.url, "--client-id", "rp",
        "--client-secret", SECRET, "--jit", "--json",
    )  # fmt: skip
    out = json.loads(r.stdout)
    assert set(out) >= CONTRACT and SECRET not in r.stdout + r.stderr
    cid = out["connection_id"]
    assert cid.startswith("oidc_")
    assert out["redirect_uri"] == f"{server.url}/oidc/{cid}/callback"
    assert out["backchannel_logout_uri"] == f"{server.url}/oidc/{cid}/backchannel-logout"
    assert out["login_url"] == f"{server.url}/oidc/{cid}/login"
    assert (out["issuer"], out["client_id"]) == (op.url, "rp")
    assert out["auth_method"] == "client_secret_basic" and out["jit"] is True
    assert out["scopes"] == ["openid", "email", "profile"] and out["preset"] == "generic"
    assert out["claim_map"]["email"] == ["email"] and "client_jwks" not in out
    assert server.cli_json("oidc", "show", cid) == {
        k: v for k, v in out.items() if k != "end_session_supported"
    }
    assert [c["connection_id"] for c in server.cli_json("oidc", "list", slug)] == [cid]
    (entry,) = server.cli_json("audit", "list", slug, "--action", "oidc.connection.create")
    assert entry["outcome"] == "success" and entry["target_id"] == cid
    assert SECRET not in json.dumps(server.cli_json("audit", "list", slug))


async def test_the_client_secret_is_sealed_at_rest_bound_to_its_connection(
    server: Server, op: Op
) -> None:
    out = create(server, await new_tenant(server), op, "--client-secret", SECRET)
    row = await stored(server, out["connection_id"])
    assert row.client_secret is not None and SECRET not in row.client_secret
    assert row.private_key_pem is None
    box = server.rt.secret_box
    assert box.open_text(row.client_secret, CLIENT_SECRET, row.id) == SECRET


async def test_private_key_jwt_stores_the_key_sealed_and_shows_only_its_public_half(
    server: Server, op: Op, tmp_path: Path
) -> None:
    for key in (ec_key(), rsa_key()):
        path = key_file(tmp_path, key)
        out = create(server, await new_tenant(server), op, "--private-key-file", str(path))
        assert out["auth_method"] == "private_key_jwt"
        (jwk,) = out["client_jwks"]["keys"]
        assert jwk["alg"] in ("ES256", "RS256") and "d" not in jwk and jwk["kid"]
        row = await stored(server, out["connection_id"])
        assert row.private_key_pem is not None and row.client_secret is None
        body = path.read_text().splitlines()[1]
        assert body not in row.private_key_pem and "PRIVATE KEY" not in row.private_key_pem
        opened = server.rt.secret_box.open_text(row.private_key_pem, OIDC_CLIENT_KEY, row.id)
        assert opened.startswith("-----BEGIN PRIVATE KEY-----")


async def test_an_issuer_whose_discovery_names_another_issuer_is_refused(
    server: Server, op: Op
) -> None:
    slug = await new_tenant(server)
    doc = json.dumps({**op.metadata(), "issuer": "https://other.example"}).encode()
    impostor = LoopbackHttp(lambda path: (200, {"Content-Type": "application/json"}, doc))
    try:
        error = refused(
            server, "oidc", "create-connection", slug, "--issuer", impostor.origin,
            "--client-id", "rp", "--client-secret", SECRET,
        )  # fmt: skip
    finally:
        impostor.close()
    assert error["code"] == "invalid_input" and "discovery" in error["message"]
    assert server.cli_json("oidc", "list", slug) == []
    (failure,) = server.cli_json("audit", "list", slug, "--action", "oidc.connection.create")
    assert failure["outcome"] == "failure" and "discovery" in failure["reason"]


async def test_the_command_needs_exactly_one_credential(
    server: Server, op: Op, tmp_path: Path
) -> None:
    slug = await new_tenant(server)
    base = ("oidc", "create-connection", slug, "--issuer", op.url, "--client-id", "rp")
    pem = str(key_file(tmp_path, ec_key()))
    both = refused(server, *base, "--client-secret", SECRET, "--private-key-file", pem)
    neither = refused(server, *base)
    assert both["code"] == neither["code"] == "usage"
    unreadable = refused(server, *base, "--private-key-file", str(tmp_path / "missing.pem"))
    assert "cannot read" in unreadable["message"]
    assert server.cli_json("oidc", "list", slug) == []


async def test_scopes_always_include_openid_and_presets_fill_the_claim_map(
    server: Server, op: Op
) -> None:
    slug = await new_tenant(server)
    out = create(
        server, slug, op, "--client-secret", SECRET, "--scope", "email", "--scope", "groups",
        "--preset", "entra", "--trusted-audience", "api://acme", "--trusted-audience", "rp",
        "--match-by", "sub", "--userinfo", "--name", "Entra ID",
    )  # fmt: skip
    assert out["scopes"] == ["openid", "email", "groups"]
    assert out["trusted_audiences"] == ["api://acme"]  # the client itself is always one
    assert (out["match_by"], out["userinfo"], out["name"]) == ("sub", True, "Entra ID")
    assert out["claim_map"]["email"] == ["email", "preferred_username", "upn"]
    assert out["claim_map"]["roles"] == ["roles"] and out["claim_map"]["groups"] == ["groups"]
    google = create(server, slug, op, "--client-secret", SECRET, "--preset", "google")
    assert google["claim_map"]["hosted_domain"] == ["hd"]
    assert google["claim_map"]["display_name"] == ["name"]
    okta = create(server, slug, op, "--client-secret", SECRET, "--preset", "okta")
    assert set(okta["claim_map"]) == {
        "email", "given_name", "family_name", "display_name", "groups",
    }  # fmt: skip


async def test_update_replaces_the_credential_and_audits_it_without_showing_it(
    server: Server, op: Op, tmp_path: Path
) -> None:
    slug = await new_tenant(server)
    cid = create(server, slug, op, "--client-secret", SECRET)["connection_id"]
    new_secret = "an0ther-s3cret-for-the-client"
    out = server.cli_json(
        "oidc", "update", cid, "--client-secret", new_secret, "--auth-method",
        "client_secret_post", "--scope", "profile", "--preset", "okta",
    )  # fmt: skip
    assert out["auth_method"] == "client_secret_post" and out["scopes"] == ["openid", "profile"]
    assert out["preset"] == "okta" and "roles" not in out["claim_map"]
    row = await stored(server, cid)
    assert row.client_secret is not None
    assert server.rt.secret_box.open_text(row.client_secret, CLIENT_SECRET, cid) == new_secret
    (entry,) = server.cli_json("audit", "list", slug, "--action", "oidc.connection.update")
    assert entry["diff"]["credential"] == {"before": "client_secret", "after": "new client_secret"}
    assert entry["diff"]["auth_method"]["after"] == "client_secret_post"
    assert new_secret not in json.dumps(entry)
    pem = str(key_file(tmp_path, ec_key()))
    switched = server.cli_json("oidc", "update", cid, "--private-key-file", pem)
    assert switched["auth_method"] == "private_key_jwt" and "client_jwks" in switched
    row = await stored(server, cid)
    assert row.client_secret is None and row.private_key_pem is not None
    back = refused(server, "oidc", "update", cid, "--auth-method", "client_secret_basic")
    assert "needs a client secret" in back["message"]


async def test_a_disabled_connection_is_hidden_from_sign_in_until_enabled(
    server: Server, op: Op
) -> None:
    cid = create(server, await new_tenant(server), op, "--client-secret", SECRET)["connection_id"]
    assert server.cli_json("oidc", "update", cid, "--disable")["disabled"] is True
    async with server.rt.db.read() as s:
        with pytest.raises(NotFound):
            await load_oidc_connection(s, cid)
    login = f"{server.url}/oidc/{cid}/login"
    params = {"return_to": "/oauth2/authorize?client_id=x"}
    assert httpx.get(login, params=params).status_code == 404  # no way to start a sign-in
    assert server.cli_json("oidc", "show", cid)["disabled"] is True
    assert server.cli_json("oidc", "update", cid, "--enable")["disabled"] is False
    async with server.rt.db.read() as s:
        record = await load_oidc_connection(s, cid)
    assert record.issuer == op.url and record.client_id == "rp"
    started = httpx.get(login, params=params)
    assert started.status_code == 302 and started.headers["location"].startswith(op.url)


async def test_a_domain_binds_to_an_oidc_connection_of_its_own_tenant_only(
    server: Server, op: Op
) -> None:
    slug, other = await new_tenant(server), await new_tenant(server)
    cid = create(server, slug, op, "--client-secret", SECRET)["connection_id"]
    foreign = create(server, other, op, "--client-secret", SECRET)["connection_id"]
    bound = server.cli_json("domain", "bind", slug, f"{slug}.example", "--connection", cid)
    assert bound["connection_id"] == cid
    error = refused(server, "domain", "bind", slug, f"{slug}.example", "--connection", foreign)
    assert "has no connection" in error["message"]


async def test_deleting_a_connection_is_audited_and_unbinds_its_domains(
    server: Server, op: Op
) -> None:
    slug = await new_tenant(server)
    cid = create(server, slug, op, "--client-secret", SECRET)["connection_id"]
    server.cli_json("domain", "bind", slug, f"{slug}.example", "--connection", cid)
    r = server.cli("oidc", "delete", cid)
    assert r.returncode == 0 and cid in r.stdout
    assert refused(server, "oidc", "show", cid)["code"] == "not_found"
    (domain,) = server.cli_json("domain", "list", slug)
    assert domain["connection_id"] is None
    (entry,) = server.cli_json("audit", "list", slug, "--action", "oidc.connection.delete")
    assert entry["target_id"] == cid and entry["diff"]["issuer"]["before"] == op.url
    async with server.rt.db.read() as s:
        assert await s.get(OidcConnection, cid) is None
