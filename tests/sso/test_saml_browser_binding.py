"""A pending SP-initiated login belongs to the browser that started it, and starting one is
cheap: the AuthnRequest is kept in a sealed cookie of that browser, so a Response posted from
any other browser signs nobody in (login CSRF), several tabs sign in at once, an anonymous
start writes no row, and starts and Responses posted to the ACS are limited per client
address. Live server, both backends.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx import Response
from sqlalchemy import func, select

from propylon.audit import list_entries
from propylon.db.tables import AuditEntry
from propylon.db.tables_saml import SamlRequest
from tests.conftest import Server, backend_env_server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import auth_params
from tests.sso.test_saml_login import (
    SSO,
    Org,
    authn_request_id,
    new_org,
    response_for,
    start,
)


def pending_cookies(browser: httpx.AsyncClient) -> dict[str, str]:
    return {c.name: c.value for c in browser.cookies.jar if c.name.startswith("propylon_login_")}


async def refusals(server: Server, org: Org) -> list[str | None]:
    """The reasons of the refused logins of ``org``, newest first."""
    async with server.rt.db.read() as s:
        rows = await list_entries(s, tenant_id=org.connection["tenant_id"], action="sso.saml.login")
    return [r.reason for r in rows if r.outcome == "failure"]


async def test_a_response_posted_from_another_browser_is_refused_and_signs_nobody_in(
    server: Server,
) -> None:
    org = await new_org(server)
    email = f"victim@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as victim:
        request_id, relay, _ = await start(victim, org, email)
        saml = response_for(org, email, request_id)
        form = {"SAMLResponse": saml, "RelayState": relay}
        # the signed Response and its RelayState, posted from a browser without the cookie
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as attacker:
            r = await attacker.post(acs, data=form)
            assert r.status_code == 400 and "set-cookie" not in r.headers
            assert r.headers["content-type"].startswith("text/html")
            assert "another browser" in r.text
            assert not attacker.cookies
            # nor does a cookie of the attacker's own pending login fit the victim's login
            (name,) = pending_cookies(victim)
            await start(attacker, org, email)
            (own,) = pending_cookies(attacker).values()
            attacker.cookies.set(name, own, path=acs)
            r = await attacker.post(acs, data=form)
            assert r.status_code == 400 and "set-cookie" not in r.headers
        reasons = await refusals(server, org)
        assert reasons == ["pending_login_invalid", "not_started_in_this_browser"]
        # the browser that started it signs in with that very Response, and forgets the login
        ok = await victim.post(acs, data=form)
        assert ok.status_code == 303, ok.text
        assert "propylon_session" in victim.cookies and not pending_cookies(victim)


async def test_the_pending_login_cookie_crosses_the_idps_post_and_stays_at_the_acs(
    server: Server,
) -> None:
    org = await new_org(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        params = auth_params(org.app, login_hint=f"ada@{org.domain}")
        r = await browser.get("/oauth2/authorize", params=params)
    assert r.status_code == 302 and r.headers["location"].startswith(SSO)
    attrs = [a.strip().lower() for a in r.headers["set-cookie"].split(";")]
    assert attrs[0].startswith("propylon_login_")
    acs = urlsplit(org.connection["acs_url"]).path
    assert {"samesite=none", "secure", "httponly", f"path={acs}".lower()} <= set(attrs)
    assert "max-age=600" in attrs
    # an authorization request too long to keep in a cookie is refused with a page
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        params["state"] = secrets.token_urlsafe(4000)
        r = await browser.get("/oauth2/authorize", params=params)
    assert r.status_code == 414 and "set-cookie" not in r.headers and "too long" in r.text


async def test_several_tabs_of_one_browser_sign_in_at_once(server: Server) -> None:
    org = await new_org(server)
    email = f"tabs@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tabs = [await start(browser, org, email) for _ in range(3)]
        assert len(pending_cookies(browser)) == 3
        for request_id, relay, _ in reversed(tabs):
            saml = response_for(org, email, request_id)
            r = await browser.post(acs, data={"SAMLResponse": saml, "RelayState": relay})
            assert r.status_code == 303, r.text
        assert not pending_cookies(browser)


async def _rows(server: Server, org: Org) -> tuple[int, int]:
    conn_id, tenant_id = org.connection["connection_id"], org.connection["tenant_id"]
    async with server.rt.db.read() as s:
        requests = await s.scalar(
            select(func.count())
            .select_from(SamlRequest)
            .where(SamlRequest.connection_id == conn_id)
        )
        audit = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
        )
    return int(requests or 0), int(audit or 0)


async def test_anonymous_sign_in_starts_write_nothing(server: Server) -> None:
    org = await new_org(server)
    before = await _rows(server, org)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as anonymous:
        for _ in range(5):
            hint = f"x{secrets.token_hex(3)}@{org.domain}"
            params = auth_params(org.app, login_hint=hint)
            r = await anonymous.get("/oauth2/authorize", params=params)
            assert r.status_code == 302 and r.headers["location"].startswith(SSO)
            resume = "/oauth2/authorize?" + urlsplit(str(r.request.url)).query
            r = await anonymous.get(org.connection["login_url"], params={"return_to": resume})
            assert r.status_code == 302 and r.headers["location"].startswith(SSO)
    assert await _rows(server, org) == before


async def test_sign_ins_are_limited_per_client_address_and_pending_logins_expire(
    server: Server,
) -> None:
    env = {
        "PROPYLON_SIGN_IN_START_RATE_LIMIT_PER_MINUTE": "3",
        "PROPYLON_SIGN_IN_FINISH_RATE_LIMIT_PER_MINUTE": "3",
        "PROPYLON_TRUSTED_PROXIES": "127.0.0.1",
        "PROPYLON_SAML_REQUEST_LIFETIME_SECONDS": "1",
    }
    async with backend_env_server(server, env) as (url, _):
        org = await new_org(server)
        params = auth_params(org.app, login_hint=f"ada@{org.domain}")
        acs = urlsplit(org.connection["acs_url"]).path

        async def from_address(address: str, method: str, path: str, **kw: Any) -> Response:
            async with httpx.AsyncClient(base_url=url, timeout=30) as c:
                headers = {"X-Forwarded-For": address}
                return await c.request(method, path, headers=headers, **kw)

        # three a minute from one address: of seven in a row (one window, or two if the
        # minute turns over meanwhile) the first three pass and at least one is refused
        for method, path, kw, passed in (
            ("GET", "/oauth2/authorize", {"params": params}, 302),
            ("POST", acs, {"data": {"SAMLResponse": "eA==", "RelayState": "x"}}, 400),
        ):
            answers = [await from_address("203.0.113.7", method, path, **kw) for _ in range(7)]
            assert [r.status_code for r in answers[:3]] == [passed] * 3
            refused = next(r for r in answers if r.status_code == 429)
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert refused.headers["content-type"].startswith("text/html")
            assert "Too many sign-in attempts" in refused.text
            assert "set-cookie" not in refused.headers
        # only the Responses let through were audited
        audited = len(await refusals(server, org))
        assert audited == sum(r.status_code == 400 for r in answers)
        # another address is not held back
        started = await from_address("203.0.113.8", "GET", "/oauth2/authorize", params=params)
        assert started.status_code == 302
        # the answer to a login is accepted for PROPYLON_SAML_REQUEST_LIFETIME_SECONDS only,
        # even from a browser that kept the cookie past its Max-Age
        request_id, relay = authn_request_id(started.headers["location"])
        await asyncio.sleep(1.5)
        form = {"SAMLResponse": response_for(org, f"ada@{org.domain}", request_id)}
        kept = dict(started.cookies.items())  # its value, without the Max-Age
        async with httpx.AsyncClient(base_url=url, cookies=kept, timeout=30) as late:
            r = await late.post(acs, data={**form, "RelayState": relay})
        assert r.status_code == 400 and "expired" in r.text
    reasons = await refusals(server, org)
    assert reasons[0] == "request_used_or_expired" and len(reasons) == audited + 1
