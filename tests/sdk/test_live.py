"""The SDK against a live Propylon (both backends): the OpenID Provider's access tokens, the
event stream's revocations, introspection when the view is stale, the events cursor and the
management client beside the served OpenAPI document."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import httpx
import pytest

from propylon.admin.keys import rotate_keys
from propylon.sdk import ApiError, InvalidToken, Management, Propylon
from propylon.sdk.jose import b64url_decode
from propylon.sdk.management import OPERATIONS
from tests.conftest import Server, free_port
from tests.sdk.live import api_key, refused_within, sdk, signed_in


async def test_a_provider_access_token_verifies_to_its_principal(server: Server) -> None:
    s = await signed_in(server)
    with sdk(server, s.app, None, revocation=False).start() as propylon:
        p = propylon.verify(s.access_token)
        assert p.user_id == s.person.user_id and p.tenant_id == s.person.tenant_id
        assert p.tenant_slug == s.person.tenant_slug and p.email == s.person.email
        assert p.session_id == s.person.session_id and p.auth_method == "saml"
        assert p.idp == "conn_test" and p.client_id == s.app.client_id
        assert (await propylon.averify(s.access_token)).user_id == p.user_id
        with pytest.raises(InvalidToken) as e:
            propylon.verify(s.access_token[:-4] + "AAAA")
        assert e.value.reason == "bad_signature"
    other = Propylon(server.url, audience="app_other", revocation=False).start()
    with pytest.raises(InvalidToken) as e:
        other.verify(s.access_token)
    assert e.value.reason == "audience"
    other.close()


async def test_a_scim_deactivation_reaches_the_view_and_the_token_is_refused(
    server: Server,
) -> None:
    s = await signed_in(server)
    propylon = sdk(server, s.app, await api_key(server)).start(wait=15)
    try:
        assert propylon.view.fresh()
        assert propylon.verify(s.access_token).source == "token"
        async with httpx.AsyncClient(
            base_url=s.person.directory_base,
            headers={"Authorization": f"Bearer {s.person.scim_token}"},
        ) as scim:
            patch = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": False}}],
            }
            r = await scim.patch(f"/Users/{s.person.user_id}", json=patch)
            assert r.status_code == 200, r.text
        reason, took = await refused_within(lambda: propylon.verify(s.access_token), 5)
        assert reason == "user_revoked" and took < 2
        with pytest.raises(InvalidToken):
            await propylon.averify(s.access_token)
    finally:
        propylon.close()


async def test_a_stale_view_asks_introspection_and_refuses_when_nothing_can_answer(
    server: Server,
) -> None:
    s = await signed_in(server)
    # no API key: no stream, the view is never fresh
    with sdk(server, s.app, None).start() as propylon:
        assert not propylon.view.fresh()
        p = propylon.verify(s.access_token)
        assert p.source == "introspection" and p.user_id == s.person.user_id
        assert (await propylon.averify(s.access_token)).source == "introspection"
        propylon.introspection_endpoint = f"http://127.0.0.1:{free_port()}/introspect"
        with pytest.raises(InvalidToken) as e:
            propylon.verify(s.access_token)
        assert e.value.reason == "unverifiable"
        with pytest.raises(InvalidToken) as e:
            await propylon.averify(s.access_token)
        assert e.value.reason == "unverifiable"
    no_secret = Propylon(server.url, audience=s.app.client_id).start()
    with pytest.raises(InvalidToken) as e:
        no_secret.verify(s.access_token)
    assert e.value.reason == "unverifiable"
    no_secret.close()
    async with httpx.AsyncClient(base_url=server.url) as c:
        r = await c.post(
            "/oauth2/revoke",
            data={"token": s.refresh_token},
            auth=(s.app.client_id, s.app.client_secret or ""),
        )
        assert r.status_code == 200
    with sdk(server, s.app, None).start() as propylon, pytest.raises(InvalidToken) as e:
        propylon.verify(s.access_token)
    assert e.value.reason == "inactive"


async def test_the_events_cursor_iterates_a_tenants_events_in_order(server: Server) -> None:
    s = await signed_in(server)
    with Management(server.url, await api_key(server)) as m:
        seen: list[Any] = []
        for _ in range(100):
            seen = m.events(tenant=s.person.tenant_id)
            if seen:
                break
            await asyncio.sleep(0.05)
        assert [e.type for e in seen][:1] == ["user.created"]
        assert [e.tenant_seq for e in seen] == sorted(e.tenant_seq for e in seen)
        assert seen[0].subject_id == s.person.user_id and seen[0].seq > 0
        assert m.events(after=seen[-1].seq, tenant=s.person.tenant_id) == []


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in item.items()
    }


def _body_fields(doc: dict[str, Any], op: dict[str, Any]) -> tuple[set[str], set[str]] | None:
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = schema.get("schema")
    if schema is None:
        return None
    if "anyOf" in schema:
        schema = next(x for x in schema["anyOf"] if "$ref" in x)
    target = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(target.get("properties", {})), set(target.get("required", []))


NOT_IN_CLIENT = {("GET", "/api/v1/events/stream")}
"""Served but not a management client method: the stream is ``propylon.sdk.stream``."""


async def test_the_management_client_matches_the_served_openapi_document(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        doc = (await c.get("/openapi.json")).json()
    served = _operations(doc)
    mine = {(op.method, op.path): (name, op) for name, op in OPERATIONS.items()}
    assert set(served) - set(mine) - NOT_IN_CLIENT == set(), "operations the client lacks"
    assert set(mine) - set(served) == set(), "client operations Propylon does not serve"
    for key, (name, op) in mine.items():
        spec = served[key]
        query = {p["name"] for p in spec.get("parameters", []) if p["in"] == "query"}
        assert set(op.query) == query, name
        body = _body_fields(doc, spec)
        if op.body is None:
            assert body is None, name
        else:
            assert body is not None, name
            props, required = body
            assert set(op.body) == props and required <= set(op.body), name
    with Management(server.url, await api_key(server)) as m:
        with pytest.raises(TypeError):
            m.call("get_tenant", {"tenant": "x"}, bogus=1)
        with pytest.raises(ApiError) as e:
            m.get_tenant("no-such-tenant")
        assert e.value.status == 404
        tenant = m.create_tenant(f"sdk-{secrets.token_hex(4)}", "SDK")
        assert m.get_tenant(tenant["slug"])["id"] == tenant["id"]


async def test_a_rotated_signing_key_is_fetched_when_a_token_names_its_kid(server: Server) -> None:
    s = await signed_in(server)
    with sdk(server, s.app, None, revocation=False).start() as propylon:
        known = set(propylon.jwks.keys)
        propylon.jwks.min_refresh = 0  # the rate limit has a test of its own (unit)
        await rotate_keys(server.rt)
        for _ in range(60):  # every process re-reads its signing key within 2 s
            fresh = await signed_in(server, s.app)
            if json.loads(b64url_decode(fresh.access_token.split(".")[0]))["kid"] not in known:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("no token signed with the new key")
        assert propylon.verify(fresh.access_token).user_id == fresh.person.user_id
        assert set(propylon.jwks.keys) > known
