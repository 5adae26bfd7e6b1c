"""OpenID Connect Back-Channel Logout 1.0 as the OpenID Provider, end to end: a session
ends (its event numbered by the feed), every app it reached that registered a
``backchannel_logout_uri`` receives a logout token (§2.4, §2.5) that verifies with the
served JWK Set; retried after a failure with a fresh token; each session told once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from propylon.admin import apps
from propylon.admin.audited import CLI
from propylon.db.tables_signals import SessionGrant
from tests.conftest import Server
from tests.provider.helpers import REDIRECT, App, code_flow, jwks, new_person
from tests.signals.helpers import Receiver, emit, logout_token_of, receiver, verified, when

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture(scope="module")
def rx() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


async def app_with_logout(server: Server, uri: str | None) -> App:
    out = await apps.create_app(
        server.rt,
        CLI,
        name="rp",
        redirect_uris=[REDIRECT],
        backchannel_logout_uri=uri,
        backchannel_logout_session_required=True,
    )
    return App(out["client_id"], out["client_secret"])


async def test_a_revoked_session_sends_a_verifiable_logout_token_to_each_app_it_reached(
    server: Server, rx: Receiver
) -> None:
    url_a, url_b = rx.url("bcl"), rx.url("bcl")
    a, b = await app_with_logout(server, url_a), await app_with_logout(server, url_b)
    silent = await app_with_logout(server, None)
    person = await new_person(server)
    for app in (a, b, silent):
        await code_flow(server, app, person)
    session = {"id": person.session_id, "user_id": person.user_id, "tenant_id": person.tenant_id}
    await emit(
        server,
        person.tenant_id,
        "session.revoked",
        ("session", person.session_id),
        {"session": session, "reason": "admin"},
    )
    keys = await jwks(server)
    for app, url in ((a, url_a), (b, url_b)):
        (request,) = await rx.wait(url)
        header, claims = verified(logout_token_of(request), keys)
        assert header["typ"] == "logout+jwt"
        assert claims["iss"] == server.url
        assert claims["aud"] == app.client_id
        assert claims["sub"] == person.user_id
        assert claims["sid"] == person.session_id
        assert claims["events"] == {EVENT: {}}
        assert "nonce" not in claims
        assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
        assert 0 < claims["exp"] - claims["iat"] <= 120
    async with server.rt.db.read() as s:
        rows = list(
            await s.scalars(
                select(SessionGrant).where(SessionGrant.session_id == person.session_id)
            )
        )
    told = {r.client_id for r in rows if r.logout_sent_at is not None}
    assert told == {a.client_id, b.client_id}  # the app without a URI is never told


async def test_user_sessions_revoked_reaches_sessions_created_before_the_cutoff_once(
    server: Server, rx: Receiver
) -> None:
    url = rx.url("bcl")
    app = await app_with_logout(server, url)
    person = await new_person(server)
    await code_flow(server, app, person)
    before = server.rt.clock() + timedelta(seconds=1)
    data = {
        "user_id": person.user_id,
        "tenant_id": person.tenant_id,
        "before": when(before),
        "epoch": 1,
        "reason": "deactivated",
    }
    await emit(server, person.tenant_id, "user.sessions_revoked", ("user", person.user_id), data)
    (request,) = await rx.wait(url)
    _, claims = verified(logout_token_of(request), await jwks(server))
    assert (claims["sid"], claims["sub"]) == (person.session_id, person.user_id)
    # the same session ending again (and a marker after it): the app is not told twice
    session = {"id": person.session_id, "user_id": person.user_id, "tenant_id": person.tenant_id}
    await emit(
        server,
        person.tenant_id,
        "session.revoked",
        ("session", person.session_id),
        {"session": session, "reason": "logout"},
    )
    marker_url = rx.url("bcl")
    marker_app = await app_with_logout(server, marker_url)
    other = await new_person(server)
    await code_flow(server, marker_app, other)
    other_session = {"id": other.session_id, "user_id": other.user_id, "tenant_id": other.tenant_id}
    await emit(
        server,
        other.tenant_id,
        "session.revoked",
        ("session", other.session_id),
        {"session": other_session, "reason": "logout"},
    )
    await rx.wait(marker_url)
    assert len(rx.at(url)) == 1


async def test_a_failed_logout_delivery_is_retried_with_a_fresh_token(
    server: Server, rx: Receiver
) -> None:
    url = rx.url("bcl")
    rx.failing(url, 1)
    app = await app_with_logout(server, url)
    person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    grant = {
        "grant_id": "",
        "client_id": app.client_id,
        "user_id": person.user_id,
        "tenant_id": person.tenant_id,
        "sid": person.session_id,
        "reason": "revoked",
    }
    async with server.rt.db.read() as s:
        row = await s.scalar(
            select(SessionGrant).where(SessionGrant.session_id == person.session_id)
        )
    assert row is not None and tokens["refresh_token"]
    grant["grant_id"] = row.grant_id
    await emit(server, person.tenant_id, "grant.revoked", ("grant", row.grant_id), grant)
    first, second = await rx.wait(url, 2, timeout=40)
    keys = await jwks(server)
    _, one = verified(logout_token_of(first), keys)
    _, two = verified(logout_token_of(second), keys)
    assert one["jti"] != two["jti"]
    assert (two["aud"], two["sid"]) == (app.client_id, person.session_id)


async def test_paths_that_end_sessions_reach_the_apps(server: Server, rx: Receiver) -> None:
    """Real session-ending paths: an admin's revoke of one session (``session.revoked``), a
    SCIM deactivation (``user.sessions_revoked``), an app revoking its refresh token
    (RFC 7009, ``grant.revoked``)."""
    keys = await jwks(server)
    admin_url, scim_url, rfc7009_url = rx.url("bcl"), rx.url("bcl"), rx.url("bcl")
    admin_app = await app_with_logout(server, admin_url)
    first = await new_person(server)
    await code_flow(server, admin_app, first)
    async with server.api() as api:
        r = await api.delete(f"/api/v1/sessions/{first.session_id}")
        assert r.status_code == 200, r.text
    (request,) = await rx.wait(admin_url)
    _, claims = verified(logout_token_of(request), keys)
    assert (claims["sid"], claims["aud"]) == (first.session_id, admin_app.client_id)

    scim_app = await app_with_logout(server, scim_url)
    second = await new_person(server)
    await code_flow(server, scim_app, second)
    headers = {"Authorization": f"Bearer {second.scim_token}"}
    async with httpx.AsyncClient(base_url=second.directory_base, headers=headers) as scim:
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        }
        r = await scim.patch(f"/Users/{second.user_id}", json=patch)
        assert r.status_code == 200, r.text
    (request,) = await rx.wait(scim_url)
    _, claims = verified(logout_token_of(request), keys)
    assert (claims["sid"], claims["sub"]) == (second.session_id, second.user_id)

    rfc7009_app = await app_with_logout(server, rfc7009_url)
    third = await new_person(server)
    tokens, _ = await code_flow(server, rfc7009_app, third)
    async with httpx.AsyncClient(base_url=server.url) as c:
        r = await token_revoke(c, rfc7009_app, tokens["refresh_token"])
        assert r.status_code == 200, r.text
    (request,) = await rx.wait(rfc7009_url)
    _, claims = verified(logout_token_of(request), keys)
    assert (claims["sid"], claims["aud"]) == (third.session_id, rfc7009_app.client_id)


async def token_revoke(c: httpx.AsyncClient, app: App, token: str) -> httpx.Response:
    assert app.client_secret
    auth = httpx.BasicAuth(app.client_id, app.client_secret)
    data = {"token": token, "token_type_hint": "refresh_token"}
    return await c.post("/oauth2/revoke", data=data, auth=auth)
