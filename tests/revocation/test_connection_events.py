"""SAML connections write ``connection.created|updated|deleted``; disabling or deleting one ends
every session it started for good (its cutoff, read by ``check_active`` in both stores) with
``session.revoked`` and the token families; SAML Single Logout either way writes
``session.revoked`` (``idp_logout`` from the IdP, ``logout`` from the person); both backends."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from redis.asyncio import Redis
from sqlalchemy import update

from propylon.db.tables_sso import LoginSession
from propylon.saml.messages import build_logout_request
from propylon.saml.redirect import encode_redirect_url
from propylon.sessions import SessionDraft, create_session
from tests.conftest import REDIS_URL, Server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import basic, decode, token_request
from tests.provider.test_rp_logout import hidden_fields
from tests.revocation.helpers import events, management, token_revoked
from tests.sso.test_saml_login import IDP, SSO, Org, new_org
from tests.sso.test_session_store import redis_prefix, saml_login, sid_of

SLO = SSO + "/slo"


async def _tenant_id(server: Server, org: Org) -> str:
    return str(org.connection["tenant_id"])


async def _signed_in(server: Server, org: Org) -> tuple[httpx.AsyncClient, dict[str, Any], str]:
    email = f"p-{secrets.token_hex(3)}@{org.domain}"
    r = await org.scim.post("/Users", json=user_body(email))
    assert r.status_code == 201, r.text
    browser = httpx.AsyncClient(base_url=server.url, timeout=30)
    tokens = await saml_login(server, browser, org, email)
    return browser, tokens, email


async def _dead(server: Server, org: Org, tokens: dict[str, Any]) -> bool:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        for token in (tokens["access_token"], tokens["refresh_token"]):
            r = await c.post("/oauth2/introspect", data={"token": token}, auth=basic(org.app))
            if r.json()["active"]:
                return False
        data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        r = await token_request(c, org.app, data)
        return r.status_code == 400


async def _active(server: Server, sid: str) -> bool:
    async with server.rt.db.read() as s:
        return await server.rt.sessions.load(s, sid, server.rt.clock()) is not None


async def _unend(server: Server, sid: str) -> None:
    """Undo the store's own record that the session ended (as a store that lost it would):
    only the connection's cutoff is left to keep it dead."""
    if server.name == "sqlite":
        async with server.rt.db.write() as s:
            await s.execute(
                update(LoginSession).where(LoginSession.id == sid).values(ended_at=None)
            )
    else:
        redis = Redis.from_url(REDIS_URL)
        try:
            assert await redis.hdel(f"{redis_prefix(server)}session:{sid}", "ended_at") == 1
        finally:
            await redis.aclose()


def _reasons(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["data"].get("reason", "")) for e in rows]


async def test_disabling_a_connection_ends_its_sessions_for_good(server: Server) -> None:
    org = await new_org(server)
    cid, tenant_id = org.connection["connection_id"], await _tenant_id(server, org)
    [created] = await events(server, tenant_id, "connection.created")
    assert created["subject"] == ("connection", cid)
    assert created["data"]["protocol"] == "saml"
    view = created["data"]["connection"]
    assert view["connection_id"] == cid and view["tenant_id"] == tenant_id
    assert view["acs_url"] == org.connection["acs_url"] and view["disabled"] is False
    assert not {"sp_private_key", "sp_private_key_sealed"} & set(created["data"]["connection"])
    browser, tokens, _ = await _signed_in(server, org)
    await browser.aclose()
    sid = await sid_of(server, tokens)
    async with await management(server) as api:
        r = await api.patch(f"/saml-connections/{cid}", json={"disabled": True})
        assert r.status_code == 200, r.text
        rows = await events(server, tenant_id)
        tail = [e for e in rows if e["type"] in ("connection.updated", "session.revoked")]
        assert _reasons(tail) == [
            ("connection.updated", ""),
            ("session.revoked", "connection_disabled"),
        ]
        assert tail[0]["data"]["connection"]["disabled"] is True
        assert tail[1]["data"]["session"]["id"] == sid
        assert tail[1]["data"]["session"]["connection_id"] == cid
        assert await token_revoked(server, tokens["refresh_token"])
        assert await _dead(server, org, tokens)
        # re-enabled: what it started before stays dead, even if the store forgot it ended
        r = await api.patch(f"/saml-connections/{cid}", json={"disabled": False})
        assert r.status_code == 200, r.text
        await _unend(server, sid)
        assert not await _active(server, sid)
        # a second edit that changes nothing writes nothing
        r = await api.patch(f"/saml-connections/{cid}", json={"disabled": False})
        assert r.status_code == 200
    updated = await events(server, tenant_id, "connection.updated")
    assert [e["data"]["connection"]["disabled"] for e in updated] == [True, False]
    # sessions it starts from now on live
    rt = server.rt
    _, claims = await decode(server, tokens["id_token"])
    draft = SessionDraft(tenant_id, claims["sub"], "saml", cid, "x")
    fresh = await create_session(rt.sessions, rt.db, draft, rt.clock() + timedelta(seconds=1))
    assert await _active(server, fresh.id)


async def test_deleting_a_connection_ends_its_sessions(server: Server) -> None:
    org = await new_org(server)
    cid, tenant_id = org.connection["connection_id"], await _tenant_id(server, org)
    browser, tokens, _ = await _signed_in(server, org)
    await browser.aclose()
    sid = await sid_of(server, tokens)
    async with await management(server) as api:
        r = await api.delete(f"/saml-connections/{cid}")
        assert r.status_code == 204, r.text
    rows = await events(server, tenant_id)
    tail = [e for e in rows if e["type"] in ("connection.deleted", "session.revoked")]
    assert _reasons(tail) == [("connection.deleted", ""), ("session.revoked", "connection_deleted")]
    assert tail[0]["subject"] == ("connection", cid)
    assert tail[0]["data"]["connection"]["connection_id"] == cid
    assert tail[1]["data"]["session"]["id"] == sid
    assert await _dead(server, org, tokens)
    await _unend(server, sid)
    assert not await _active(server, sid)


async def test_idp_initiated_single_logout_writes_session_revoked(server: Server) -> None:
    org = await new_org(server, slo_url=SLO)
    cid, tenant_id = org.connection["connection_id"], await _tenant_id(server, org)
    browser, tokens, email = await _signed_in(server, org)
    await browser.aclose()
    sid = await sid_of(server, tokens)
    request = build_logout_request(
        request_id="id" + secrets.token_hex(16),
        issue_instant=datetime.now(UTC),
        sp_entity_id=IDP,  # the Issuer: the IdP sends it
        destination=org.connection["slo_url"],
        name_id=email,
    )
    url = encode_redirect_url(org.connection["slo_url"], request, signing_key=org.idp.key)  # type: ignore[arg-type]
    parts = urlsplit(url)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as idp:
        r = await idp.get(parts.path + "?" + parts.query)
        assert r.status_code in (302, 303) and r.headers["location"].startswith(SLO), r.text
    [event] = await events(server, tenant_id, "session.revoked")
    assert event["data"] == {
        "session": {
            "id": sid,
            "user_id": event["data"]["session"]["user_id"],
            "tenant_id": tenant_id,
            "auth_method": "saml",
            "connection_id": cid,
        },
        "reason": "idp_logout",
    }
    assert await _dead(server, org, tokens)


async def test_sp_initiated_single_logout_writes_session_revoked(server: Server) -> None:
    org = await new_org(server)
    cid, tenant_id = org.connection["connection_id"], await _tenant_id(server, org)
    browser, tokens, _ = await _signed_in(server, org)
    try:
        r = await browser.get(f"/saml/{cid}/logout", params={"return_to": "/"})
        assert r.status_code == 200 and "Sign out?" in r.text
        r = await browser.post(f"/saml/{cid}/logout", data=hidden_fields(r.text))
        assert r.status_code in (200, 302, 303), r.text
    finally:
        await browser.aclose()
    [event] = await events(server, tenant_id, "session.revoked")
    assert event["data"]["reason"] == "logout"
    assert event["data"]["session"]["id"] == await sid_of(server, tokens)
    assert await _dead(server, org, tokens)
