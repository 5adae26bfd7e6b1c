"""A refresh-token family revoked at the token endpoints writes ``grant.revoked`` once, in the
same transaction: RFC 7009 revocation (reason ``revoked``), a replayed authorization code
(RFC 6749 §4.1.2, ``code_replay``) and a rotated-out refresh token presented again (RFC 9700
§4.14.2, ``refresh_token_replay``); both backends."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Server
from tests.provider.helpers import (
    REDIRECT,
    App,
    Person,
    auth_params,
    authorize,
    basic,
    browser,
    code_flow,
    decode,
    new_app,
    new_person,
    pkce,
    token_request,
)
from tests.revocation.helpers import events, token_revoked


async def _grant(
    server: Server, app: App, person: Person, tokens: dict[str, Any], reason: str
) -> dict[str, Any]:
    _, claims = await decode(server, tokens["access_token"])
    return {
        "grant_id": claims["grant_id"],
        "client_id": app.client_id,
        "user_id": person.user_id,
        "tenant_id": person.tenant_id,
        "sid": person.session_id,
        "reason": reason,
    }


async def _active(c: httpx.AsyncClient, app: App, token: str) -> bool:
    r = await c.post("/oauth2/introspect", data={"token": token}, auth=basic(app))
    return bool(r.json()["active"])


async def test_rfc7009_revocation_writes_grant_revoked_once(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        for token in (tokens["refresh_token"], tokens["refresh_token"], tokens["access_token"]):
            r = await c.post("/oauth2/revoke", data={"token": token}, auth=basic(app))
            assert r.status_code == 200, r.text
        assert not await _active(c, app, tokens["access_token"])
    [event] = await events(server, person.tenant_id, "grant.revoked")
    expected = await _grant(server, app, person, tokens, "revoked")
    assert event["subject"] == ("grant", expected["grant_id"])
    assert event["data"] == expected
    assert await token_revoked(server, tokens["refresh_token"])
    # the session itself goes on: only the grant is gone
    assert not await events(server, person.tenant_id, "session.revoked")


async def test_revoking_an_access_token_revokes_its_grant_with_the_event(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        r = await c.post("/oauth2/revoke", data={"token": tokens["access_token"]}, auth=basic(app))
        assert r.status_code == 200
        assert not await _active(c, app, tokens["refresh_token"])
    [event] = await events(server, person.tenant_id, "grant.revoked")
    assert event["data"] == await _grant(server, app, person, tokens, "revoked")


async def test_a_replayed_code_writes_grant_revoked(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    verifier, challenge = pkce()
    params = auth_params(app, code_challenge=challenge, code_challenge_method="S256")
    async with browser(server, person) as b:
        code = (await authorize(b, params))["code"]
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        first = await token_request(c, app, data)
        assert first.status_code == 200, first.text
        for _ in range(2):  # the second replay finds nothing left to revoke
            again = await token_request(c, app, data)
            assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        tokens = first.json()
        assert not await _active(c, app, tokens["access_token"])
    [event] = await events(server, person.tenant_id, "grant.revoked")
    assert event["data"] == await _grant(server, app, person, tokens, "code_replay")


async def test_a_replayed_refresh_token_writes_grant_revoked(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    first = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        r = await token_request(c, app, first)
        assert r.status_code == 200, r.text
        second = r.json()["refresh_token"]
        r = await token_request(c, app, first)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        assert not await _active(c, app, second)
    [event] = await events(server, person.tenant_id, "grant.revoked")
    assert event["data"] == await _grant(server, app, person, tokens, "refresh_token_replay")
