"""Shared Signals Framework 1.0 transmitter end to end: a receiver with a management API key
creates a push stream (RFC 8935), asks for verification (SSF §8.1.4), and receives CAEP
``session-revoked`` and ``token-claims-change`` SETs (RFC 8417) that verify with the served
JWK Set, with its ``Authorization`` header."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from propylon.admin import entitlements
from propylon.admin.audited import CLI
from tests.conftest import Server, new_directory
from tests.http.test_scim_users import ENTERPRISE, user_body
from tests.provider.helpers import jwks
from tests.signals.helpers import Receiver, emit, receiver, verified

PUSH = "urn:ietf:rfc:8935"
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"
STREAM_UPDATED = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"


@pytest.fixture(scope="module")
def rx() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture(scope="module")
async def api(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with server.api() as client:
        yield client


async def new_stream(
    api: httpx.AsyncClient, url: str, events: list[str], **extra: Any
) -> dict[str, Any]:
    body = {
        "delivery": {"method": PUSH, "endpoint_url": url, "authorization_header": "Bearer rx-1"},
        "events_requested": events,
        "aud": ["https://receiver.example.com"],
        **extra,
    }
    r = await api.post("/ssf/stream", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def set_of(server_url: str, request: Any, keys: Any) -> tuple[str, dict[str, Any]]:
    """The SET's one event type and its claims, after the RFC 8935 §2 checks."""
    assert request.headers["content-type"] == "application/secevent+jwt"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == "Bearer rx-1"
    header, claims = verified(request.body.decode(), keys)
    assert header["typ"] == "secevent+jwt"
    assert claims["iss"] == server_url
    assert claims["aud"] == "https://receiver.example.com"
    assert isinstance(claims["jti"], str) and isinstance(claims["iat"], int)
    assert "sub" not in claims and "exp" not in claims
    (event_type,) = claims["events"]
    return event_type, claims


async def test_verification_event_carries_the_receivers_state(
    server: Server, api: httpx.AsyncClient, rx: Receiver
) -> None:
    url = rx.url("ssf")
    stream = await new_stream(api, url, [CAEP + "session-revoked"])
    r = await api.post("/ssf/verify", json={"stream_id": stream["stream_id"], "state": "s-42"})
    assert r.status_code == 204
    (request,) = await rx.wait(url)
    event_type, claims = set_of(server.url, request, await jwks(server))
    assert event_type == VERIFICATION
    assert claims["events"][VERIFICATION] == {"state": "s-42"}
    assert claims["sub_id"] == {"format": "opaque", "id": stream["stream_id"]}
    r = await api.post(
        "/ssf/status", json={"stream_id": stream["stream_id"], "status": "paused", "reason": "m"}
    )
    assert r.status_code == 200
    (_, updated) = await rx.wait(url, 2)
    event_type, claims = set_of(server.url, updated, await jwks(server))
    assert event_type == STREAM_UPDATED
    assert claims["events"][STREAM_UPDATED] == {"status": "paused", "reason": "m"}


async def test_session_revoked_and_claims_change_reach_the_streams_that_asked(
    server: Server, api: httpx.AsyncClient, rx: Receiver
) -> None:
    d = await new_directory(server)
    sessions_url, claims_url = rx.url("ssf"), rx.url("ssf")
    await new_stream(api, sessions_url, [CAEP + "session-revoked"], tenant_id=d.tenant_id)
    await new_stream(api, claims_url, [CAEP + "token-claims-change"])
    session = {"id": "sid-1", "user_id": "usr-1", "tenant_id": d.tenant_id}
    await emit(
        server,
        d.tenant_id,
        "session.revoked",
        ("session", "sid-1"),
        {"session": session, "reason": "admin"},
    )
    entitlements = {"version": 3, "roles": ["admin"], "tier": "gold", "programs": ["beta"]}
    await emit(
        server,
        d.tenant_id,
        "user.entitlements_changed",
        ("user", "usr-1"),
        {"user": {"id": "usr-1"}, "entitlements": entitlements, "previous": None},
    )
    keys = await jwks(server)
    (request,) = await rx.wait(sessions_url)
    event_type, claims = set_of(server.url, request, keys)
    assert event_type == CAEP + "session-revoked"
    event = claims["events"][event_type]
    assert event["initiating_entity"] == "admin"
    assert isinstance(event["event_timestamp"], int)
    assert claims["sub_id"] == {
        "format": "complex",
        "tenant": {"format": "opaque", "id": d.tenant_id},
        "user": {"format": "iss_sub", "iss": server.url, "sub": "usr-1"},
        "session": {"format": "opaque", "id": "sid-1"},
    }
    (request,) = await rx.wait(claims_url)
    event_type, claims = set_of(server.url, request, keys)
    assert event_type == CAEP + "token-claims-change"
    assert claims["events"][event_type]["claims"] == {
        "roles": ["admin"],
        "tier": "gold",
        "programs": ["beta"],
        "entitlements_version": 3,
    }
    assert claims["sub_id"]["user"]["sub"] == "usr-1"
    assert len(rx.at(sessions_url)) == 1  # the claims change was not requested there


async def test_a_department_change_pushes_the_new_roles_as_token_claims_change(
    server: Server, api: httpx.AsyncClient, rx: Receiver
) -> None:
    """The real path: a SCIM department change recomputes the user's entitlements
    (``user.entitlements_changed``), which reaches the stream as CAEP ``token-claims-change``."""
    role = f"clinician-{secrets.token_hex(3)}"
    await entitlements.catalog_add(server.rt, CLI, "role", role)
    d = await new_directory(server)
    rules = {
        "rules": [
            {
                "name": "clinical",
                "priority": 1,
                "when": {"attributes": [{"attr": "department", "op": "eq", "value": "Clinical"}]},
                "grant": {"roles": [role]},
            }
        ]
    }
    await entitlements.rules_set(server.rt, CLI, d.tenant_slug, rules)
    url = rx.url("ssf")
    await new_stream(api, url, [CAEP + "token-claims-change"], tenant_id=d.tenant_id)
    async with d.client() as scim:
        r = await scim.post("/Users", json=user_body(f"nurse-{secrets.token_hex(3)}@acme.test"))
        assert r.status_code == 201, r.text
        user_id = r.json()["id"]
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Clinical"}
            ],
        }
        r = await scim.patch(f"/Users/{user_id}", json=patch)
        assert r.status_code == 200, r.text
    keys = await jwks(server)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sets = [set_of(server.url, req, keys)[1] for req in rx.at(url)]
        changes = [c["events"][CAEP + "token-claims-change"] for c in sets]
        granted = [c for c in changes if role in c["claims"]["roles"]]
        if granted:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"no token-claims-change with {role}: {rx.at(url)}")
    assert granted[0]["claims"]["entitlements_version"] >= 1
    assert all(c["sub_id"]["user"]["sub"] == user_id for c in sets)
