"""Interoperability with independent IdP implementations, as subprocesses that answer one
sign-in each (``tests/interop/``): samlify (Node.js; xml-crypto signs and canonicalizes) and
Lasso (Entr'ouvert's C library, Debian's python3-lasso under the system Python).
SP-initiated (the IdP reads our AuthnRequest from the HTTP-Redirect query) and IdP-initiated,
both backends; samlify with exclusive and with inclusive Canonical XML 1.0 transforms.
``scripts/test`` installs both (``npm ci`` in ``tests/interop/samlify``, ``python3-lasso``).
Single Logout with them: test_saml_interop_slo.py."""

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
from tests.sso.test_saml_pysaml2 import idp_metadata

INTEROP = Path(__file__).resolve().parent.parent / "interop"
SYSTEM_PYTHON = "/usr/bin/python3"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
SLO = SSO + "/slo"  # the IdP's Single Logout endpoint


def _has_samlify() -> bool:
    return shutil.which("node") is not None and (INTEROP / "samlify/node_modules/samlify").is_dir()


def _has_lasso() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import lasso"], capture_output=True, check=False)
    return probe.returncode == 0


SAMLIFY = pytest.mark.skipif(not _has_samlify(), reason="needs node and samlify (scripts/test)")
LASSO = pytest.mark.skipif(not _has_lasso(), reason="needs python3-lasso (scripts/test)")
# (implementation, Reference c14n transform it is asked for)
IDPS = [
    pytest.param("samlify", EXC_C14N, marks=SAMLIFY, id="samlify-exc-c14n"),
    pytest.param("samlify", C14N_10, marks=SAMLIFY, id="samlify-c14n10"),
    pytest.param("lasso", EXC_C14N, marks=LASSO, id="lasso"),
]


def idp_request(org: Org, email: str, **fields: Any) -> dict[str, Any]:
    """What the IdP scripts read: the peers' metadata, the IdP's key, and ``fields``."""
    return {
        "sp_metadata": httpx.get(org.connection["sp_metadata_url"]).text,
        "sp_entity_id": org.connection["sp_entity_id"],
        "idp_metadata": idp_metadata(IDP, [org.idp.cert], SSO, SLO, signed_requests=False).decode(),
        "entity_id": IDP,
        "sso_url": SSO,
        "slo_url": SLO,
        "key_pem": org.idp.key_pem.decode(),
        "cert_pem": org.idp.cert_pem.decode(),
        "email": email,
        **fields,
    }


def run_idp(kind: str, request: dict[str, Any], *, refused: bool = False) -> dict[str, Any]:
    """One message from the ``kind`` IdP script (``tests/interop/``); with ``refused``, the
    script must fail instead (its error is returned as ``{"error"}``)."""
    cmd = (
        ["node", str(INTEROP / "samlify" / "idp.js")]
        if kind == "samlify"
        else [SYSTEM_PYTHON, str(INTEROP / "lasso_idp.py")]
    )
    out = subprocess.run(
        cmd, input=json.dumps(request), capture_output=True, text=True, timeout=60, check=False
    )
    if refused:
        assert out.returncode != 0, out.stdout
        return {"error": out.stderr}
    assert out.returncode == 0, out.stderr
    answer: dict[str, Any] = json.loads(out.stdout)
    return answer


def idp_response(
    kind: str, org: Org, email: str, c14n: str, query: str | None = None
) -> dict[str, Any]:
    """The IdP's signed Response for ``email`` (answering ``query``'s AuthnRequest, if any)."""
    answer = run_idp(kind, idp_request(org, email, c14n=c14n, query=query))
    xml = etree.fromstring(base64.b64decode(answer["SAMLResponse"]))
    transforms = [t.get("Algorithm") for t in xml.iter(f"{{{DS}}}Transform")]
    assert c14n in transforms, transforms
    return answer


def why(server: Server, org: Org) -> list[Any]:
    """The refusals' reasons and diagnoses, for an assertion message."""
    rows = server.cli_json("audit", "list", org.slug, "--action", "sso.saml.login")
    return [(r["reason"], r["diff"]) for r in rows if r["outcome"] == "failure"]


async def sign_in(
    server: Server,
    browser: httpx.AsyncClient,
    kind: str,
    org: Org,
    email: str,
    c14n: str = EXC_C14N,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An SP-initiated login through the ``kind`` IdP: the IdP's answer and the tokens."""
    verifier, challenge = pkce()
    params = auth_params(
        org.app, code_challenge=challenge, code_challenge_method="S256", login_hint=email
    )
    r = await browser.get("/oauth2/authorize", params=params)
    assert r.status_code == 302 and r.headers["location"].startswith(SSO)
    answer = idp_response(kind, org, email, c14n, urlsplit(r.headers["location"]).query)
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
    body: dict[str, Any] = tokens.json()
    return answer, body


@pytest.mark.parametrize(("kind", "c14n"), IDPS)
async def test_sp_initiated_login(server: Server, kind: str, c14n: str) -> None:
    org = await new_org(server)
    email = f"ada@{org.domain}"
    uid = (await org.scim.post("/Users", json=user_body(email))).json()["id"]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        _, tokens = await sign_in(server, browser, kind, org, email, c14n)
    _, claims = await decode(server, tokens["id_token"])
    assert claims["sub"] == uid and claims["email"] == email and claims["auth_method"] == "saml"


@pytest.mark.parametrize(("kind", "c14n"), IDPS)
async def test_idp_initiated_login(server: Server, kind: str, c14n: str) -> None:
    org = await new_org(server, idp_initiated=True)
    email = f"grace@{org.domain}"
    await org.scim.post("/Users", json=user_body(email))
    answer = idp_response(kind, org, email, c14n)
    acs = urlsplit(org.connection["acs_url"]).path
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        r = await browser.post(acs, data={"SAMLResponse": answer["SAMLResponse"]})
        assert r.status_code == 303, why(server, org)
        assert r.headers["location"].startswith(REDIRECT)
        again = await browser.post(acs, data={"SAMLResponse": answer["SAMLResponse"]})
        assert again.status_code == 400  # accepted once
