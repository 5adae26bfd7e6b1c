"""End to end against an OpenID Provider nobody here wrote: panva's ``oidc-provider`` from npm
(``tests/interop/oidc_provider``), started on loopback. A tenant's connection is made through
the real CLI contract, the OP registers what that printed, and a browser (httpx, one cookie
jar, redirects followed one by one) goes from the app's authorization request to the OP and
back to the app's code; both backends.

What is pinned: sign-in with ``client_secret_basic`` and with ``private_key_jwt`` (the key the
CLI printed as ``client_jwks`` is what the OP trusts), just-in-time provisioning, tokens saying
``auth_method``/``idp``; a key rotation at the OP needing no action here; the OP's own logout
ending the Propylon session by back-channel logout; Propylon's RP-initiated logout sending
the person on to the OP's ``end_session_endpoint``; Google's ``hd`` claim through the same
relying party, a second OP standing in for Google.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from propylon.admin import tenants as tenant_ops
from propylon.admin.audited import CLI
from tests.conftest import Server, start_server, stop_server
from tests.interop.oidc_op import Op, google_stand_in, has_oidc_provider, signing_jwks, start_op
from tests.provider.helpers import (
    LOGOUT,
    REDIRECT,
    App,
    auth_params,
    decode,
    new_app,
    pkce,
    token_request,
)

pytestmark = pytest.mark.skipif(
    not has_oidc_provider(), reason="needs node and oidc-provider (scripts/test)"
)
MAX_HOPS = 20


@pytest.fixture(scope="module")
def op(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Op]:
    """The OP; each test registers its own clients and users (``Op.restart``)."""
    running = start_op(tmp_path_factory.mktemp("op"), clients=[], users=[])
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Org:
    slug: str
    domain: str
    connection: dict[str, Any]
    app: App

    @property
    def connection_id(self) -> str:
        return str(self.connection["connection_id"])


def person(domain: str, name: str = "ada", **extra: Any) -> dict[str, Any]:
    return {
        "sub": f"op-{name}-{secrets.token_hex(3)}",
        "email": f"{name}@{domain}",
        "email_verified": True,
        "given_name": name.capitalize(),
        "family_name": "Lovelace",
        "name": f"{name.capitalize()} Lovelace",
        "groups": ["engineering"],
        **extra,
    }


def op_client(org: Org, **extra: Any) -> dict[str, Any]:
    """The OP's registration of Propylon, from what ``create-connection`` printed."""
    conn = org.connection
    return {
        "client_id": conn["client_id"],
        "redirect_uris": [conn["redirect_uri"]],
        "backchannel_logout_uri": conn["backchannel_logout_uri"],
        "backchannel_logout_session_required": True,
        "post_logout_redirect_uris": [conn["post_logout_redirect_uri"]],
        **extra,
    }


async def new_org(server: Server, op: Op, *credential: str) -> Org:
    slug = f"e2e-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    await tenant_ops.create_tenant(
        server.rt, CLI, slug=slug, name="E2E Corp", domains=[domain], seats=None
    )
    out = server.cli_json(
        "oidc", "create-connection", slug, "--issuer", op.url, "--client-id",
        f"propylon-{slug}", *credential, "--jit",
    )  # fmt: skip
    return Org(slug, domain, out, await new_app(server))


async def follow(
    browser: httpx.AsyncClient, url: str, until: str, *, method: str = "GET", **kw: Any
) -> httpx.Response:
    """Follow redirects one by one (Propylon, the OP, Propylon again) until one leads to a URL
    starting with ``until``, or a page that is no redirect; the cookie jar keeps every
    cookie on the way (the pending login's among them)."""
    r = await browser.request(method, url, **kw)
    for _ in range(MAX_HOPS):
        location = r.headers.get("location")
        if r.status_code not in (302, 303) or location is None or location.startswith(until):
            return r
        r = await browser.get(urljoin(str(r.url), location))
    raise AssertionError(f"more than {MAX_HOPS} redirects")


async def sign_in(
    server: Server, org: Org, browser: httpx.AsyncClient, email: str, *, routed: bool = False
) -> dict[str, Any]:
    """The app's authorization request, through the connection's login and the OP, to the
    app's code and its tokens; ``routed``: the browser starts at the authorization endpoint,
    which the ``login_hint`` routes to the connection, instead of at its login URL."""
    verifier, challenge = pkce()
    params = auth_params(
        org.app, code_challenge=challenge, code_challenge_method="S256", login_hint=email
    )
    authorize = "/oauth2/authorize?" + urlencode(params)
    if routed:
        r = await follow(browser, server.url + authorize, REDIRECT)
    else:
        login = f"{server.url}/oidc/{org.connection_id}/login"
        start = {"return_to": authorize, "login_hint": email}
        r = await follow(browser, login, REDIRECT, params=start)
    assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT), (
        r.status_code,
        why(server, org),
    )
    q = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
    assert q["state"] == params["state"]
    data = {
        "grant_type": "authorization_code",
        "code": q["code"],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    tokens = await token_request(browser, org.app, data)
    assert tokens.status_code == 200, tokens.text
    out: dict[str, Any] = tokens.json()
    return out


def why(server: Server, org: Org) -> list[Any]:
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.oidc.login")
    return [r["reason"] for r in rows if r["outcome"] == "failure"]


async def userinfo_status(server: Server, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    async with httpx.AsyncClient(timeout=30) as client:
        return (await client.get(f"{server.url}/oauth2/userinfo", headers=headers)).status_code


async def test_client_secret_basic_sign_in_provisions_the_person_and_says_oidc(
    server: Server, op: Op
) -> None:
    secret = "op-client-secret-" + secrets.token_hex(16)
    org = await new_org(server, op, "--client-secret", secret)
    assert org.connection["auth_method"] == "client_secret_basic"
    ada = person(org.domain)
    op.restart(clients=[op_client(org, client_secret=secret)], users=[ada])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await sign_in(server, org, browser, ada["email"])
    _, claims = await decode(server, tokens["id_token"])
    assert claims["auth_method"] == "oidc" and claims["idp"] == org.connection_id
    assert claims["email"] == ada["email"] and claims["org_slug"] == org.slug
    assert claims["given_name"] == "Ada" and claims["family_name"] == "Lovelace"
    # nobody was there before: provisioned just in time, in the tenant, named by the claims
    async with server.api() as api:
        r = await api.get(f"/api/v1/tenants/{org.slug}/users", params={"email": ada["email"]})
    (user,) = r.json()["data"]
    assert user["id"] == claims["sub"]
    assert (user["given_name"], user["family_name"]) == ("Ada", "Lovelace")


async def test_the_authorization_endpoint_routes_the_login_hint_to_the_op(
    server: Server, op: Op
) -> None:
    """Email-first routing: the app's ``login_hint`` at the tenant's domain sends the browser
    from ``/oauth2/authorize`` itself to the OP, and back to the app's code."""
    secret = "routed-secret-" + secrets.token_hex(16)
    org = await new_org(server, op, "--client-secret", secret)
    ada = person(org.domain)
    op.restart(clients=[op_client(org, client_secret=secret)], users=[ada])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        first = await browser.get(
            "/oauth2/authorize", params=auth_params(org.app, login_hint=ada["email"])
        )
        assert first.status_code == 302, first.text[:300]
        assert first.headers["location"].startswith(op.metadata()["authorization_endpoint"])
        tokens = await sign_in(server, org, browser, ada["email"], routed=True)
    _, claims = await decode(server, tokens["id_token"])
    assert claims["auth_method"] == "oidc" and claims["idp"] == org.connection_id
    assert claims["email"] == ada["email"] and claims["org_slug"] == org.slug


async def test_private_key_jwt_sign_in_with_the_key_the_cli_printed(
    server: Server, op: Op, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = tmp_path / "client.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    org = await new_org(server, op, "--private-key-file", str(pem))
    assert org.connection["auth_method"] == "private_key_jwt"
    client = op_client(
        org,
        token_endpoint_auth_method="private_key_jwt",
        jwks=org.connection["client_jwks"],
    )
    grace = person(org.domain, "grace")
    op.restart(clients=[client], users=[grace])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await sign_in(server, org, browser, grace["email"])
    _, claims = await decode(server, tokens["id_token"])
    assert claims["email"] == grace["email"] and claims["auth_method"] == "oidc"


async def test_a_key_rotation_at_the_op_needs_no_action(server: Server, tmp_path: Path) -> None:
    """The OP starts signing with a key its JWK Set did not have: the unknown ``kid`` makes
    Propylon read the set again (at most once per ``oidc_jwks_refetch_min_interval_seconds``,
    one second on this server of its own) and the sign-in goes through."""
    rotating = start_op(tmp_path, clients=[], users=[], name="rotating")
    env = {"PROPYLON_OIDC_JWKS_REFETCH_MIN_INTERVAL_SECONDS": "1"}
    url, proc = start_server(server.backend, env)
    try:
        secret = "rotation-secret-" + secrets.token_hex(16)
        org = await new_org(server, rotating, "--client-secret", secret)
        ada = person(org.domain)
        client = op_client(org, client_secret=secret)
        client["redirect_uris"] = [client["redirect_uris"][0].replace(server.url, url)]
        rotating.restart(clients=[client], users=[ada])
        at_url = replace(server, url=url)
        async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
            await sign_in(at_url, org, browser, ada["email"])
        jwks_uri = rotating.metadata()["jwks_uri"]
        old_kids = {k["kid"] for k in httpx.get(jwks_uri).json()["keys"]}
        rotating.restart_with_keys(signing_jwks())  # the same issuer, only a new kid
        assert {k["kid"] for k in httpx.get(jwks_uri).json()["keys"]}.isdisjoint(old_kids)
        time.sleep(1.1)
        async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
            tokens = await sign_in(at_url, org, browser, ada["email"])
        _, claims = await decode(server, tokens["id_token"])
        assert claims["email"] == ada["email"]
    finally:
        stop_server(proc)
        rotating.stop()


async def op_end_session(
    browser: httpx.AsyncClient, op: Op, params: dict[str, str] | None = None
) -> httpx.Response:
    """The person signs out at the OP: its end-session page, then its confirmation form."""
    end = op.metadata()["end_session_endpoint"]
    page = await browser.get(end, params=params or {})
    assert page.status_code == 200, page.text[:500]
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text)
    action = re.search(r'action="([^"]+)"', page.text)
    assert xsrf is not None and action is not None, page.text[:500]
    form = {"xsrf": xsrf.group(1), "logout": "yes"}
    return await browser.post(urljoin(end, action.group(1)), data=form)


async def test_signing_out_at_the_op_ends_the_propylon_session_by_back_channel(
    server: Server, op: Op
) -> None:
    secret = "bcl-secret-" + secrets.token_hex(16)
    org = await new_org(server, op, "--client-secret", secret)
    ada = person(org.domain)
    op.restart(clients=[op_client(org, client_secret=secret)], users=[ada])
    logged = len(op.log())
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await sign_in(server, org, browser, ada["email"])
        assert await userinfo_status(server, tokens["access_token"]) == 200
        r = await op_end_session(browser, op)
        assert r.status_code in (302, 303), r.text[:500]
        assert "backchannel logout" not in op.log()[logged:], op.log()[logged:]
        # the session the OP's sign-in made is over, and with it the app's tokens
        assert await userinfo_status(server, tokens["access_token"]) == 401
        again = await browser.get("/oauth2/authorize", params=auth_params(org.app, prompt="none"))
        assert "error=login_required" in again.headers.get("location", ""), again.text[:300]


async def test_rp_initiated_logout_sends_the_person_on_to_the_op(server: Server, op: Op) -> None:
    secret = "rpl-secret-" + secrets.token_hex(16)
    org = await new_org(server, op, "--client-secret", secret)
    ada = person(org.domain)
    op.restart(clients=[op_client(org, client_secret=secret)], users=[ada])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await sign_in(server, org, browser, ada["email"])
        params = {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": LOGOUT,
            "state": "bye",
        }
        r = await browser.get("/oauth2/logout", params=params)
        assert r.status_code in (302, 303), r.text[:500]
        onward = r.headers["location"]
        end = op.metadata()["end_session_endpoint"]
        assert onward.startswith(end), onward
        sent = {k: v[0] for k, v in parse_qs(urlsplit(onward).query).items()}
        assert sent["client_id"] == org.connection["client_id"]
        assert sent["post_logout_redirect_uri"] == org.connection["post_logout_redirect_uri"]
        assert await userinfo_status(server, tokens["access_token"]) == 401
        # at the OP: its confirmation, then back through Propylon to the app's address
        done = await op_end_session(browser, op, sent)
        final = await follow(browser, urljoin(end, done.headers["location"]), LOGOUT)
        assert final.headers.get("location", "").startswith(LOGOUT), (final.status_code, final.text)
        assert parse_qs(urlsplit(final.headers["location"]).query)["state"] == ["bye"]


async def google_sign_in(url: str, app: App, email: str) -> str:
    """Google sign-in at the server ``url``: through ``/google/login`` and the OP standing in
    for Google to the app's code; the ID token Propylon issued."""
    verifier, challenge = pkce()
    params = auth_params(app, code_challenge=challenge, code_challenge_method="S256")
    return_to = "/oauth2/authorize?" + urlencode(params)
    async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
        r = await follow(
            browser,
            f"{url}/google/login",
            REDIRECT,
            params={"return_to": return_to, "login_hint": email},
        )
        assert r.headers.get("location", "").startswith(REDIRECT), (r.status_code, r.text[:500])
        q = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
        data = {
            "grant_type": "authorization_code",
            "code": q["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
        t = await token_request(browser, app, data)
        assert t.status_code == 200, t.text
        id_token: str = t.json()["id_token"]
    return id_token


async def test_google_sign_in_routes_by_the_workspace_hd_claim(
    server: Server, tmp_path: Path
) -> None:
    """A second oidc-provider is the platform's Google (``PROPYLON_GOOGLE_*``): a Workspace
    account whose address is at a domain nobody owns signs in to the tenant owning its ``hd``
    domain; the same kind of account without ``hd`` is an individual user."""
    slug = f"ws-{secrets.token_hex(4)}"
    workspace = f"{slug}.example.com"
    await tenant_ops.create_tenant(
        server.rt, CLI, slug=slug, name="Workspace Corp", domains=[workspace], seats=None
    )
    alias = f"alias-{secrets.token_hex(3)}.test"
    member = person(alias, "ada", hd=workspace)
    solo = person(alias, "bo")
    with google_stand_in(server.backend, tmp_path, [member, solo]) as (url, _):
        app = await new_app(server)
        _, claims = await decode(server, await google_sign_in(url, app, member["email"]))
        assert claims["org_slug"] == slug and claims["email"] == member["email"]
        assert claims["auth_method"] == "google" and claims["idp"] == "google"
        _, alone = await decode(server, await google_sign_in(url, app, solo["email"]))
        assert "org_slug" not in alone and alone["auth_method"] == "google"  # an individual
