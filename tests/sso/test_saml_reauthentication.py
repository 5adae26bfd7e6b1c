"""A session is not always enough: OpenID Connect Core §3.1.2.1 lets the app ask for a fresh
authentication (``prompt=login``, ``max_age``), which Propylon asks of the IdP with
``ForceAuthn`` (SAML Core §3.4.1). Live server, both backends."""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from urllib.parse import parse_qs, urlsplit

import httpx
from lxml import etree

from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import REDIRECT, auth_params, decode, token_request
from tests.sso.test_saml_login import SSO, Org, authn_request_id, new_org, response_for


def force_authn(location: str) -> str | None:
    """The ``ForceAuthn`` attribute of the AuthnRequest a redirect to the IdP carries."""
    assert location.startswith(SSO), location
    encoded = parse_qs(urlsplit(location).query)["SAMLRequest"][0]
    value: str | None = etree.fromstring(zlib.decompress(base64.b64decode(encoded), -15)).get(
        "ForceAuthn"
    )
    return value


async def sign_in_at_idp(
    browser: httpx.AsyncClient, org: Org, email: str, to_idp: str, **kw: object
) -> str:
    """Answer the AuthnRequest in ``to_idp`` as the IdP; the code the app gets back."""
    request_id, relay = authn_request_id(to_idp)
    saml = response_for(org, email, request_id, **kw)
    r = await browser.post(
        urlsplit(org.connection["acs_url"]).path, data={"SAMLResponse": saml, "RelayState": relay}
    )
    assert r.status_code == 303 and r.headers["location"].startswith(REDIRECT), r.text
    return parse_qs(urlsplit(r.headers["location"]).query)["code"][0]


async def test_the_app_can_ask_for_a_fresh_authentication(server: Server) -> None:
    org = await new_org(server)
    email = f"fresh@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.get("/oauth2/authorize", params=auth_params(org.app, login_hint=email))
        assert r.status_code == 302 and force_authn(r.headers["location"]) is None
        await sign_in_at_idp(browser, org, email, r.headers["location"])

        # the session is recent enough: a code at once
        r = await browser.get("/oauth2/authorize", params=auth_params(org.app, max_age="3600"))
        assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT + "?code=")

        # prompt=login, or a session older than max_age: back to the IdP of the session (no
        # login_hint needed), which must authenticate anew; that login answers the request
        for extra in ({"prompt": "login"}, {"max_age": "0"}):
            params = auth_params(org.app, state="again", **extra)
            r = await browser.get("/oauth2/authorize", params=params)
            assert r.status_code == 302, r.text
            assert force_authn(r.headers["location"]) == "true"
            code = await sign_in_at_idp(browser, org, email, r.headers["location"])
            data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
            tokens = await token_request(browser, org.app, data)
            assert tokens.status_code == 200, tokens.text

        # prompt=none cannot re-authenticate: the app is told so (§3.1.2.6)
        r = await browser.get(
            "/oauth2/authorize", params=auth_params(org.app, prompt="none", max_age="0")
        )
        assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT)
        assert parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["login_required"]


async def test_an_idp_that_ignores_force_authn_is_refused(server: Server) -> None:
    """An assertion made from the IdP's own older session answers an ordinary AuthnRequest,
    but not one with ForceAuthn: prompt=login would otherwise mean nothing."""
    org = await new_org(server)
    email = f"lazy@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        for extra, status in (({}, 303), ({"prompt": "login"}, 400)):
            params = auth_params(org.app, login_hint=email, **extra)
            r = await browser.get("/oauth2/authorize", params=params)
            request_id, relay = authn_request_id(r.headers["location"])
            saml = response_for(org, email, request_id, authn_instant=earlier)
            r = await browser.post(acs, data={"SAMLResponse": saml, "RelayState": relay})
            assert r.status_code == status, r.text
        assert "location" not in r.headers and "set-cookie" not in r.headers
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    assert [row["reason"] for row in rows if row["outcome"] == "failure"] == ["authn_not_fresh"]


async def test_auth_time_is_when_the_idp_authenticated(server: Server) -> None:
    """OpenID Connect Core §2: ``auth_time`` is when the authentication occurred, the IdP's
    AuthnInstant, not when Propylon made the session; ``max_age`` is measured from it too."""
    org = await new_org(server)
    email = f"early@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    earlier = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.get("/oauth2/authorize", params=auth_params(org.app, login_hint=email))
        code = await sign_in_at_idp(
            browser, org, email, r.headers["location"], authn_instant=earlier
        )
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        tokens = await token_request(browser, org.app, data)
        _, claims = await decode(server, tokens.json()["id_token"])
        assert claims["auth_time"] == int(earlier.timestamp())
        # the session is seconds old, the authentication ten minutes
        r = await browser.get("/oauth2/authorize", params=auth_params(org.app, max_age="3600"))
        assert r.headers["location"].startswith(REDIRECT + "?code=")
        r = await browser.get("/oauth2/authorize", params=auth_params(org.app, max_age="300"))
        assert force_authn(r.headers["location"]) == "true"
