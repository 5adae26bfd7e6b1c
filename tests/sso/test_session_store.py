"""Where sign-in sessions live and when they end, on both backends: the database in the
embedded mode, Redis (under the run's key prefix) in production mode; never past the IdP's
SessionNotOnOrAfter; ended by logout and by SCIM deactivation, taking refresh tokens along."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from propylon.db.tables_sso import LoginSession
from propylon.sessions import COOKIE_NAME, SessionDraft
from tests.conftest import REDIS_URL, Server
from tests.http.test_scim_users import PATCH, user_body
from tests.provider.helpers import REDIRECT, basic, decode, token_request
from tests.sso.test_saml_login import Org, new_org, response_for, start


async def saml_login(
    server: Server, browser: httpx.AsyncClient, org: Org, email: str, **spec: Any
) -> dict[str, Any]:
    """An SP-initiated SAML login through to the token endpoint; the token response."""
    request_id, relay, verifier = await start(browser, org, email)
    saml = response_for(org, email, request_id, **spec)
    r = await browser.post(
        urlsplit(org.connection["acs_url"]).path, data={"SAMLResponse": saml, "RelayState": relay}
    )
    assert r.status_code == 303 and r.headers["location"].startswith(REDIRECT), r.text
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    tokens = await token_request(
        browser,
        org.app,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    body: dict[str, Any] = tokens.json()
    return body


async def sid_of(server: Server, tokens: dict[str, Any]) -> str:
    _, claims = await decode(server, tokens["id_token"])
    return str(claims["sid"])


def redis_prefix(server: Server) -> str:
    return server.backend.env["PROPYLON_REDIS_PREFIX"]


async def refresh(c: httpx.AsyncClient, org: Org, tokens: dict[str, Any]) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    return await token_request(c, org.app, data)


async def introspect(c: httpx.AsyncClient, org: Org, token: str) -> bool:
    r = await c.post("/oauth2/introspect", data={"token": token}, auth=basic(org.app))
    return bool(r.json()["active"])


async def signed_in(server: Server, org: Org, handle: str) -> bool:
    """Whether the authorization endpoint still finds the session of a cookie handle (sent
    even after the browser would have dropped the cookie)."""
    params = {
        "response_type": "code",
        "client_id": org.app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    cookies = {COOKIE_NAME: handle}
    async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=30) as browser:
        r = await browser.get("/oauth2/authorize", params=params)
    return r.status_code == 302 and "code=" in r.headers["location"]


async def test_session_lives_in_the_modes_store_capped_by_session_not_on_or_after(
    server: Server,
) -> None:
    org = await new_org(server)
    email = f"where@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    before = dt.datetime.now(dt.UTC)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await saml_login(
            server, browser, org, email, session_lifetime=dt.timedelta(minutes=2)
        )
        handle = browser.cookies[COOKIE_NAME]
    sid = await sid_of(server, tokens)
    assert sid == hashlib.sha256(handle.encode()).hexdigest()
    cap = before + dt.timedelta(minutes=2)  # the IdP's SessionNotOnOrAfter (ms precision)
    async with server.rt.db.read() as s:
        record = await server.rt.sessions.get(s, sid)
        rows = await s.scalar(select(func.count()).select_from(LoginSession))
        row = await s.get(LoginSession, sid)
        assert record is not None and record.ended_at is None
        assert record.connection_id == org.connection["connection_id"] and record.name_id == email
        assert before < record.expires_at <= cap + dt.timedelta(seconds=1)
        assert record.expires_at - record.created_at < dt.timedelta(minutes=2, seconds=1)
        # active until SessionNotOnOrAfter, not a moment later
        assert await server.rt.sessions.load(s, sid, record.expires_at - dt.timedelta(seconds=1))
        assert await server.rt.sessions.load(s, sid, record.expires_at) is None
    if server.name == "sqlite":
        assert server.rt.sessions.backend == "database"
        assert row is not None and row.user_id == record.user_id
        return
    assert server.rt.sessions.backend == "redis"
    assert rows == 0  # production mode writes no session rows at all
    prefix = redis_prefix(server)
    async with Redis.from_url(REDIS_URL, decode_responses=True) as r:
        key = f"{prefix}session:{sid}"
        assert await r.exists(key) == 1
        assert (await r.hgetall(key))["user_id"] == record.user_id
        remaining = record.expires_at - dt.datetime.now(dt.UTC)
        ttl_ms = await r.pttl(key)  # Redis drops the key by SessionNotOnOrAfter (ms slack)
        assert 0 < ttl_ms <= remaining / dt.timedelta(milliseconds=1) + 5
        # the SLO index of (connection, NameID) holds the session and lives at least as long
        name_id = hashlib.sha256(email.encode()).hexdigest()
        index = f"{prefix}session-slo:{org.connection['connection_id']}:{name_id}"
        assert await r.sismember(index, sid)
        assert await r.pttl(index) >= ttl_ms - 1000
        assert not [k async for k in r.scan_iter(f"session:{sid}")]  # nothing outside the prefix


async def test_session_ends_at_session_not_on_or_after(server: Server) -> None:
    org = await new_org(server)
    email = f"short@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await saml_login(
            server, browser, org, email, session_lifetime=dt.timedelta(seconds=3)
        )
        handle = browser.cookies[COOKIE_NAME]
        assert await signed_in(server, org, handle)
        r = await refresh(browser, org, tokens)
        assert r.status_code == 200, r.text
        tokens = r.json()
        sid = await sid_of(server, tokens)
        async with server.rt.db.read() as s:
            record = await server.rt.sessions.get(s, sid)
        assert record is not None
        wait = (record.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
        assert 0 < wait <= 3
        await asyncio.sleep(wait + 0.1)
        if server.name == "postgres":
            async with Redis.from_url(REDIS_URL) as r:
                assert await r.exists(f"{redis_prefix(server)}session:{sid}") == 0
        assert not await signed_in(server, org, handle)
        r = await refresh(browser, org, tokens)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        assert not await introspect(browser, org, tokens["access_token"])


async def test_scim_deactivation_ends_access_at_once(server: Server) -> None:
    org = await new_org(server)
    email = f"leaver@{org.domain}"
    uid = (await org.scim.post("/Users", json=user_body(email))).json()["id"]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await saml_login(server, browser, org, email)
        handle = browser.cookies[COOKIE_NAME]
        assert await signed_in(server, org, handle)
        r = await org.scim.patch(
            f"/Users/{uid}",
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            },
        )
        assert r.status_code == 200, r.text
        assert not await signed_in(server, org, handle)
        r = await refresh(browser, org, tokens)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        assert not await introspect(browser, org, tokens["access_token"])
        ui = await browser.get(
            "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert ui.status_code == 401


async def test_rp_logout_ends_the_session_and_its_refresh_tokens(server: Server) -> None:
    org = await new_org(server)
    email = f"bye@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await saml_login(server, browser, org, email)
        sid = await sid_of(server, tokens)
        r = await browser.get("/oauth2/logout", params={"id_token_hint": tokens["id_token"]})
        assert r.status_code == 200 and "Signed out" in r.text
        r = await refresh(browser, org, tokens)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        assert not await introspect(browser, org, tokens["refresh_token"])
    async with server.rt.db.read() as s:
        record = await server.rt.sessions.get(s, sid)
    assert record is not None and record.ended_at is not None


async def test_a_rolled_back_sign_in_leaves_no_session(server: Server) -> None:
    org = await new_org(server)
    email = f"rollback@{org.domain}"
    uid = (await org.scim.post("/Users", json=user_body(email))).json()["id"]
    rt = server.rt
    now = rt.clock()
    tenant_id = org.connection["tenant_id"]
    draft = SessionDraft(tenant_id, uid, "saml", org.connection["connection_id"], email, "i1")
    with pytest.raises(RuntimeError):
        async with rt.db.write() as s:
            pending = await rt.sessions.stage(s, draft, now)
            raise RuntimeError("the sign-in's transaction fails after staging")
    async with rt.db.read() as s:
        assert await rt.sessions.get(s, pending.id) is None
        assert await rt.sessions.load(s, pending.id, now) is None
    async with rt.db.write() as s:
        # an IdP LogoutRequest for the NameID finds nothing either
        assert await rt.sessions.end_for(s, org.connection["connection_id"], email, None, now) == []
    # staged and committed but never published: usable only in the database store
    async with rt.db.write() as s:
        unpublished = await rt.sessions.stage(s, draft, now)
    async with rt.db.read() as s:
        found = await rt.sessions.load(s, unpublished.id, now)
    assert (found is not None) == (rt.sessions.backend == "database")
    issued = await rt.sessions.publish(unpublished, now)
    assert issued.id == unpublished.id and issued.handle == unpublished.handle
    async with rt.db.read() as s:
        assert await rt.sessions.load(s, issued.id, now) is not None
