"""RP-initiated logout is not forgeable (OpenID Connect RP-Initiated Logout 1.0 §2, §3): without
an id_token_hint for the browser's own session the person is asked to confirm, and only the
confirmation page's POST, which carries a token bound to the session cookie, ends the session.
Both backends."""

from __future__ import annotations

import html
import re

import httpx

from tests.conftest import Server
from tests.provider.helpers import (
    LOGOUT,
    App,
    Person,
    basic,
    browser,
    code_flow,
    new_app,
    new_person,
)

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


def hidden_fields(page: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(page)}


async def alive(server: Server, app: App, token: str) -> bool:
    async with httpx.AsyncClient(base_url=server.url) as c:
        r = await c.post("/oauth2/introspect", data={"token": token}, auth=basic(app))
    return bool(r.json()["active"])


async def test_logout_without_a_hint_for_the_session_asks_and_only_the_confirmation_ends_it(
    server: Server,
) -> None:
    app = await new_app(server)
    person, other = await new_person(server), await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    others, _ = await code_flow(server, app, other)
    ask = {"client_id": app.client_id, "post_logout_redirect_uri": LOGOUT, "state": "bye"}
    async with browser(server, person) as b:
        # a link without a hint, or with a valid hint for another session: a question only
        for params in (ask, {**ask, "id_token_hint": others["id_token"]}):
            r = await b.get("/oauth2/logout", params=params)
            assert r.status_code == 200 and "Sign out?" in r.text, r.text
            assert 'method="post"' in r.text and "set-cookie" not in r.headers
        fields = hidden_fields(r.text)
        assert fields["post_logout_redirect_uri"] == LOGOUT and fields["state"] == "bye"
        assert fields["confirm"] and fields["client_id"] == app.client_id
        assert await alive(server, app, tokens["access_token"])
        # a forged POST: everything but the page's token, or a wrong one
        forged = {k: v for k, v in fields.items() if k != "confirm"}
        for data in (forged, {**forged, "confirm": "x" * len(fields["confirm"])}):
            r = await b.post("/oauth2/logout", data=data)
            assert r.status_code == 200 and "Sign out?" in r.text
        # another site's POST carries no session cookie (SameSite=Lax) and ends nothing
        async with httpx.AsyncClient(base_url=server.url) as stranger:
            r = await stranger.post("/oauth2/logout", data=fields)
            assert r.status_code == 303 and "location" in r.headers
        assert await alive(server, app, tokens["access_token"])
        # the person confirms: the session ends and the app's registered URI follows
        r = await b.post("/oauth2/logout", data=fields)
        assert r.status_code == 303 and r.headers["location"] == LOGOUT + "?state=bye"
        assert 'propylon_session=""' in r.headers["set-cookie"]
    assert not await alive(server, app, tokens["access_token"])
    assert await alive(server, app, others["access_token"])


async def test_a_hint_for_the_session_ends_it_at_once(server: Server) -> None:
    app = await new_app(server)
    person: Person = await new_person(server)
    tokens, _ = await code_flow(server, app, person)
    async with browser(server, person) as b:
        r = await b.get("/oauth2/logout", params={"id_token_hint": tokens["id_token"]})
        assert r.status_code == 200 and "Signed out" in r.text
    assert not await alive(server, app, tokens["access_token"])
