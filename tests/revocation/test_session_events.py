"""Every way a session ends writes its event in the same transaction, and the session and its
token families are dead: RP-initiated logout (``session.revoked``, reason ``logout``), an
administrator's revoke through the management API and the CLI (``session.revoked`` and
``user.sessions_revoked``, reason ``admin``), SCIM deactivation and deletion
(``user.sessions_revoked``, ``deactivated`` and ``deleted``); both backends."""

from __future__ import annotations

import dataclasses

import httpx

from propylon.sessions import SessionDraft, create_session
from tests.conftest import Server
from tests.http.test_scim_users import PATCH
from tests.provider.helpers import (
    LOGOUT,
    App,
    Person,
    basic,
    browser,
    code_flow,
    decode,
    new_app,
    new_person,
    token_request,
)
from tests.revocation.helpers import events, management, token_revoked


async def _dead(server: Server, app: App, tokens: dict[str, str]) -> bool:
    """Neither token is active, and the refresh token is refused."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        for token in (tokens["access_token"], tokens["refresh_token"]):
            r = await c.post("/oauth2/introspect", data={"token": token}, auth=basic(app))
            if r.json()["active"]:
                return False
        data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        r = await token_request(c, app, data)
        return r.status_code == 400 and r.json()["error"] == "invalid_grant"


def _session(person: Person, method: str = "saml") -> dict[str, object]:
    return {
        "id": person.session_id,
        "user_id": person.user_id,
        "tenant_id": person.tenant_id,
        "auth_method": method,
        "connection_id": "conn_test",
    }


async def test_rp_initiated_logout_writes_session_revoked_and_revokes_the_families(
    server: Server,
) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with browser(server, person) as b:
        params = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGOUT}
        r = await b.get("/oauth2/logout", params=params)
        assert r.status_code == 302, r.text
    [event] = await events(server, person.tenant_id, "session.revoked")
    assert event["subject"] == ("session", person.session_id)
    assert event["data"] == {"session": _session(person), "reason": "logout"}
    assert await token_revoked(server, tokens["refresh_token"])
    assert await _dead(server, app, tokens)


async def test_an_admin_lists_and_revokes_one_session_through_the_api(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with await management(server) as api:
        r = await api.get("/sessions", params={"user": person.user_id})
        assert r.status_code == 200, r.text
        [listed] = r.json()["data"]
        assert listed["id"] == person.session_id and listed["active"] is True
        assert listed["auth_method"] == "saml" and listed["tenant_id"] == person.tenant_id
        r = await api.delete(f"/sessions/{person.session_id}")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "session_id": person.session_id,
            "user_id": person.user_id,
            "revoked": True,
        }
        # once: a second revoke ends nothing and writes nothing
        r = await api.delete(f"/sessions/{person.session_id}")
        assert r.status_code == 200 and r.json()["revoked"] is False
        r = await api.get(f"/sessions/{person.session_id}")
        assert r.status_code == 200 and r.json()["active"] is False
        assert r.json()["ended_at"] is not None
        r = await api.get("/sessions", params={"user": person.user_id})
        assert r.json()["data"] == []
        for path in ("/sessions/" + "0" * 64, "/sessions/not-a-sid", "/sessions/" + "a" * 300):
            assert (await api.get(path)).status_code == 404
            assert (await api.delete(path)).status_code == 404
        assert (await api.get("/sessions/%00")).status_code == 400  # no NUL reaches a query
        r = await api.get("/sessions", params={"user": "usr_unknown"})
        assert r.status_code == 404
    [event] = await events(server, person.tenant_id, "session.revoked")
    assert event["data"] == {"session": _session(person), "reason": "admin"}
    assert await token_revoked(server, tokens["refresh_token"])
    assert await _dead(server, app, tokens)


async def test_an_admin_revokes_every_session_of_a_user_for_good(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    rt, now = server.rt, server.rt.clock()
    draft = SessionDraft(person.tenant_id, person.user_id, "password", None, None, None)
    second = await create_session(rt.sessions, rt.db, draft, now)
    async with await management(server) as api:
        r = await api.get("/sessions", params={"user": person.user_id})
        assert {s["id"] for s in r.json()["data"]} == {person.session_id, second.id}
        r = await api.post(f"/users/{person.user_id}/revoke-sessions")
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["epoch"] == 1 and out["sessions_ended"] == 2
        assert (await api.get("/sessions", params={"user": person.user_id})).json()["data"] == []
        assert (await api.post("/users/nobody/revoke-sessions")).status_code == 404
    [event] = await events(server, person.tenant_id, "user.sessions_revoked")
    assert event["subject"] == ("user", person.user_id)
    assert event["data"] == {
        "user_id": person.user_id,
        "tenant_id": person.tenant_id,
        "before": out["before"],
        "epoch": 1,
        "reason": "admin",
    }
    assert await token_revoked(server, tokens["refresh_token"])
    assert await _dead(server, app, tokens)
    # the user signs in afresh: a session of the new epoch lives
    fresh = dataclasses.replace(draft, user_epoch=1)
    again = await create_session(rt.sessions, rt.db, fresh, rt.clock())
    async with rt.db.read() as s:
        assert await rt.sessions.load(s, again.id, rt.clock()) is not None


async def test_scim_deactivation_and_deletion_write_user_sessions_revoked(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    headers = {"Authorization": f"Bearer {person.scim_token}"}
    async with httpx.AsyncClient(base_url=person.directory_base, headers=headers) as scim:
        for active in (False, True):
            op = {"op": "replace", "path": "active", "value": active}
            body = {"schemas": [PATCH], "Operations": [op]}
            r = await scim.patch(f"/Users/{person.user_id}", json=body)
            assert r.status_code == 200, r.text
        assert await _dead(server, app, tokens)
        assert (await scim.delete(f"/Users/{person.user_id}")).status_code == 204
    rows = await events(server, person.tenant_id)
    revoked = [e for e in rows if e["type"] == "user.sessions_revoked"]
    assert [(e["data"]["reason"], e["data"]["epoch"]) for e in revoked] == [
        ("deactivated", 1),
        ("deleted", 2),
    ]
    for e in revoked:
        assert e["subject"] == ("user", person.user_id)
        assert e["data"]["user_id"] == person.user_id
        assert e["data"]["tenant_id"] == person.tenant_id
        assert e["data"]["before"].endswith("Z")
    # in the same transaction as the change it goes with, next to it in the sequence
    types = [e["type"] for e in rows]
    at = types.index("user.deactivated")
    assert types[at - 1] == "user.sessions_revoked"
    assert types[types.index("user.deleted") - 1] == "user.sessions_revoked"


async def test_the_sessions_cli_lists_and_revokes(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    _, claims = await decode(server, tokens["id_token"])
    assert claims["sid"] == person.session_id
    [listed] = server.cli_json("sessions", "list", "--user", person.user_id)
    assert listed["id"] == person.session_id
    out = server.cli_json("sessions", "revoke", "--session", person.session_id)
    assert out["revoked"] is True
    out = server.cli_json("sessions", "revoke", "--user", person.user_id)
    assert out["epoch"] == 1 and out["user_id"] == person.user_id
    refused = server.cli("sessions", "revoke", "--json", check=False)
    assert refused.returncode == 1 and '"invalid_input"' in refused.stdout
    assert await _dead(server, app, tokens)
    rows = await events(server, person.tenant_id)
    assert [(e["type"], e["data"]["reason"]) for e in rows if "reason" in e["data"]] == [
        ("session.revoked", "admin"),
        ("user.sessions_revoked", "admin"),
    ]


async def test_deleting_a_directory_or_a_tenant_writes_user_sessions_revoked(
    server: Server,
) -> None:
    app = await new_app(server)
    first, second = await new_person(server), await new_person(server)
    tokens, _ = await code_flow(server, app, first)
    async with await management(server) as api:
        directory_id = first.directory_base.rstrip("/").rsplit("/", 1)[1]
        r = await api.delete(f"/scim-directories/{directory_id}")
        assert r.status_code == 200, r.text
        r = await api.delete(f"/tenants/{second.tenant_slug}")
        assert r.status_code == 200, r.text
    for person in (first, second):
        [event] = await events(server, person.tenant_id, "user.sessions_revoked")
        assert event["subject"] == ("user", person.user_id)
        assert event["data"]["reason"] == "deleted" and event["data"]["epoch"] == 1
    assert await _dead(server, app, tokens)


async def test_a_revoked_session_stays_dead_whatever_redis_later_holds(server: Server) -> None:
    """Production mode: a session ended one by one is also recorded in the database in the
    transaction that ends it, so Redis restored from a snapshot taken before the revoke (the
    session's hash without ``ended_at``) brings back neither the session nor its tokens."""
    if server.name != "postgres":
        return  # the embedded store's rows are the record themselves
    app = await new_app(server)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with await management(server) as api:
        assert (await api.delete(f"/sessions/{person.session_id}")).status_code == 200
    store = server.rt.sessions
    key = store.session_key(person.session_id)  # type: ignore[attr-defined]
    redis = server.rt.cache.client  # type: ignore[attr-defined]
    assert await redis.hdel(key, "ended_at") == 1  # as an older snapshot would have it
    async with server.rt.db.read() as s:
        record = await store.get(s, person.session_id)
        assert record is not None and record.ended_at is None
        assert await store.load(s, person.session_id, server.rt.clock()) is None
    assert await _dead(server, app, tokens)
