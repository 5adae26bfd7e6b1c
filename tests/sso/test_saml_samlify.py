"""Interoperability with samlify (Node.js; xml-crypto signs and canonicalizes) as the IdP:
an independent implementation of SAML and XML-DSig. SP-initiated (samlify reads our
AuthnRequest from the HTTP-Redirect query) and IdP-initiated, with exclusive c14n and with
inclusive Canonical XML 1.0 as the Reference transform, both backends. ``scripts/test``
installs samlify (``npm ci`` in ``tests/interop/samlify``)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from lxml import etree

from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import REDIRECT, auth_params, decode, pkce, token_request
from tests.sso.test_saml_login import IDP, SSO, Org, new_org

SAMLIFY = Path(__file__).resolve().parent.parent / "interop" / "samlify"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (SAMLIFY / "node_modules" / "samlify").is_dir(),
    reason="needs node and samlify (scripts/test installs it)",
)


def samlify_response(org: Org, email: str, c14n: str, query: str | None = None) -> dict[str, Any]:
    """samlify's signed Response (assertion and message signed) for ``email``."""
    request = {
        "sp_metadata": httpx.get(org.connection["sp_metadata_url"]).text,
        "entity_id": IDP,
        "sso_url": SSO,
        "key_pem": org.idp.key_pem.decode(),
        "cert_pem": org.idp.cert_pem.decode(),
        "email": email,
        "c14n": c14n,
        "query": query,
    }
    out = subprocess.run(
        ["node", str(SAMLIFY / "idp.js")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, Any] = json.loads(out.stdout)
    xml = etree.fromstring(base64.b64decode(answer["SAMLResponse"]))
    transforms = [t.get("Algorithm") for t in xml.iter(f"{{{DS}}}Transform")]
    assert transforms.count(c14n) == 2, transforms  # Response and Assertion signed so
    return answer


def why(server: Server, org: Org) -> list[Any]:
    """The refusals' reasons and diagnoses, for an assertion message."""
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    return [(r["reason"], r["diff"]) for r in rows if r["outcome"] == "failure"]


@pytest.mark.parametrize("c14n", [EXC_C14N, C14N_10])
async def test_sp_initiated_login_with_samlify_as_idp(server: Server, c14n: str) -> None:
    org = await new_org(server)
    email = f"ada@{org.domain}"
    uid = (await org.scim.post("/Users", json=user_body(email))).json()["id"]
    verifier, challenge = pkce()
    params = auth_params(
        org.app, code_challenge=challenge, code_challenge_method="S256", login_hint=email
    )
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.get("/oauth2/authorize", params=params)
        assert r.status_code == 302 and r.headers["location"].startswith(SSO)
        answer = samlify_response(org, email, c14n, urlsplit(r.headers["location"]).query)
        acs = urlsplit(org.connection["acs_url"]).path
        form = {"SAMLResponse": answer["SAMLResponse"], "RelayState": answer["RelayState"]}
        r = await browser.post(acs, data=form)
        assert r.status_code == 303, why(server, org)
        assert r.headers["location"].startswith(REDIRECT)
        code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        }
        tokens = await token_request(browser, org.app, data)
        assert tokens.status_code == 200, tokens.text
    _, claims = await decode(server, tokens.json()["id_token"])
    assert claims["sub"] == uid and claims["email"] == email and claims["auth_method"] == "saml"


async def test_idp_initiated_login_with_samlify_as_idp(server: Server) -> None:
    org = await new_org(server, idp_initiated=True)
    email = f"grace@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    answer = samlify_response(org, email, C14N_10)
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.post(acs, data={"SAMLResponse": answer["SAMLResponse"]})
        assert r.status_code == 303, why(server, org)
        assert r.headers["location"].startswith(REDIRECT)
        again = await browser.post(acs, data={"SAMLResponse": answer["SAMLResponse"]})
        assert again.status_code == 400  # accepted once
