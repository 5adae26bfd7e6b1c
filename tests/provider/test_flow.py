"""The OpenID Provider end to end against the live server (both backends)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import update

from propylon.db.tables import User
from propylon.oauth_store import signing_keys as keys
from tests.conftest import Server
from tests.provider.helpers import (
    LOGOUT,
    REDIRECT,
    basic,
    browser,
    code_flow,
    decode,
    jwks,
    new_app,
    new_person,
    token_request,
)


async def test_discovery_lists_every_endpoint(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        meta = (await c.get("/.well-known/openid-configuration")).json()
    assert meta["issuer"] == server.url
    for name, path in [
        ("authorization_endpoint", "/oauth2/authorize"),
        ("token_endpoint", "/oauth2/token"),
        ("jwks_uri", "/oauth2/jwks"),
        ("userinfo_endpoint", "/oauth2/userinfo"),
        ("introspection_endpoint", "/oauth2/introspect"),
        ("revocation_endpoint", "/oauth2/revoke"),
        ("end_session_endpoint", "/oauth2/logout"),
    ]:
        assert meta[name] == server.url + path
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]


async def test_public_client_code_flow_with_pkce(server: Server) -> None:
    app = await new_app(server, public=True)
    assert app.client_secret is None
    person = await new_person(server)
    tokens, params = await code_flow(server, app, person)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 300
    header, claims = await decode(server, tokens["id_token"])
    assert header["alg"] == "ES256" and header["kid"]
    assert claims["iss"] == server.url and claims["aud"] == app.client_id
    assert claims["nonce"] == params["nonce"] and claims["at_hash"]
    assert claims["sub"] == person.user_id and claims["org_id"] == person.tenant_id
    assert claims["org_slug"] == person.tenant_slug and claims["email"] == person.email
    assert claims["given_name"] == "Ada" and claims["family_name"] == "Lovelace"
    assert claims["name"] == "Ada Lovelace"
    assert claims["amr"] == ["saml"] and claims["auth_method"] == "saml"
    assert claims["idp"] == "conn_test" and claims["sid"] == person.session_id
    assert claims["exp"] - claims["iat"] == 300
    at_header, at = await decode(server, tokens["access_token"])
    assert at_header["typ"] == "at+jwt" and at["aud"] == app.client_id
    assert at["sub"] == person.user_id and at["exp"] - at["iat"] == 300


async def test_confidential_client_basic_auth_userinfo_introspection(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server, auth_method="password")
    tokens, _ = await code_flow(server, app, person)
    async with httpx.AsyncClient(base_url=server.url) as c:
        ui = await c.get(
            "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert ui.status_code == 200, ui.text
        assert ui.json()["sub"] == person.user_id and ui.json()["auth_method"] == "password"
        bad = await c.get("/oauth2/userinfo", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and "invalid_token" in bad.headers["www-authenticate"]
        for tok in (tokens["access_token"], tokens["refresh_token"]):
            r = await c.post("/oauth2/introspect", data={"token": tok}, auth=basic(app))
            assert r.status_code == 200 and r.json()["active"] is True, r.text
            assert r.json()["sub"] == person.user_id
        r = await c.post("/oauth2/introspect", data={"token": "garbage"}, auth=basic(app))
        assert r.json() == {"active": False}
        unauth = await c.post("/oauth2/introspect", data={"token": tokens["access_token"]})
        assert unauth.status_code in (400, 401) and unauth.json()["error"] == "invalid_client"
        # another client may not introspect this client's token
        other = await new_app(server)
        r = await c.post(
            "/oauth2/introspect", data={"token": tokens["access_token"]}, auth=basic(other)
        )
        assert r.json() == {"active": False}


async def test_refresh_rotation_and_reuse_revokes_family(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with httpx.AsyncClient(base_url=server.url) as c:
        first = tokens["refresh_token"]
        r = await token_request(c, app, {"grant_type": "refresh_token", "refresh_token": first})
        assert r.status_code == 200, r.text
        second = r.json()["refresh_token"]
        assert second != first and r.json()["id_token"]
        # reuse of the rotated-out token: refused, and the whole family is revoked
        r = await token_request(c, app, {"grant_type": "refresh_token", "refresh_token": first})
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        r = await token_request(c, app, {"grant_type": "refresh_token", "refresh_token": second})
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        for tok in (second, tokens["access_token"]):
            intro = await c.post("/oauth2/introspect", data={"token": tok}, auth=basic(app))
            assert intro.json() == {"active": False}


async def test_public_client_refresh(server: Server) -> None:
    app = await new_app(server, public=True)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with httpx.AsyncClient(base_url=server.url) as c:
        r = await token_request(
            c, app, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        assert r.status_code == 200, r.text


async def test_revocation_revokes_the_grant(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with httpx.AsyncClient(base_url=server.url) as c:
        r = await c.post("/oauth2/revoke", data={"token": tokens["refresh_token"]}, auth=basic(app))
        assert r.status_code == 200
        intro = await c.post(
            "/oauth2/introspect", data={"token": tokens["access_token"]}, auth=basic(app)
        )
        assert intro.json() == {"active": False}
        r = await token_request(
            c, app, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        assert r.json()["error"] == "invalid_grant"
        # unknown tokens answer 200 (RFC 7009 §2.2)
        r = await c.post("/oauth2/revoke", data={"token": "unknown"}, auth=basic(app))
        assert r.status_code == 200


async def test_end_session(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with browser(server, person) as b:
        r = await b.get(
            "/oauth2/logout",
            params={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": LOGOUT,
                "state": "bye",
            },
        )
        assert r.status_code == 302 and r.headers["location"] == LOGOUT + "?state=bye"
        # the session is over: introspection inactive, authorize asks to sign in again
        intro = await b.post(
            "/oauth2/introspect", data={"token": tokens["access_token"]}, auth=basic(app)
        )
        assert intro.json() == {"active": False}
    async with browser(server, person) as b:
        r = await b.get(
            "/oauth2/authorize",
            params={
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": REDIRECT,
                "scope": "openid",
            },
        )
        assert r.status_code == 200 and "work email" in r.text
        # an unregistered post-logout URI is never followed
        r = await b.get(
            "/oauth2/logout",
            params={
                "client_id": app.client_id,
                "post_logout_redirect_uri": "https://evil.example/",
            },
        )
        assert r.status_code == 400 and "location" not in r.headers


async def test_key_rotation_keeps_old_kid_in_jwks(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    old_header, _ = await decode(server, tokens["id_token"])
    out = server.cli_json("keys", "rotate")
    assert out["kid"] != old_header["kid"]
    kids = {k.kid for k in (await jwks(server)).keys}
    assert {old_header["kid"], out["kid"]} <= kids
    await decode(server, tokens["id_token"])  # still verifies
    # every server process signs with the new key at most KEY_CACHE_SECONDS after the rotation
    await asyncio.sleep(keys.KEY_CACHE_SECONDS)
    tokens2, _ = await code_flow(server, app, person)
    new_header, _ = await decode(server, tokens2["id_token"])
    assert new_header["kid"] == out["kid"]


async def test_deactivated_user_session_refused(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with server.rt.db.write() as s:
        await s.execute(update(User).where(User.id == person.user_id).values(active=False))
    async with browser(server, person) as b:
        r = await b.get(
            "/oauth2/authorize",
            params={
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": REDIRECT,
                "scope": "openid",
            },
        )
        assert r.status_code == 200 and "location" not in r.headers
        r = await token_request(
            b, app, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        ui = await b.get(
            "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert ui.status_code == 401
        intro = await b.post(
            "/oauth2/introspect", data={"token": tokens["access_token"]}, auth=basic(app)
        )
        assert intro.json() == {"active": False}


async def test_cli_and_api_register_apps(server: Server) -> None:
    out = server.cli_json("app", "create", "cli-app", "--redirect-uri", REDIRECT, "--public")
    assert out["client_id"] and out["client_secret"] is None
    out2 = server.cli_json("app", "create", "conf", "--redirect-uri", REDIRECT)
    assert out2["client_secret"]
    listed = server.cli_json("app", "list")
    assert {out["client_id"], out2["client_id"]} <= {a["client_id"] for a in listed}
    assert all("client_secret" not in a for a in listed)
    bad = server.cli("app", "create", "x", "--redirect-uri", "http://evil.example/cb", check=False)
    assert bad.returncode == 1 and "https" in bad.stderr
    async with server.api() as c:
        r = await c.post("/api/v1/apps", json={"name": "api", "redirect_uris": [REDIRECT]})
        assert r.status_code == 201 and r.json()["client_secret"]
        r = await c.post(
            "/api/v1/apps", json={"name": "api", "redirect_uris": ["https://*.example.com/cb"]}
        )
        assert r.status_code == 400
        assert any(a["name"] == "api" for a in (await c.get("/api/v1/apps")).json()["data"])
    async with httpx.AsyncClient(base_url=server.url) as c:
        assert (await c.get("/api/v1/apps")).status_code == 401


async def test_cli_and_api_revoke_apps(server: Server) -> None:
    by_cli = server.cli_json("app", "create", "old", "--redirect-uri", REDIRECT)["client_id"]
    revoked = server.cli_json("app", "revoke", by_cli)
    assert revoked["client_id"] == by_cli and revoked["revoked_at"]
    again = server.cli("app", "revoke", by_cli, check=False)
    assert again.returncode == 1 and "no app" in again.stderr
    async with server.api() as c:
        by_api = await c.post("/api/v1/apps", json={"name": "x", "redirect_uris": [REDIRECT]})
        client_id = by_api.json()["client_id"]
        assert (await c.delete(f"/api/v1/apps/{client_id}")).status_code == 200
        assert (await c.delete(f"/api/v1/apps/{client_id}")).status_code == 404
        listed = {a["client_id"] for a in (await c.get("/api/v1/apps")).json()["data"]}
        assert not {by_cli, client_id} & listed
        r = await c.get("/api/v1/audit", params={"action": "app.revoke"})
        by_api_audit = [(a["target_id"], a["outcome"]) for a in r.json()["data"]]
    async with httpx.AsyncClient(base_url=server.url) as c:
        assert (await c.delete(f"/api/v1/apps/{client_id}")).status_code == 401
    audit = server.cli_json("audit", "list", "--action", "app.revoke")
    outcomes = [(a["target_id"], a["outcome"]) for a in audit]
    assert (by_cli, "success") in outcomes and (by_cli, "failure") in outcomes
    assert (client_id, "success") in by_api_audit
    assert (by_cli, "success") in by_api_audit and (by_cli, "failure") in by_api_audit
