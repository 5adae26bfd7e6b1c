"""Single Logout with independent IdP implementations, samlify (Node.js) and Lasso (C, Debian's
python3-lasso), over the HTTP-Redirect binding (SAML Bindings §3.4) on both backends
(SAML Profiles §4.4): SP-initiated (the IdP checks the query signature of our LogoutRequest
with the certificate in our SP metadata, refuses it with one bit flipped, and answers with a
signed LogoutResponse) and IdP-initiated (the IdP's signed LogoutRequest for the NameID and
SessionIndex it asserted ends the session; the IdP checks our signed LogoutResponse).
pysaml2's SLO is in test_saml_pysaml2_slo.py; the IdP scripts in ``tests/interop/``."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx
import pytest
from lxml import etree

from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import App, basic, token_request
from tests.provider.test_rp_logout import hidden_fields
from tests.sso.test_saml_interop import LASSO, SAMLIFY, SLO, idp_request, run_idp, sign_in
from tests.sso.test_saml_login import Org, new_org

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
IDPS = [pytest.param("samlify", marks=SAMLIFY), pytest.param("lasso", marks=LASSO)]
# how each implementation refuses a message whose query signature does not verify
BAD_SIGNATURE = {
    "samlify": "ERR_FAILED_MESSAGE_SIGNATURE_VERIFICATION",
    "lasso": "SignatureError",  # DsInvalidSignatureError, ProfileCannotVerifySignatureError
}


def session_index(answer: dict[str, Any]) -> str:
    """The SessionIndex of the AuthnStatement the IdP asserted (SAML Core §2.7.2)."""
    xml = etree.fromstring(base64.b64decode(answer["SAMLResponse"]))
    statement = xml.find(f".//{{{SAML}}}AuthnStatement")
    assert statement is not None
    value = statement.get("SessionIndex")
    assert value
    return value


def with_flipped_signature(query: str) -> str:
    """``query`` with one bit of its Signature flipped, the other parameters as they were."""
    parts = query.split("&")
    [at] = [i for i, p in enumerate(parts) if p.startswith("Signature=")]
    signature = bytearray(base64.b64decode(unquote(parts[at].removeprefix("Signature="))))
    signature[0] ^= 1
    parts[at] = "Signature=" + quote(base64.b64encode(bytes(signature)).decode(), safe="")
    return "&".join(parts)


def path_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + "?" + parts.query


async def active(browser: httpx.AsyncClient, app: App, token: str) -> bool:
    r = await browser.post("/oauth2/introspect", data={"token": token}, auth=basic(app))
    assert r.status_code == 200, r.text
    return bool(r.json()["active"])


async def assert_session_over(browser: httpx.AsyncClient, org: Org, tokens: dict[str, Any]) -> None:
    for tok in (tokens["access_token"], tokens["refresh_token"]):
        assert await active(browser, org.app, tok) is False
    r = await token_request(
        browser, org.app, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("kind", IDPS)
async def test_sp_initiated_logout_answered_by_the_idp(server: Server, kind: str) -> None:
    org = await new_org(server, slo_url=SLO)
    assert org.connection["idp_slo_url"] == SLO
    email = f"slo-sp@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        answer, tokens = await sign_in(server, browser, kind, org, email)
        session = answer.get("session")  # Lasso's session state (samlify keeps none)
        assert await active(browser, org.app, tokens["access_token"]) is True
        path = f"/saml/{org.connection['connection_id']}/logout"
        r = await browser.get(path, params={"return_to": "/signed-out-here"})
        assert r.status_code == 200 and "Sign out?" in r.text, r.text
        r = await browser.post(path, data=hidden_fields(r.text))
        assert r.status_code == 302 and r.headers["location"].startswith(SLO + "?"), r.text
        # the IdP verifies the query signature with the SP metadata's certificate
        query = urlsplit(r.headers["location"]).query
        tampered = with_flipped_signature(query)
        refused = run_idp(
            kind,
            idp_request(org, email, action="logout_response", query=tampered, session=session),
            refused=True,
        )
        assert BAD_SIGNATURE[kind] in refused["error"], refused
        out = run_idp(
            kind, idp_request(org, email, action="logout_response", query=query, session=session)
        )
        assert out["name_id"] == email and out["session_index"] == session_index(answer)
        assert out["url"].startswith(org.connection["slo_url"] + "?")
        await assert_session_over(browser, org, tokens)
        r = await browser.get(path_query(out["url"]))
        assert r.status_code == 302 and r.headers["location"] == "/signed-out-here", r.text
        r = await browser.get(path_query(out["url"]))  # once only
        assert r.status_code == 400
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.logout")
    outcomes = {(r["outcome"], r["reason"]) for r in rows}
    assert ("success", "sp_initiated_sent_to_idp") in outcomes
    assert ("success", "sp_initiated_completed") in outcomes


@pytest.mark.parametrize("kind", IDPS)
async def test_idp_initiated_logout_by_the_idp_ends_the_session(server: Server, kind: str) -> None:
    org = await new_org(server, slo_url=SLO)
    email = f"slo-idp@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        answer, tokens = await sign_in(server, browser, kind, org, email)
        session = answer.get("session")  # Lasso's session state (samlify keeps none)
        assert await active(browser, org.app, tokens["access_token"]) is True
        out = run_idp(
            kind,
            idp_request(
                org,
                email,
                action="logout_request",
                session_index=session_index(answer),
                relay_state="rs-idp",
                session=session,
            ),
        )
        assert out["url"].startswith(org.connection["slo_url"] + "?")
        r = await browser.get(path_query(out["url"]))
        assert r.status_code == 302 and r.headers["location"].startswith(SLO + "?"), r.text
        answered = parse_qs(urlsplit(r.headers["location"]).query)
        assert answered["RelayState"] == ["rs-idp"] and answered["SigAlg"] == [RSA_SHA256]
        await assert_session_over(browser, org, tokens)
        # the IdP checks our LogoutResponse's query signature, Issuer and Status
        query = urlsplit(r.headers["location"]).query
        check = {"action": "parse_logout_response", "logout": out.get("logout")}
        tampered = idp_request(org, email, **check, query=with_flipped_signature(query))
        refused = run_idp(kind, tampered, refused=True)
        assert BAD_SIGNATURE[kind] in refused["error"], refused
        parsed = run_idp(kind, idp_request(org, email, **check, query=query))
        assert parsed["in_response_to"] == out["request_id"]
        assert parsed["issuer"] == org.connection["sp_entity_id"]
        r = await browser.get(path_query(out["url"]))  # processed once
        assert r.status_code == 400
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.logout")
    done = [r for r in rows if (r["outcome"], r["reason"]) == ("success", "idp_initiated")]
    assert len(done) == 1 and done[0]["diff"]["sessions_ended"]["after"] == 1, rows
