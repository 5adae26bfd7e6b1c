"""Odd requests never produce a 500; sessions end by SAML NameID/SessionIndex."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.audit.log import list_entries
from propylon.sessions import SessionDraft, create_session, load_active
from tests.conftest import Server
from tests.provider.helpers import (
    REDIRECT,
    auth_params,
    basic,
    browser,
    code_flow,
    new_app,
    new_person,
    pkce,
)


async def test_odd_requests_never_500(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    _, challenge = pkce()
    good = auth_params(app, code_challenge=challenge, code_challenge_method="S256")
    async with browser(server, person) as b:
        for extra in (
            {"prompt": "login"},
            {"prompt": "consent"},
            {"prompt": "select_account"},
            {"max_age": "0"},
            {"max_age": "abc"},
            {"scope": ""},
            {"scope": "email"},
            {"response_mode": "fragment"},
            {"code_challenge": "short"},
            {"request": "eyJ.x.y"},
            {"nonce": "n" * 5000},
            {"state": ""},
        ):
            r = await b.get("/oauth2/authorize", params={**good, **extra})
            assert r.status_code < 500, (extra, r.status_code, r.text)
            if r.status_code == 302:
                assert r.headers["location"].startswith(REDIRECT)
        r = await b.post("/oauth2/authorize", data=good)
        assert r.status_code == 302
        r = await b.get("/oauth2/authorize", params=[*good.items(), ("state", "again")])
        assert r.status_code < 500
        for path in ("/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"):
            for kwargs in (
                {},
                {"json": {"token": "x"}},
                {"data": {"token": ""}},
                {
                    "content": b"a" * 70_000,
                    "headers": {"content-type": "application/x-www-form-urlencoded"},
                },
            ):
                r = await b.post(path, auth=basic(app), **kwargs)  # type: ignore[arg-type]
                assert r.status_code < 500, (path, kwargs.keys(), r.text)
                assert "error" in r.json() or "active" in r.json() or r.json() == {}
        for params in ({"id_token_hint": "garbage"}, {"post_logout_redirect_uri": REDIRECT}, {}):
            r = await b.get("/oauth2/logout", params=params)
            assert r.status_code < 500 and "location" not in r.headers
    async with httpx.AsyncClient(base_url=server.url) as c:
        r = await c.get("/oauth2/userinfo", headers={"Authorization": "Bearer a.b.c"})
        assert r.status_code == 401


async def test_end_sessions_for_name_id_and_session_index(server: Server) -> None:
    person = await new_person(server)
    rt = server.rt
    store = rt.sessions
    now = rt.clock()
    base = SessionDraft(person.tenant_id, person.user_id, "saml", "conn_test", person.email)
    second = dataclasses.replace(base, session_index="idx-2")
    other = await create_session(store, rt.db, second, now)
    cap = now + timedelta(minutes=5)
    capped = await create_session(
        store, rt.db, dataclasses.replace(base, connection_id="conn_x", not_on_or_after=cap), now
    )
    assert capped.expires_at == now + timedelta(minutes=5)
    async with rt.db.write() as s:
        [ended] = await store.end_for(s, "conn_test", person.email, "idx-1", now)
        assert ended.id == person.session_id
    async with rt.db.read() as s:
        assert await load_active(store, s, person.handle, now) is None
        assert await load_active(store, s, other.handle, now) is not None
    async with rt.db.write() as s:
        assert [r.id for r in await store.end_for(s, "conn_test", person.email, None, now)] == [
            other.id
        ]
        assert await store.end_for(s, "conn_test", person.email, None, now) == []
    async with rt.db.read() as s:
        assert await load_active(store, s, other.handle, now) is None
        assert await load_active(store, s, capped.handle, now) is not None


async def test_purge_removes_expired_codes_refresh_tokens_and_sessions(server: Server) -> None:
    """``propylon purge`` (dry run counts, real run deletes) drops sign-in state that expired;
    afterwards the refresh token is refused."""
    app, person = await new_app(server), await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    later = server.rt.clock() + timedelta(days=400)  # past every code, refresh and session
    original = server.rt.clock
    server.rt.clock = lambda: later
    try:
        dry = await ops.purge_expired_sign_in_state(server.rt, CLI, dry_run=True)
        assert dry["oauth_codes"] >= 1 and dry["oauth_refresh_tokens"] >= 1
        done = await ops.purge_expired_sign_in_state(server.rt, CLI, dry_run=False)
        assert done == dry
        again = await ops.purge_expired_sign_in_state(server.rt, CLI, dry_run=True)
        assert set(again.values()) == {0}
    finally:
        server.rt.clock = original
    async with browser(server, None) as b:
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        assert (await b.post("/oauth2/token", data=refresh, auth=basic(app))).status_code == 400
    async with server.rt.db.read() as s:
        audited = await list_entries(s, tenant_id=None, limit=5, action="retention.purge_expired")
    assert audited and audited[0].outcome == "success"
