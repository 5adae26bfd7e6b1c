"""Single Logout with pysaml2 as the IdP: IdP-initiated and SP-initiated, and a connection
without an IdP SLO endpoint."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509

from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import (
    LOGOUT,
    App,
    basic,
    token_request,
)
from tests.provider.test_rp_logout import hidden_fields
from tests.sso.test_saml_pysaml2 import RSA_SHA256, Idp, login, new_idp, query_of

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="needs xmlsec1")


def _signed_logout_response_path(idp: Idp, response: Any) -> str:
    """The path and query of pysaml2's signed HTTP-Redirect LogoutResponse to our SLO URL."""
    from saml2 import BINDING_HTTP_REDIRECT

    out = idp.server.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(response),
        idp.connection["slo_url"],
        response=True,
        sign=True,
        sigalg=RSA_SHA256,
    )
    url = urlsplit(dict(out["headers"])["Location"])
    return url.path + "?" + url.query


async def _introspect(c: httpx.AsyncClient, app: App, token: str) -> dict[str, Any]:
    r = await c.post("/oauth2/introspect", data={"token": token}, auth=basic(app))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_idp_initiated_logout_by_pysaml2_ends_the_session(
    server: Server, tmp_path: Path
) -> None:
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

    idp = await new_idp(server, tmp_path)
    email = f"slo@{idp.domain}"
    await idp.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await login(server, browser, idp, email, sign_assertion=True)
        # refresh and introspection work while the session lives
        assert (await _introspect(browser, idp.app, tokens["access_token"]))["active"] is True
        r = await token_request(
            browser,
            idp.app,
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert r.status_code == 200, r.text
        refreshed = r.json()
        assert (await _introspect(browser, idp.app, refreshed["access_token"]))["active"] is True

        slo_url = idp.connection["slo_url"]
        _id, request = idp.server.create_logout_request(
            destination=slo_url,
            issuer_entity_id=idp.connection["sp_entity_id"],
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            sign=False,
        )
        # unsigned over the redirect query: refused, the session stays
        unsigned = idp.server.apply_binding(BINDING_HTTP_REDIRECT, str(request), slo_url, "rs1")
        url = dict(unsigned["headers"])["Location"]
        r = await browser.get(urlsplit(url).path + "?" + urlsplit(url).query)
        assert r.status_code == 400 and "set-cookie" not in r.headers
        assert (await _introspect(browser, idp.app, refreshed["access_token"]))["active"] is True

        signed = idp.server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), slo_url, "rs1", sign=True, sigalg=RSA_SHA256
        )
        url = dict(signed["headers"])["Location"]
        r = await browser.get(urlsplit(url).path + "?" + urlsplit(url).query)
        assert r.status_code == 302, r.text
        back = r.headers["location"]
        assert back.startswith(idp.slo + "/response?")  # the ResponseLocation
        q = query_of(back)
        assert q["RelayState"] == "rs1" and q["SigAlg"] == RSA_SHA256
        parsed = idp.server.parse_logout_request_response(q["SAMLResponse"], BINDING_HTTP_REDIRECT)
        assert parsed is not None and parsed.in_response_to == _id
        assert parsed.response.status.status_code.value.endswith(":Success")
        # the query signature is the SP key's (checked with the certificate in SP metadata)
        from propylon.saml.redirect import verify_redirect_signature

        sp_cert = x509.load_pem_x509_certificate(idp.sp_cert_pem.encode())
        verify_redirect_signature(urlsplit(back).query, [sp_cert.public_key()])  # type: ignore[list-item]

        # the session is over: tokens die with it
        for tok in (tokens["access_token"], refreshed["access_token"], refreshed["refresh_token"]):
            assert (await _introspect(browser, idp.app, tok))["active"] is False
        r = await token_request(
            browser,
            idp.app,
            {"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
        )
        assert r.status_code == 400
        # the same LogoutRequest again is refused
        r = await browser.get(urlsplit(url).path + "?" + urlsplit(url).query)
        assert r.status_code == 400
    rows = server.cli_json("audit", "list", idp.slug, "--action", "sso.saml.logout")
    outcomes = {(r["outcome"], r["reason"]) for r in rows}
    assert ("success", "idp_initiated") in outcomes
    assert ("failure", "signature_missing") in outcomes
    assert ("failure", "logout_request_replayed") in outcomes


async def test_sp_initiated_logout_answered_by_pysaml2(server: Server, tmp_path: Path) -> None:
    from saml2 import BINDING_HTTP_REDIRECT

    idp = await new_idp(server, tmp_path)
    email = f"bye@{idp.domain}"
    await idp.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await login(server, browser, idp, email, sign_response=True, sign_assertion=True)
        path = f"/saml/{idp.cid}/logout"
        # a link (or another site's form) only asks: the session stays until confirmed
        r = await browser.get(path, params={"return_to": "/signed-out-here"})
        assert r.status_code == 200 and "Sign out?" in r.text, r.text
        fields = hidden_fields(r.text)
        assert fields["return_to"] == "/signed-out-here"
        forged = {**fields, "confirm": "x" * len(fields["confirm"])}
        r = await browser.post(path, data=forged)
        assert r.status_code == 200 and "Sign out?" in r.text
        assert (await _introspect(browser, idp.app, tokens["access_token"]))["active"] is True
        r = await browser.post(path, data=fields)
        assert r.status_code == 302, r.text
        assert r.headers["location"].startswith(idp.slo + "?")
        assert 'propylon_session=""' in r.headers["set-cookie"]
        q = query_of(r.headers["location"])
        req = idp.server.parse_logout_request(
            q["SAMLRequest"], BINDING_HTTP_REDIRECT, sigalg=q["SigAlg"], signature=q["Signature"]
        )
        assert req is not None and req.message.name_id.text == email
        assert req.message.session_index and req.message.session_index[0].text
        # the local session already ended, and its refresh token with it
        assert (await _introspect(browser, idp.app, tokens["access_token"]))["active"] is False
        r = await token_request(
            browser,
            idp.app,
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

        response = idp.server.create_logout_response(req.message, [BINDING_HTTP_REDIRECT])
        path_query = _signed_logout_response_path(idp, response)
        r = await browser.get(path_query)
        assert r.status_code == 302 and r.headers["location"] == "/signed-out-here", r.text
        # once only
        r = await browser.get(path_query)
        assert r.status_code == 400 and "Sign-out failed" in r.text

        # a LogoutResponse nobody asked for is refused
        from saml2.samlp import LogoutRequest

        stray = LogoutRequest(id="_" + secrets.token_hex(8), issuer=req.message.issuer)
        stray_resp = idp.server.create_logout_response(stray, [BINDING_HTTP_REDIRECT])
        r = await browser.get(_signed_logout_response_path(idp, stray_resp))
        assert r.status_code == 400
    rows = server.cli_json("audit", "list", idp.slug, "--action", "sso.saml.logout")
    outcomes = {(r["outcome"], r["reason"]) for r in rows}
    assert ("success", "sp_initiated_sent_to_idp") in outcomes
    assert ("success", "sp_initiated_completed") in outcomes
    assert ("failure", "request_used_or_expired") in outcomes
    assert ("failure", "unsolicited_logout_response") in outcomes


async def test_logout_without_idp_slo_is_local_only(server: Server) -> None:
    from tests.sso.test_saml_login import new_org, response_for, start

    org = await new_org(server)
    assert org.connection["idp_slo_url"] is None
    email = f"local@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        request_id, relay, _ = await start(browser, org, email)
        acs = urlsplit(org.connection["acs_url"]).path
        r = await browser.post(
            acs, data={"SAMLResponse": response_for(org, email, request_id), "RelayState": relay}
        )
        assert r.status_code == 303
        cid = org.connection["connection_id"]
        r = await browser.get(f"/saml/{cid}/logout", params={"return_to": "https://evil.test/"})
        assert r.status_code == 200 and "Sign out?" in r.text
        r = await browser.post(f"/saml/{cid}/logout", data=hidden_fields(r.text))
        assert r.status_code == 200 and "Signed out" in r.text
        r = await browser.get(f"/saml/{cid}/slo")
        assert r.status_code == 400
        r = await browser.get("/saml/nope/slo?SAMLRequest=x")
        assert r.status_code == 404
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.logout")
    assert {r["reason"] for r in rows} >= {"sp_initiated_local_only", "message_missing"}


async def test_rp_logout_continues_to_the_idp_naming_the_name_id_as_asserted(
    server: Server, tmp_path: Path
) -> None:
    """``/oauth2/logout`` of a SAML session ends the IdP's session too: the LogoutRequest
    names the NameID with the assertion's Format and qualifiers (SAML Core §3.7.1, §2.2.3),
    and after the IdP's LogoutResponse the person goes on to the app's registered URI."""
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID

    idp = await new_idp(server, tmp_path)
    email = f"rp-slo@{idp.domain}"
    await idp.scim.post("/Users", json=user_body(email))
    # a NameID of another Format than emailAddress, with both qualifiers
    asserted = NameID(
        format=NAMEID_FORMAT_PERSISTENT,
        name_qualifier=idp.entity_id,
        sp_name_qualifier=idp.connection["sp_entity_id"],
        text=email,
    )
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await login(server, browser, idp, email, sign_assertion=True, name_id=asserted)
        r = await browser.get(
            "/oauth2/logout",
            params={
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": LOGOUT,
                "state": "bye",
            },
        )
        assert r.status_code == 302 and r.headers["location"].startswith(idp.slo + "?"), r.text
        assert 'propylon_session=""' in r.headers["set-cookie"]
        q = query_of(r.headers["location"])
        req = idp.server.parse_logout_request(
            q["SAMLRequest"], BINDING_HTTP_REDIRECT, sigalg=q["SigAlg"], signature=q["Signature"]
        )
        assert req is not None
        name_id = req.message.name_id
        assert name_id.text == asserted.text and name_id.format == NAMEID_FORMAT_PERSISTENT
        assert name_id.name_qualifier == idp.entity_id
        assert name_id.sp_name_qualifier == idp.connection["sp_entity_id"]
        assert req.message.session_index and req.message.session_index[0].text
        assert (await _introspect(browser, idp.app, tokens["access_token"]))["active"] is False
        # the IdP answers; the person goes on to where the app asked
        response = idp.server.create_logout_response(req.message, [BINDING_HTTP_REDIRECT])
        r = await browser.get(_signed_logout_response_path(idp, response))
        assert r.status_code == 302 and r.headers["location"] == LOGOUT + "?state=bye", r.text
    rows = server.cli_json("audit", "list", idp.slug, "--action", "sso.saml.logout")
    reasons = {(r["outcome"], r["reason"]) for r in rows}
    assert {
        ("success", "rp_initiated_sent_to_idp"),
        ("success", "sp_initiated_completed"),
    } <= reasons
