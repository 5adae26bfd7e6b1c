"""SP-initiated SAML login end to end: authorize → AuthnRequest → signed Response at the ACS →
session and code → tokens, against the live server on both backends."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import secrets
import zlib
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from lxml import etree

from propylon.admin import apps
from propylon.admin import directories as operations_directory
from propylon.admin import saml_connections as operations_saml
from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from propylon.tenants.directories import scim_base_url
from propylon.tenants.saml_connections import IdpSource
from tests.conftest import Server
from tests.http.test_scim_users import PATCH, user_body
from tests.provider.helpers import (
    REDIRECT,
    App,
    auth_params,
    decode,
    new_app,
    pkce,
    token_request,
)
from tests.saml.idp import KeyPair, Spec, build, make_keypair

IDP = "http://www.okta.com/exk-test"
SSO = "https://acme.okta.test/app/sso/saml"


@dataclass
class Org:
    slug: str
    domain: str
    connection: dict[str, str]
    idp: KeyPair
    scim: httpx.AsyncClient
    app: App


async def new_org(
    server: Server,
    *,
    jit: bool = False,
    idp_initiated: bool = False,
    name_app: bool = True,
    public_app: bool = False,
    slo_url: str | None = None,
) -> Org:
    """A tenant with a SAML connection and an app; IdP-initiated logins (when on) land in
    that app if ``name_app``; ``slo_url`` is the IdP's Single Logout endpoint, if any."""
    slug = f"sso-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="SSO Corp", domains=[domain], seats=None
    )
    d = await ops.create_directory(server.rt, CLI, slug)
    idp = make_keypair("okta-test")
    app = await new_app(server, public=public_app)
    conn = await operations_saml.create_connection(
        server.rt,
        CLI,
        slug,
        IdpSource(sso_url=SSO, idp_entity_id=IDP, slo_url=slo_url, certificates=(idp.cert,)),
        jit=jit,
        allow_idp_initiated=idp_initiated,
        idp_initiated_app=app.client_id if idp_initiated and name_app else None,
    )
    scim = httpx.AsyncClient(
        base_url=scim_base_url(server.url, d["directory_id"]),
        headers={"Authorization": f"Bearer {d['token']}"},
    )
    return Org(slug, domain, conn, idp, scim, app)


def authn_request_id(location: str) -> tuple[str, str]:
    q = parse_qs(urlsplit(location).query)
    xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15)
    return etree.fromstring(xml).get("ID"), q["RelayState"][0]


def response_for(org: Org, email: str, request_id: str | None, **kw: object) -> str:
    spec = Spec(
        now=dt.datetime.now(dt.UTC),
        issuer=IDP,
        destination=org.connection["acs_url"],
        recipient=org.connection["acs_url"],
        audience=org.connection["sp_entity_id"],
        in_response_to=request_id,
        name_id=email,
        attributes={"email": [email], "firstName": ["Ada"], "lastName": ["Lovelace"]},
        assertion_id="id" + secrets.token_hex(16),
        response_id="id" + secrets.token_hex(16),
    ).replace(**kw)
    return base64.b64encode(build(spec, idp=org.idp, sign_assertion=True)).decode()


async def start(browser: httpx.AsyncClient, org: Org, email: str) -> tuple[str, str, str]:
    verifier, challenge = pkce()
    params = auth_params(
        org.app,
        state="s1",
        nonce="n1",
        code_challenge=challenge,
        code_challenge_method="S256",
        login_hint=email,
    )
    r = await browser.get("/oauth2/authorize", params=params)
    assert r.status_code == 302 and r.headers["location"].startswith(SSO)
    request_id, relay = authn_request_id(r.headers["location"])
    return request_id, relay, verifier


async def test_sp_initiated_login_issues_tokens_saying_who_and_how(server: Server) -> None:
    org = await new_org(server)
    email = f"ada@{org.domain}"
    uid = (await org.scim.post("/Users", json=user_body(email))).json()["id"]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, verifier = await start(browser, org, email)
        acs = urlsplit(org.connection["acs_url"]).path
        r = await browser.post(
            acs, data={"SAMLResponse": response_for(org, email, request_id), "RelayState": relay}
        )
        # signed in, the browser goes straight back to the app with its code
        assert r.status_code == 303 and r.headers["location"].startswith(REDIRECT), r.text
        assert "propylon_session" in r.headers["set-cookie"]
        q = {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}
        assert q["state"] == "s1"
        tokens = await token_request(
            browser,
            org.app,
            {
                "grant_type": "authorization_code",
                "code": q["code"],
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
        )
        assert tokens.status_code == 200, tokens.text
    _, claims = await decode(server, tokens.json()["id_token"])
    assert claims["sub"] == uid and claims["email"] == email and claims["org_slug"] == org.slug
    assert claims["auth_method"] == "saml" and claims["idp"] == org.connection["connection_id"]
    assert claims["nonce"] == "n1" and claims["sid"]
    # the login is audited with the session it made and the AuthnRequest it answered (the
    # anonymous start writes nothing of its own)
    rows = server.cli_json("audit", "list", org.slug, "--limit", "50")
    (login,) = [r for r in rows if r["action"] == "sso.saml.login"]
    assert login["outcome"] == "success" and login["target_id"] == uid
    assert login["diff"]["session"] == {"before": None, "after": claims["sid"]}
    assert login["diff"]["sign_in.authn_request_id"]["after"] == request_id
    assert login["diff"]["sign_in.force_authn"]["after"] is False
    assert not [r for r in rows if r["action"] == "sso.saml.start"]


async def test_replayed_response_and_swapped_relay_state_are_refused(server: Server) -> None:
    org = await new_org(server)
    email = f"bob@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        first_id, _first_relay, _ = await start(browser, org, email)
        second_id, second_relay, _ = await start(browser, org, email)
        # the answer to the first request presented with the second request's RelayState
        swapped = await browser.post(
            acs,
            data={"SAMLResponse": response_for(org, email, first_id), "RelayState": second_relay},
        )
        assert swapped.status_code == 400 and "set-cookie" not in swapped.headers
        saml = response_for(org, email, second_id)
        kept = {c.name: c.value for c in browser.cookies.jar if c.value}  # before it is used
        ok = await browser.post(acs, data={"SAMLResponse": saml, "RelayState": second_relay})
        assert ok.status_code == 303
        again = await browser.post(acs, data={"SAMLResponse": saml, "RelayState": second_relay})
        assert again.status_code == 400 and "set-cookie" not in again.headers
    # a browser that kept the pending login's cookie cannot use the Response twice either
    async with httpx.AsyncClient(base_url=server.url, cookies=kept, timeout=30) as replayer:
        replayed = await replayer.post(acs, data={"SAMLResponse": saml, "RelayState": second_relay})
        assert replayed.status_code == 400 and "set-cookie" not in replayed.headers
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    reasons = {r["reason"] for r in rows if r["outcome"] == "failure"}
    assert {"in_response_to_mismatch", "assertion_replayed"} <= reasons


async def test_deactivated_and_unknown_users_are_refused_without_a_session(server: Server) -> None:
    org = await new_org(server)
    email = f"gone@{org.domain}"
    uid = (await org.scim.post("/Users", json=user_body(email))).json()["id"]
    await org.scim.patch(
        f"/Users/{uid}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        for who in (email, f"stranger@{org.domain}"):
            request_id, relay, _ = await start(browser, org, who)
            r = await browser.post(
                acs, data={"SAMLResponse": response_for(org, who, request_id), "RelayState": relay}
            )
            assert r.status_code == 403 and "set-cookie" not in r.headers
            assert "Sign-in failed" in r.text
    reasons = {
        r["reason"]
        for r in server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    }
    assert {"user_deactivated", "unknown_user"} <= reasons


async def test_jit_creates_the_user_at_first_login(server: Server) -> None:
    org = await new_org(server, jit=True)
    email = f"new@{org.domain}"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, _ = await start(browser, org, email)
        acs = urlsplit(org.connection["acs_url"]).path
        r = await browser.post(
            acs, data={"SAMLResponse": response_for(org, email, request_id), "RelayState": relay}
        )
        assert r.status_code == 303
    users = await operations_directory.list_users(server.rt, org.slug, offset=0, limit=10)
    assert [u["email"] for u in users] == [email] and users[0]["given_name"] == "Ada"


async def test_jit_refuses_another_domain_and_a_full_tenant(server: Server) -> None:
    """Just in time: an email of a domain the tenant does not own is refused (the tenant has
    domains), and so is a new person when every seat is taken; nobody is created."""
    org = await new_org(server, jit=True)
    acs = urlsplit(org.connection["acs_url"]).path

    async def sign_in(email: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
            request_id, relay, _ = await start(browser, org, f"hint@{org.domain}")
            saml = response_for(org, email, request_id)
            return await browser.post(acs, data={"SAMLResponse": saml, "RelayState": relay})

    r = await sign_in("mallory@elsewhere.example")
    assert r.status_code == 403 and "not of a domain of this organization" in r.text
    assert "propylon_session" not in r.headers.get("set-cookie", "")
    server.cli("tenant", "set-seats", org.slug, "0")
    r = await sign_in(f"bob@{org.domain}")
    assert r.status_code == 403 and "no licence seat left" in r.text
    assert await operations_directory.list_users(server.rt, org.slug, offset=0, limit=10) == []
    reasons = [
        r["reason"]
        for r in server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    ]
    assert sorted(reasons) == ["email_domain_not_owned", "seat_limit_reached"]
    server.cli("tenant", "set-seats", org.slug, "--unlimited")
    assert (await sign_in(f"bob@{org.domain}")).status_code == 303  # own domain, a seat free


async def test_idp_initiated_is_off_by_default_and_lands_in_the_named_app_when_on(
    server: Server,
) -> None:
    off = await new_org(server)
    email = f"idp@{off.domain}"
    await off.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.post(
            urlsplit(off.connection["acs_url"]).path,
            data={"SAMLResponse": response_for(off, email, None)},
        )
        assert r.status_code == 400
    on = await new_org(server, idp_initiated=True)
    email = f"idp@{on.domain}"
    await on.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.post(
            urlsplit(on.connection["acs_url"]).path,
            data={"SAMLResponse": response_for(on, email, None)},
        )
        assert r.status_code == 303 and r.headers["location"].startswith(REDIRECT + "?code=")


async def test_sp_metadata_and_cli_contract(server: Server) -> None:
    org = await new_org(server)
    r = httpx.get(org.connection["sp_metadata_url"])
    assert r.status_code == 200 and org.connection["sp_entity_id"] in r.text
    assert org.connection["acs_url"] in r.text
    listed = server.cli_json("saml", "list-connections", org.slug)
    assert [c["connection_id"] for c in listed] == [org.connection["connection_id"]]


async def test_the_acs_answers_the_authorization_request_with_its_own_checks(
    server: Server,
) -> None:
    """The ACS finishes the authorization request itself, so every rule of the authorization
    endpoint applies there: an app revoked while its user was at the IdP gets no code (and the
    browser is not sent to its redirect URI), though the sign-in itself stands."""
    org = await new_org(server)
    email = f"late@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, _ = await start(browser, org, email)
        await apps.revoke_app(server.rt, CLI, org.app.client_id)
        await asyncio.sleep(0.2)  # the fan-out's delivery to the server's copies of apps
        r = await browser.post(
            urlsplit(org.connection["acs_url"]).path,
            data={"SAMLResponse": response_for(org, email, request_id), "RelayState": relay},
        )
        assert r.status_code == 400 and "not registered" in r.text
        assert "location" not in r.headers
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    assert [row["outcome"] for row in rows] == ["success"]
