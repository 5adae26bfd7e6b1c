"""Back-channel logout registration, discovery, the apps a session reached, and Shared
Signals stream management (SSF 1.0 §7.1, §8.1), on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from propylon.db.tables_signals import SessionGrant
from propylon.sessions.expiry import purge_expired
from tests.conftest import Server
from tests.provider.helpers import code_flow, new_app, new_person

PUSH = "urn:ietf:rfc:8935"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
CLAIMS_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"


@pytest.fixture(scope="module")
async def api(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with server.api() as client:
        yield client


async def test_discovery_advertises_backchannel_logout_with_sessions(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        doc = (await c.get("/.well-known/openid-configuration")).json()
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True


async def test_app_registers_and_removes_a_backchannel_logout_uri(
    server: Server, api: httpx.AsyncClient
) -> None:
    r = await api.post(
        "/api/v1/apps",
        json={
            "name": "rp",
            "redirect_uris": ["https://rp.example.com/cb"],
            "backchannel_logout_uri": "https://rp.example.com/bcl",
            "backchannel_logout_session_required": True,
        },
    )
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["backchannel_logout_uri"] == "https://rp.example.com/bcl"
    assert app["backchannel_logout_session_required"] is True
    cid = app["client_id"]
    bad = await api.patch(
        f"/api/v1/apps/{cid}", json={"backchannel_logout_uri": "http://x.example/a"}
    )
    assert bad.status_code == 400, bad.text
    fragment = await api.patch(
        f"/api/v1/apps/{cid}", json={"backchannel_logout_uri": "https://rp.example.com/a#f"}
    )
    assert fragment.status_code == 400
    r = await api.patch(f"/api/v1/apps/{cid}", json={"backchannel_logout_uri": ""})
    assert r.status_code == 200, r.text
    assert r.json()["backchannel_logout_uri"] is None
    assert (await api.get(f"/api/v1/apps/{cid}")).json()["backchannel_logout_uri"] is None


def test_cli_sets_the_backchannel_logout_uri(server: Server) -> None:
    out = server.cli_json(
        "app",
        "create",
        "rp",
        "--redirect-uri",
        "https://rp.example.com/cb",
        "--backchannel-logout-uri",
        "https://rp.example.com/bcl",
    )
    assert out["backchannel_logout_uri"] == "https://rp.example.com/bcl"
    assert out["backchannel_logout_session_required"] is False


async def test_a_redeemed_code_records_which_app_the_session_reached(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    refreshed = await code_flow(server, app, person)  # a second grant of the same session
    assert tokens["refresh_token"] and refreshed[0]["refresh_token"]
    async with server.rt.db.read() as s:
        rows = list(
            await s.scalars(
                select(SessionGrant).where(SessionGrant.session_id == person.session_id)
            )
        )
    assert len(rows) == 2
    assert {r.client_id for r in rows} == {app.client_id}
    assert {r.user_id for r in rows} == {person.user_id}
    assert {r.tenant_id for r in rows} == {person.tenant_id}
    assert all(r.logout_sent_at is None for r in rows)
    # once the session has expired the rows are useless: `propylon purge` removes them
    later = max(r.expires_at for r in rows) + timedelta(seconds=1)
    async with server.rt.db.read() as s:
        counts = await purge_expired(s, now=later, dry_run=True)
    assert counts["session_grants"] >= 2


async def test_ssf_configuration_metadata(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as c:
        doc = (await c.get("/.well-known/ssf-configuration")).json()
    assert doc["issuer"] == server.url
    assert doc["jwks_uri"] == f"{server.url}/oauth2/jwks"
    assert doc["delivery_methods_supported"] == [PUSH]
    assert doc["configuration_endpoint"] == f"{server.url}/ssf/stream"
    assert doc["status_endpoint"] == f"{server.url}/ssf/status"
    assert doc["verification_endpoint"] == f"{server.url}/ssf/verify"


async def test_ssf_stream_lifecycle_for_an_api_key_holder(
    server: Server, api: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        assert (await anonymous.get("/ssf/stream")).status_code == 401
        assert (await anonymous.post("/ssf/stream", json={})).status_code == 401
    body = {
        "delivery": {
            "method": PUSH,
            "endpoint_url": "https://receiver.example.com/events",
            "authorization_header": "Bearer receiver-secret",
        },
        "events_requested": [SESSION_REVOKED, "urn:example:unknown"],
        "description": "risk engine",
    }
    r = await api.post("/ssf/stream", json=body)
    assert r.status_code == 201, r.text
    stream = r.json()
    sid = stream["stream_id"]
    assert stream["iss"] == server.url
    assert stream["delivery"] == {
        "method": PUSH,
        "endpoint_url": "https://receiver.example.com/events",
    }
    assert stream["events_supported"] == [SESSION_REVOKED, CLAIMS_CHANGE]
    assert stream["events_delivered"] == [SESSION_REVOKED]
    assert "receiver-secret" not in r.text
    assert (await api.get("/ssf/stream", params={"stream_id": sid})).json() == stream
    listed = (await api.get("/ssf/stream")).json()
    assert sid in [s["stream_id"] for s in listed]
    r = await api.patch("/ssf/stream", json={"stream_id": sid, "events_requested": [CLAIMS_CHANGE]})
    assert r.status_code == 200, r.text
    assert r.json()["events_delivered"] == [CLAIMS_CHANGE]
    assert r.json()["description"] == "risk engine"  # PATCH keeps what is not given
    r = await api.patch("/ssf/stream", json={"stream_id": sid, "iss": "https://other.example"})
    assert r.status_code == 400  # transmitter-supplied, must match
    r = await api.put(
        "/ssf/stream",
        json={
            "stream_id": sid,
            "delivery": {"method": PUSH, "endpoint_url": "https://r2.example.com/e"},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["events_requested"] == [] and "description" not in r.json()
    bad = await api.post("/ssf/stream", json={"delivery": {"method": "urn:ietf:rfc:8936"}})
    assert bad.status_code == 400
    assert (await api.get("/ssf/status", params={"stream_id": sid})).json() == {
        "stream_id": sid,
        "status": "enabled",
    }
    r = await api.post(
        "/ssf/status", json={"stream_id": sid, "status": "paused", "reason": "maint"}
    )
    assert r.json() == {"stream_id": sid, "status": "paused", "reason": "maint"}
    assert (
        await api.post("/ssf/status", json={"stream_id": sid, "status": "off"})
    ).status_code == 400
    assert (
        await api.post("/ssf/verify", json={"stream_id": sid, "state": "abc"})
    ).status_code == 204
    assert (await api.delete("/ssf/stream", params={"stream_id": sid})).status_code == 204
    assert (await api.get("/ssf/stream", params={"stream_id": sid})).status_code == 404
    assert (await api.post("/ssf/verify", json={"stream_id": sid})).status_code == 404
