"""The test IdP's SAML side against Propylon's real ACS: SP- and IdP-initiated sign-in into a
tenant, and each scenario's refusal as the ACS names it in the audit trail."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from propylon.saml import parse_idp_metadata
from propylon.testidp.keys import SUBJECT
from tests.conftest import Server
from tests.provider.helpers import (
    REDIRECT,
    auth_params,
    decode,
    pkce,
    token_request,
)
from tests.testidp.conftest import Tenant, add_user, form_of, new_tenant

PERSON = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "department": "Engineering",
    "groups": "Clinicians\nEveryone",
}


async def pick(
    browser: httpx.AsyncClient, picker: httpx.Response, email: str, scenario: str = "success"
) -> httpx.Response:
    """Fill in the picker, then post the test IdP's answer to the ACS like the browser does."""
    assert picker.status_code == 200, picker.text
    assert "TEST IdP - not for production" in picker.text
    action, hidden = form_of(picker.text)
    answer = await browser.post(
        action, data={**hidden, **PERSON, "email": email, "scenario": scenario}
    )
    assert answer.status_code == 200, answer.text
    acs, fields = form_of(answer.text)
    assert set(fields) <= {"SAMLResponse", "RelayState"}
    return await browser.post(urlsplit(acs).path, data=fields)


async def sp_initiated(
    server: Server, tenant: Tenant, email: str, scenario: str = "success"
) -> tuple[httpx.Response, httpx.AsyncClient, str]:
    browser = httpx.AsyncClient(base_url=server.url, timeout=30)
    verifier, challenge = pkce()
    params = auth_params(
        tenant.app,
        state="s1",
        nonce="n1",
        code_challenge=challenge,
        code_challenge_method="S256",
        login_hint=email,
    )
    r = await browser.get("/oauth2/authorize", params=params)
    assert r.status_code == 302, r.text
    assert r.headers["location"].startswith(f"{server.url}/test-idp/saml/sso?SAMLRequest=")
    picker = await browser.get(r.headers["location"])
    return await pick(browser, picker, email, scenario), browser, verifier


async def tokens_of(
    browser: httpx.AsyncClient, tenant: Tenant, r: httpx.Response, verifier: str
) -> Any:
    assert r.status_code == 303 and r.headers["location"].startswith(REDIRECT), r.text
    data = {
        "grant_type": "authorization_code",
        "code": parse_qs(urlsplit(r.headers["location"]).query)["code"][0],
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    tokens = await token_request(browser, tenant.app, data)
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def refusals(server: Server, tenant: Tenant) -> list[str]:
    """The connection's refused sign-ins (the demo tenant is shared by the tests)."""
    rows = server.cli_json("audit", "list", tenant.slug, "--action", "sso.saml.login")
    return [r["reason"] for r in rows if r["outcome"] == "failure" and r["target_id"] == tenant.cid]


async def test_metadata_is_the_test_idps_and_marked(idp_server: Server) -> None:
    r = httpx.get(f"{idp_server.url}/test-idp/saml/metadata", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/samlmetadata+xml"
    )
    md = parse_idp_metadata(r.content)
    assert md.entity_id == f"{idp_server.url}/test-idp/saml"
    assert md.sso_url() == f"{idp_server.url}/test-idp/saml/sso"
    (cert,) = md.signing_certificates
    assert SUBJECT in cert.subject.rfc4514_string() and cert.public_key().key_size == 2048
    # every process of the installation signs with the same key
    assert httpx.get(f"{idp_server.url}/test-idp/saml/metadata").content == r.content


async def test_sp_initiated_sign_in(idp_server: Server) -> None:
    tenant = await new_tenant(idp_server)
    email = tenant.email("ada")
    uid = await add_user(tenant, email)
    r, browser, verifier = await sp_initiated(idp_server, tenant, email)
    try:
        tokens = await tokens_of(browser, tenant, r, verifier)
    finally:
        await browser.aclose()
    _, claims = await decode(idp_server, tokens["id_token"])
    assert claims["sub"] == uid and claims["email"] == email and claims["idp"] == tenant.cid
    assert claims["auth_method"] == "saml" and claims["nonce"] == "n1"


async def test_idp_initiated_sign_in(idp_server: Server) -> None:
    tenant = await new_tenant(idp_server, allow_idp_initiated=True, idp_initiated_app="{app}")
    email = tenant.email("0grace")  # sorts first among the suggestions
    uid = await add_user(tenant, email)
    async with httpx.AsyncClient(base_url=idp_server.url, timeout=30) as browser:
        picker = await browser.get("/test-idp/saml/start", params={"connection_id": tenant.cid})
        assert email in picker.text  # the tenant's people are suggested
        r = await pick(browser, picker, email)
        assert r.status_code == 303 and r.headers["location"].startswith(REDIRECT + "?code=")
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        tokens = await token_request(browser, tenant.app, data)
        assert tokens.status_code == 200, tokens.text
    _, claims = await decode(idp_server, tokens.json()["id_token"])
    assert claims["sub"] == uid and claims["idp"] == tenant.cid
    # a connection that does not accept unsolicited Responses refuses the same answer
    strict = await new_tenant(idp_server)
    async with httpx.AsyncClient(base_url=idp_server.url, timeout=30) as browser:
        picker = await browser.get("/test-idp/saml/start", params={"connection_id": strict.cid})
        r = await pick(browser, picker, email)
    assert r.status_code == 400 and refusals(idp_server, strict) == ["unsolicited_response"]


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("error_response", "status_not_success"),
        ("expired", "subject_confirmation_expired"),
        ("wrong_audience", "audience_mismatch"),
        ("sha1", "sha1_forbidden"),
        ("wrong_key", "signature_invalid"),
        ("clock_skew", "assertion_not_yet_valid"),
        ("other_domain", "unknown_user"),
        ("missing_email", "unknown_user"),
    ],
)
async def test_each_scenario_is_refused_for_its_reason(
    idp_server: Server, scenario: str, reason: str
) -> None:
    tenant = await new_tenant(idp_server)
    email = tenant.email("ada")
    await add_user(tenant, email)
    r, browser, _ = await sp_initiated(idp_server, tenant, email, scenario)
    await browser.aclose()
    assert r.status_code in (400, 403) and "set-cookie" not in r.headers, r.text
    assert refusals(idp_server, tenant) == [reason]
