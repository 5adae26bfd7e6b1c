"""Attacks on the authorization and token endpoints (RFC 6749 §10, RFC 9700 §4)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from propylon.admin import apps
from propylon.admin.audited import CLI
from tests.conftest import Server
from tests.provider.helpers import (
    REDIRECT,
    App,
    auth_params,
    authorize,
    basic,
    browser,
    new_app,
    new_person,
    pkce,
    token_request,
)

BAD_REDIRECTS = [
    "https://rp.example.com/callbac",  # prefix
    "https://rp.example.com/callback2",  # suffix
    "https://rp.example.com/callback/",  # trailing slash
    "https://rp.example.com/callback/extra",  # extra path
    "https://RP.example.com/callback",  # case of host
    "https://rp.example.com/Callback",  # case of path
    "https://rp.example.com/callback?x=1",  # query
    "https://rp.example.com/callback#frag",
    "http://rp.example.com/callback",  # scheme
    "https://rp.example.com.evil.com/callback",
    "https://evil.example/callback",
]


@pytest.mark.parametrize("bad", BAD_REDIRECTS)
async def test_redirect_uri_mismatch_shows_error_page(server: Server, bad: str) -> None:
    app = await new_app(server, public=True)
    person = await new_person(server)
    _, challenge = pkce()
    params = auth_params(
        app, redirect_uri=bad, code_challenge=challenge, code_challenge_method="S256"
    )
    async with browser(server, person) as b:
        r = await b.get("/oauth2/authorize", params=params)
    assert r.status_code == 400 and "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")


async def test_unknown_client_and_missing_redirect_show_error_page(server: Server) -> None:
    app = await new_app(server)
    async with browser(server, None) as b:
        r = await b.get("/oauth2/authorize", params={**auth_params(app), "client_id": "nope"})
        assert r.status_code == 400 and "location" not in r.headers
        params = auth_params(app)
        del params["redirect_uri"]
        r = await b.get("/oauth2/authorize", params=params)
        assert r.status_code == 400 and "location" not in r.headers


async def test_errors_redirect_with_state_once_redirect_uri_is_valid(server: Server) -> None:
    app = await new_app(server, public=True)
    person = await new_person(server)
    async with browser(server, person) as b:
        # public client without PKCE
        params = auth_params(app)
        q = await authorize(b, params)
        assert q["error"] == "invalid_request" and q["state"] == params["state"]
        # plain PKCE refused, and an omitted method (plain by default) too
        verifier = "a" * 50
        for extra in ({"code_challenge_method": "plain"}, {}):
            params = auth_params(app, code_challenge=verifier, **extra)
            q = await authorize(b, params)
            assert q["error"] == "invalid_request" and q["state"] == params["state"]
        # response types other than code
        _, challenge = pkce()
        params = auth_params(
            app, response_type="token", code_challenge=challenge, code_challenge_method="S256"
        )
        q = await authorize(b, params)
        assert q["error"] == "unsupported_response_type" and q["state"] == params["state"]


async def test_no_session_routes_to_sign_in(server: Server) -> None:
    app = await new_app(server)
    person = await new_person(server)
    async with browser(server, None) as b:
        r = await b.get("/oauth2/authorize", params=auth_params(app))
        assert r.status_code == 200 and "work email" in r.text and 'name="login_hint"' in r.text
        r = await b.get(
            "/oauth2/authorize", params=auth_params(app, login_hint="x@nobody-uses-this.test")
        )
        assert "No organisation uses the domain nobody-uses-this.test" in r.text
        r = await b.get(
            "/oauth2/authorize", params=auth_params(app, organization=person.tenant_slug)
        )
        # no SSO connection: the methods the tenant allows
        assert 'action="/password/sign-in"' in r.text
        q = await authorize(b, auth_params(app, prompt="none"))
        assert q["error"] == "login_required"


async def _code(server: Server, public: bool) -> tuple[App, str, str]:
    app = await new_app(server, public=public)
    person = await new_person(server)
    verifier, challenge = pkce()
    async with browser(server, person) as b:
        q = await authorize(
            b, auth_params(app, code_challenge=challenge, code_challenge_method="S256")
        )
    return app, q["code"], verifier


async def test_wrong_or_missing_verifier(server: Server) -> None:
    app, code, _ = await _code(server, public=True)
    async with httpx.AsyncClient(base_url=server.url) as c:
        base = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        r = await token_request(c, app, base)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request"
        r = await token_request(c, app, {**base, "code_verifier": "b" * 50})
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_code_reuse_revokes_tokens_issued_from_it(server: Server) -> None:
    app, code, verifier = await _code(server, public=False)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    async with httpx.AsyncClient(base_url=server.url) as c:
        first = await token_request(c, app, data)
        assert first.status_code == 200, first.text
        again = await token_request(c, app, data)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        for tok in (first.json()["access_token"], first.json()["refresh_token"]):
            intro = await c.post("/oauth2/introspect", data={"token": tok}, auth=basic(app))
            assert intro.json() == {"active": False}


async def test_code_of_one_client_redeemed_by_another(server: Server) -> None:
    _, code, verifier = await _code(server, public=False)
    other = await new_app(server)
    async with httpx.AsyncClient(base_url=server.url) as c:
        r = await token_request(
            c,
            other,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_token_endpoint_client_auth_and_redirect_binding(server: Server) -> None:
    app, code, verifier = await _code(server, public=False)
    async with httpx.AsyncClient(base_url=server.url) as c:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
        }
        r = await c.post("/oauth2/token", data=data, auth=httpx.BasicAuth(app.client_id, "wrong"))
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        # a confidential client may not fall back to "none"
        r = await c.post("/oauth2/token", data={**data, "client_id": app.client_id})
        assert r.json()["error"] == "invalid_client"
        r = await token_request(c, app, {**data, "redirect_uri": REDIRECT + "x"})
        assert r.json()["error"] == "invalid_grant"
        r = await c.post("/oauth2/token", data={"grant_type": "password"}, auth=basic(app))
        assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
        r = await c.post(
            "/oauth2/token",
            content=b"\xff\xfe",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code in (400, 401) and "error" in r.json()


async def test_revoked_app_can_neither_authorize_nor_redeem(server: Server) -> None:
    """Revoked by another process (``propylon app revoke``): the server refuses the app at
    once, though it has just served it (in production mode it keeps a copy of the app,
    dropped through the accelerator's fan-out)."""
    app, code, verifier = await _code(server, public=False)
    person = await new_person(server)
    await apps.revoke_app(server.rt, CLI, app.client_id)
    await asyncio.sleep(0.2)  # the fan-out's delivery; far below the copies' 30 s lifetime
    async with browser(server, person) as b:
        r = await b.get("/oauth2/authorize", params=auth_params(app))
        assert r.status_code == 400 and "location" not in r.headers
    async with httpx.AsyncClient(base_url=server.url) as c:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
        r = await token_request(c, app, data)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
