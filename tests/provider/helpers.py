"""Helpers for the OpenID Provider tests: apps, a signed-in person, the code flow."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from propylon.admin import apps
from propylon.admin.audited import CLI
from propylon.sessions import COOKIE_NAME, SessionDraft, create_session
from tests.conftest import Server, new_directory
from tests.http.test_scim_users import user_body

REDIRECT = "https://rp.example.com/callback"
LOGOUT = "https://rp.example.com/signed-out"


@dataclass
class App:
    client_id: str
    client_secret: str | None


@dataclass
class Person:
    tenant_id: str
    tenant_slug: str
    user_id: str
    email: str
    directory_base: str
    scim_token: str
    session_id: str
    handle: str


async def new_app(server: Server, *, public: bool = False) -> App:
    out = await apps.create_app(
        server.rt,
        CLI,
        name="rp",
        redirect_uris=[REDIRECT, "http://127.0.0.1:9999/cb"],
        post_logout_redirect_uris=[LOGOUT],
        public=public,
    )
    return App(out["client_id"], out["client_secret"])


async def new_person(server: Server, auth_method: str = "saml") -> Person:
    d = await new_directory(server)
    email = f"ada-{secrets.token_hex(4)}@acme.test"
    async with d.client() as scim:
        r = await scim.post("/Users", json=user_body(email))
        assert r.status_code == 201, r.text
        user_id = r.json()["id"]
    now = server.rt.clock()
    draft = SessionDraft(
        d.tenant_id, user_id, auth_method, "conn_test", email, "idx-1", now + timedelta(hours=1)
    )
    issued = await create_session(server.rt.sessions, server.rt.db, draft, now)
    return Person(
        d.tenant_id, d.tenant_slug, user_id, email, d.base_url, d.token, issued.id, issued.handle
    )


def browser(server: Server, person: Person | None) -> httpx.AsyncClient:
    cookies = {COOKIE_NAME: person.handle} if person else {}
    return httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=30)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def auth_params(app: App, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid profile email",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        **extra,
    }


def redirect_query(r: httpx.Response) -> dict[str, str]:
    assert r.status_code == 302, (r.status_code, r.text)
    loc = r.headers["location"]
    assert loc.startswith(REDIRECT), loc
    return {k: v[0] for k, v in parse_qs(urlsplit(loc).query).items()}


async def authorize(client: httpx.AsyncClient, params: dict[str, str]) -> dict[str, str]:
    return redirect_query(await client.get("/oauth2/authorize", params=params))


def basic(app: App) -> httpx.BasicAuth:
    assert app.client_secret
    return httpx.BasicAuth(app.client_id, app.client_secret)


async def token_request(
    client: httpx.AsyncClient, app: App, data: dict[str, str]
) -> httpx.Response:
    if app.client_secret:
        return await client.post("/oauth2/token", data=data, auth=basic(app))
    return await client.post("/oauth2/token", data={**data, "client_id": app.client_id})


async def code_flow(
    server: Server, app: App, person: Person
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run the flow; returns the token response and the authorization params."""
    verifier, challenge = pkce()
    params = auth_params(app, code_challenge=challenge, code_challenge_method="S256")
    async with browser(server, person) as b:
        q = await authorize(b, params)
        assert q["state"] == params["state"]
        r = await token_request(
            b,
            app,
            {
                "grant_type": "authorization_code",
                "code": q["code"],
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
        )
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        return r.json(), params


async def jwks(server: Server) -> KeySet:
    async with httpx.AsyncClient(base_url=server.url) as c:
        return KeySet.import_key_set((await c.get("/oauth2/jwks")).json())


async def decode(server: Server, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    t = jwt.decode(token, await jwks(server), algorithms=["ES256"])
    return dict(t.header), dict(t.claims)
