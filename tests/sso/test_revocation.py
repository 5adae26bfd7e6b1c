"""Revocation lasts: deactivating or deprovisioning a user over SCIM ends their sessions and
every token naming them for good, on both backends. A reactivated user signs in afresh at
the IdP; nothing issued before the deactivation works again."""

from __future__ import annotations

from typing import Any

import httpx

from propylon.sessions import COOKIE_NAME, session_id_for
from tests.conftest import Server
from tests.http.test_scim_users import PATCH, user_body
from tests.provider.helpers import REDIRECT, pkce
from tests.sso.test_saml_login import SSO, Org, new_org
from tests.sso.test_session_store import introspect, refresh, saml_login, signed_in


def set_active(value: bool) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": value}]}


async def authorize_with_cookie(server: Server, org: Org, handle: str, email: str) -> str:
    """Where an authorization request with the old session cookie goes: the app's redirect
    URI with a code (signed in) or the IdP (a new sign-in)."""
    _, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": org.app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": email,
    }
    cookies = {COOKIE_NAME: handle}
    async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=30) as browser:
        r = await browser.get("/oauth2/authorize", params=params)
    assert r.status_code == 302, r.text
    return r.headers["location"]


async def assert_all_refused(
    server: Server, org: Org, tokens: dict[str, Any], handle: str, email: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as c:
        ui = await c.get(
            "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert ui.status_code == 401, ui.text
        assert not await introspect(c, org, tokens["access_token"])
        assert not await introspect(c, org, tokens["refresh_token"])
        r = await refresh(c, org, tokens)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    assert not await signed_in(server, org, handle)
    assert (await authorize_with_cookie(server, org, handle, email)).startswith(SSO)


async def signed_in_person(server: Server, org: Org, email: str) -> tuple[str, Any, str]:
    """A user provisioned over SCIM and signed in through the IdP: id, tokens, cookie handle."""
    uid = (await org.scim.post("/Users", json=user_body(email))).json()["id"]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await saml_login(server, browser, org, email)
        handle = browser.cookies[COOKIE_NAME]
    assert await signed_in(server, org, handle)
    return uid, tokens, handle


async def test_reactivation_does_not_bring_back_sessions_or_tokens(server: Server) -> None:
    org = await new_org(server)
    email = f"back@{org.domain}"
    uid, tokens, handle = await signed_in_person(server, org, email)
    for value in (False, True):
        r = await org.scim.patch(f"/Users/{uid}", json=set_active(value))
        assert r.status_code == 200 and r.json()["active"] is value, r.text
    await assert_all_refused(server, org, tokens, handle, email)
    if server.rt.sessions.backend == "database":  # its rows are ended in the same transaction
        async with server.rt.db.read() as s:
            record = await server.rt.sessions.get(s, session_id_for(handle))
        assert record is not None and record.ended_at is not None
    # the reactivated user signs in afresh at the IdP, and that new sign-in works
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        fresh = await saml_login(server, browser, org, email)
        handle = browser.cookies[COOKIE_NAME]
        assert await signed_in(server, org, handle)
        assert await introspect(browser, org, fresh["access_token"])
        r = await refresh(browser, org, fresh)
        assert r.status_code == 200, r.text
    # deactivated and reactivated once more: the new sign-in ends for good as well
    for value in (False, True):
        assert (await org.scim.patch(f"/Users/{uid}", json=set_active(value))).status_code == 200
    await assert_all_refused(server, org, r.json(), handle, email)


async def test_deprovisioning_ends_sign_ins_and_a_reprovisioned_user_starts_afresh(
    server: Server,
) -> None:
    org = await new_org(server)
    email = f"deleted@{org.domain}"
    uid, tokens, handle = await signed_in_person(server, org, email)
    assert (await org.scim.delete(f"/Users/{uid}")).status_code == 204
    again = await org.scim.post("/Users", json=user_body(email))  # the same person, back
    assert again.status_code == 201 and again.json()["id"] != uid
    await assert_all_refused(server, org, tokens, handle, email)
