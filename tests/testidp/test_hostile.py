"""Hostile and wrong input to the test IdP gets a 4xx page or OAuth error, never a 5xx, and
anonymous visitors write nothing to the database."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

import propylon.db.tables_oidc
import propylon.db.tables_saml  # noqa: F401 (their tables join Base.metadata)
from propylon.db.tables import Base
from propylon.saml.messages import build_authn_request
from propylon.saml.redirect import encode_redirect_url
from tests.conftest import Server
from tests.testidp.conftest import Tenant, form_of, new_tenant
from tests.testidp.test_oidc import oidc_tenant


async def row_counts(server: Server) -> dict[str, int]:
    counts = {}
    async with server.rt.db.read() as s:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int(await s.scalar(select(func.count()).select_from(table)) or 0)
    return counts


def request_url(server: Server, tenant: Tenant, relay_state: str = "r", **change: Any) -> str:
    values: dict[str, Any] = {
        "request_id": "_" + secrets.token_hex(8),
        "issue_instant": server.rt.clock(),
        "sp_entity_id": tenant.connection["sp_entity_id"],
        "acs_url": tenant.connection["acs_url"],
        "destination": f"{server.url}/test-idp/saml/sso",
    } | change
    xml = build_authn_request(**values)
    return encode_redirect_url(f"{server.url}/test-idp/saml/sso", xml, relay_state=relay_state)


async def test_wrong_saml_requests_are_refused_with_a_page(idp_server: Server) -> None:
    tenant = await new_tenant(idp_server)
    before = await row_counts(idp_server)
    other = f"{idp_server.url}/saml/conn_{'x' * 20}/acs"
    async with httpx.AsyncClient(timeout=30) as client:
        ok = await client.get(request_url(idp_server, tenant))
        assert ok.status_code == 200
        action, hidden = form_of(ok.text)
        answered = await client.post(
            f"{idp_server.url}{action}", data={**hidden, "email": "a@b.example"}
        )
        assert answered.status_code == 200 and "SAMLResponse" in answered.text
        xml = build_authn_request(
            request_id="_post1",
            issue_instant=idp_server.rt.clock(),
            sp_entity_id=tenant.connection["sp_entity_id"],
            acs_url=tenant.connection["acs_url"],
            destination=f"{idp_server.url}/test-idp/saml/sso",
        )
        posted = await client.post(  # the HTTP-POST binding (Bindings §3.5)
            f"{idp_server.url}/test-idp/saml/sso",
            data={"SAMLRequest": base64.b64encode(xml).decode(), "RelayState": "p"},
        )
        assert posted.status_code == 200
        assert form_of(posted.text)[1] == {
            "connection_id": tenant.cid,
            "request_id": "_post1",
            "relay_state": "p",
        }
        markup = '"><script>alert(1)</script>'
        shown = await client.get(request_url(idp_server, tenant, relay_state=markup))
        assert shown.status_code == 200 and "<script>alert" not in shown.text
        assert form_of(shown.text)[1]["relay_state"] == markup
        for url in (
            request_url(idp_server, tenant, acs_url="https://evil.example/acs"),
            request_url(idp_server, tenant, acs_url=other),
            request_url(idp_server, tenant, sp_entity_id="https://someone-else.example"),
            f"{idp_server.url}/test-idp/saml/sso",
            f"{idp_server.url}/test-idp/saml/sso?SAMLRequest=%00%ff",
            f"{idp_server.url}/test-idp/saml/sso?SAMLRequest=" + "A" * 60_000,
            f"{idp_server.url}/test-idp/saml/start?connection_id=%00",
            f"{idp_server.url}/test-idp/saml/start?connection_id=" + "c" * 5000,
        ):
            r = await client.get(url)
            assert 400 <= r.status_code < 500 and "SAMLResponse" not in r.text, (
                url[:120],
                r.status_code,
            )
        posts: list[dict[str, Any]] = [
            {"data": {"SAMLRequest": "%%%"}},
            {
                "content": b"\xff\xfe" * 10,
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
            {
                "content": b"x=" + b"y" * 300_000,
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
            {"data": {"SAMLRequest": base64.b64encode(b"<x/>").decode()}},
        ]
        for kw in posts:
            r = await client.post(f"{idp_server.url}/test-idp/saml/sso", **kw)
            assert 400 <= r.status_code < 500, r.status_code
        for data in (
            {},
            {"connection_id": tenant.cid, "request_id": "r" * 300, "email": "a@b.example"},
            {"connection_id": tenant.cid, "relay_state": "r" * 2000, "email": "a@b.example"},
            {"connection_id": "conn_nope", "email": "a@b.example"},
        ):
            r = await client.post(f"{idp_server.url}/test-idp/saml/answer", data=data)
            assert 400 <= r.status_code < 500 and "SAMLResponse" not in r.text, (
                data,
                r.status_code,
            )
        bad = await client.post(
            f"{idp_server.url}/test-idp/saml/answer",
            data={**hidden, "email": "x", "scenario": "nonce_mismatch"},
        )
        assert bad.status_code == 400 and "There is a problem" in bad.text
    assert await row_counts(idp_server) == before


async def test_wrong_oidc_requests_get_errors(idp_server: Server) -> None:
    tenant = await oidc_tenant(idp_server)
    before = await row_counts(idp_server)
    issuer = f"{idp_server.url}/test-idp/oidc"
    redirect_uri = f"{idp_server.url}/oidc/{tenant.connection_id}/callback"
    base = {
        "client_id": tenant.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid",
        "state": "st",
    }
    async with httpx.AsyncClient(timeout=30) as client:
        for change, error in (
            ({"response_type": "token"}, "unsupported_response_type"),
            ({"scope": "email"}, "invalid_scope"),
            ({"code_challenge": "abc", "code_challenge_method": "plain"}, "invalid_request"),
        ):
            r = await client.get(f"{issuer}/authorize", params={**base, **change})
            assert r.status_code == 303
            q = parse_qs(urlsplit(r.headers["location"]).query)
            assert q["error"] == [error] and q["state"] == ["st"] and q["iss"] == [issuer]
        for params in ({}, {**base, "redirect_uri": "%00"}, {**base, "client_id": "x" * 5000}):
            r = await client.get(f"{issuer}/authorize", params=params)
            assert r.status_code == 400 and "location" not in r.headers
        for kw in (
            {"headers": {"Authorization": "Basic %%%"}},
            {"headers": {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}},
            {
                "data": {
                    "client_id": "test-client-x",
                    "client_secret": "y",
                    "grant_type": "password",
                }
            },
            {
                "content": b"\xff" * 10,
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            },
        ):
            r = await client.post(f"{issuer}/token", **kw)
            assert r.status_code in (400, 401) and "error" in r.json(), kw
        for header in ("Bearer nope", "Bearer " + "A" * 9000, "Basic x", ""):
            r = await client.get(f"{issuer}/userinfo", headers={"Authorization": header})
            assert r.status_code == 401 and r.json() == {"error": "invalid_token"}
        r = await client.post(f"{idp_server.url}/test-idp/oidc/answer", data={"client_id": "x"})
        assert r.status_code == 400
    assert await row_counts(idp_server) == before
