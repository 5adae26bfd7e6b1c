"""End to end against pysaml2 acting as the IdP (xmlsec1 underneath): connection from the IdP's
metadata through the CLI, our SP metadata loaded into pysaml2, SP-initiated login (signed
Response, signed Assertion, both, encrypted Assertion), the OIDC code flow, refresh and
introspection, and Single Logout in both directions."""

from __future__ import annotations

import base64
import functools
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from propylon.admin import tenants as ops
from propylon.admin.audited import CLI
from tests.conftest import Server
from tests.http.test_scim_users import user_body
from tests.provider.helpers import (
    REDIRECT,
    App,
    auth_params,
    decode,
    new_app,
    pkce,
    token_request,
)
from tests.saml.idp import KeyPair, make_keypair

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="needs xmlsec1")

REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"


def _b64_der(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode()


def idp_metadata(
    entity_id: str, certs: list[x509.Certificate], sso: str, slo: str, *, signed_requests: bool
) -> bytes:
    """IdP metadata with any number of signing certificates (rotation) and SLO endpoints."""
    keys = "".join(
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
        f"{_b64_der(c)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for c in certs
    )
    return (
        f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{entity_id}">'
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"'
        f' WantAuthnRequestsSigned="{"true" if signed_requests else "false"}">{keys}'
        f'<md:SingleLogoutService Binding="{REDIRECT_BINDING}" Location="{slo}"'
        f' ResponseLocation="{slo}/response"/>'
        f'<md:SingleSignOnService Binding="{REDIRECT_BINDING}" Location="{sso}"/>'
        "</md:IDPSSODescriptor></md:EntityDescriptor>"
    ).encode()


@dataclass
class Idp:
    """A pysaml2 IdP wired to one Propylon connection."""

    entity_id: str
    sso: str
    slo: str
    key: KeyPair
    server: Any
    connection: dict[str, Any]
    sp_cert_pem: str
    slug: str
    domain: str
    scim: httpx.AsyncClient
    app: App

    @property
    def acs_path(self) -> str:
        return urlsplit(self.connection["acs_url"]).path

    @property
    def cid(self) -> str:
        return str(self.connection["connection_id"])


def pysaml2_server(
    tmp: Path, entity_id: str, key: KeyPair, sp_metadata: bytes, sso: str, slo: str
) -> Any:
    from saml2.config import IdPConfig
    from saml2.saml import NAME_FORMAT_URI
    from saml2.server import Server as Saml2Server

    tag = secrets.token_hex(4)
    (tmp / f"idp-{tag}.key").write_bytes(key.key_pem)
    (tmp / f"idp-{tag}.crt").write_bytes(key.cert_pem)
    (tmp / f"sp-{tag}.xml").write_bytes(sp_metadata)
    conf = IdPConfig()
    conf.load(
        {
            "entityid": entity_id,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [(sso, REDIRECT_BINDING)],
                        "single_logout_service": [
                            (slo, REDIRECT_BINDING),
                            (slo + "/response", REDIRECT_BINDING),
                        ],
                    },
                    "policy": {
                        "default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}
                    },
                    "want_authn_requests_signed": True,
                }
            },
            "key_file": str(tmp / f"idp-{tag}.key"),
            "cert_file": str(tmp / f"idp-{tag}.crt"),
            "metadata": {"local": [str(tmp / f"sp-{tag}.xml")]},
            "xmlsec_binary": shutil.which("xmlsec1"),
            "delete_tmpfiles": True,
        }
    )
    return Saml2Server(config=conf)


def sp_encryption_cert(sp_metadata: bytes) -> str:
    root = etree.fromstring(sp_metadata)
    (el,) = root.iterfind(f".//{{{MD}}}KeyDescriptor[@use='encryption']//{{{DS}}}X509Certificate")
    cert = x509.load_der_x509_certificate(base64.b64decode(el.text or ""))
    return cert.public_bytes(Encoding.PEM).decode()


async def new_idp(server: Server, tmp: Path, *connection_args: str) -> Idp:
    """A tenant, its directory, an app and a pysaml2 IdP connected through the CLI
    (``connection_args`` go to ``saml create-connection``; ``{app}`` is the app's id)."""
    app = await new_app(server)
    slug = f"p2-{secrets.token_hex(4)}"
    domain = f"{slug}.example.com"
    await ops.create_tenant(
        server.rt, CLI, slug=slug, name="pysaml2 Corp", domains=[domain], seats=None
    )
    d = await ops.create_directory(server.rt, CLI, slug)
    entity_id = f"https://idp-{slug}.example.org/saml2/idp/metadata"
    sso = f"https://idp-{slug}.example.org/sso/redirect"
    slo = f"https://idp-{slug}.example.org/slo/redirect"
    key = make_keypair("pysaml2 idp")
    md_file = tmp / f"{slug}-idp.xml"
    md_file.write_bytes(idp_metadata(entity_id, [key.cert], sso, slo, signed_requests=True))
    args = [a.replace("{app}", app.client_id) for a in connection_args]
    connection = server.cli_json(
        "saml", "create-connection", slug, "--metadata-file", str(md_file), *args
    )
    assert connection["idp_slo_url"] == slo and connection["expiring_soon"] is False
    sp_md = httpx.get(connection["sp_metadata_url"]).content
    assert b"SingleLogoutService" in sp_md and b'AuthnRequestsSigned="true"' in sp_md
    idp_server = pysaml2_server(tmp, entity_id, key, sp_md, sso, slo)
    scim = httpx.AsyncClient(
        base_url=d["base_url"], headers={"Authorization": f"Bearer {d['token']}"}, timeout=30
    )
    return Idp(
        entity_id,
        sso,
        slo,
        key,
        idp_server,
        connection,
        sp_encryption_cert(sp_md),
        slug,
        domain,
        scim,
        app,
    )


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def authorize_to_idp(
    browser: httpx.AsyncClient, idp: Idp, email: str
) -> tuple[Any, str, str]:
    """authorize → the IdP; pysaml2 parses (and verifies) our request."""
    from saml2 import BINDING_HTTP_REDIRECT

    verifier, challenge = pkce()
    params = auth_params(
        idp.app,
        state="s1",
        nonce="n1",
        code_challenge=challenge,
        code_challenge_method="S256",
        login_hint=email,
    )
    r = await browser.get("/oauth2/authorize", params=params)
    assert r.status_code == 302 and r.headers["location"].startswith(idp.sso), r.text
    q = query_of(r.headers["location"])
    req = idp.server.parse_authn_request(
        q["SAMLRequest"],
        BINDING_HTTP_REDIRECT,
        relay_state=q["RelayState"],
        sigalg=q["SigAlg"],
        signature=q["Signature"],
    )
    assert req is not None and req.message.assertion_consumer_service_url.endswith("/acs")
    return req, q["RelayState"], verifier


def pysaml2_response(
    idp: Idp, req: Any | None, email: str, name_id: Any | None = None, **kw: Any
) -> str:
    """pysaml2's Response to ``req``, or an unsolicited one (no InResponseTo) for ``None``;
    the NameID is the email address unless ``name_id`` (a pysaml2 ``NameID``) is given."""
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    resp = idp.server.create_authn_response(
        identity={"mail": [email], "givenName": ["Ada"], "sn": ["Lovelace"]},
        in_response_to=req.message.id if req is not None else None,
        destination=(
            req.message.assertion_consumer_service_url
            if req is not None
            else idp.connection["acs_url"]
        ),
        sp_entity_id=idp.connection["sp_entity_id"],
        name_id=name_id or NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
        authn={
            "class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "authn_auth": idp.entity_id,
        },
        session_not_on_or_after=None,
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
        **kw,
    )
    return base64.b64encode(str(resp).encode()).decode()


async def login(
    server: Server, browser: httpx.AsyncClient, idp: Idp, email: str, **kw: Any
) -> dict[str, Any]:
    """The whole SP-initiated login; returns the token response."""
    req, relay, verifier = await authorize_to_idp(browser, idp, email)
    saml = pysaml2_response(idp, req, email, **kw)
    if kw.get("encrypt_assertion"):
        assert b"EncryptedAssertion" in base64.b64decode(saml)
        assert b"aes256-cbc" in base64.b64decode(saml)
    r = await browser.post(idp.acs_path, data={"SAMLResponse": saml, "RelayState": relay})
    # signed in, the browser goes straight back to the app with its code
    assert r.status_code == 303 and r.headers["location"].startswith(REDIRECT), r.text
    q = query_of(r.headers["location"])
    tokens = await token_request(
        browser,
        idp.app,
        {
            "grant_type": "authorization_code",
            "code": q["code"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    body: dict[str, Any] = tokens.json()
    return body


@pytest.fixture
def aes_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    """pysaml2 hard-codes TripleDES (refused by default): point it at AES-256-CBC."""
    import saml2.entity
    import saml2.sigver
    from saml2.sigver import pre_encryption_part

    monkeypatch.setattr(
        saml2.entity,
        "pre_encryption_part",
        functools.partial(
            pre_encryption_part, msg_enc="http://www.w3.org/2001/04/xmlenc#aes256-cbc"
        ),
    )
    original = saml2.sigver.SecurityContext.encrypt_assertion

    def encrypt(self: Any, *a: Any, **k: Any) -> Any:
        return original(self, *a, **{**k, "key_type": "aes-256"})

    monkeypatch.setattr(saml2.sigver.SecurityContext, "encrypt_assertion", encrypt)


@pytest.mark.parametrize(
    "how",
    [
        {"sign_response": True, "sign_assertion": False},
        {"sign_response": False, "sign_assertion": True},
        {"sign_response": True, "sign_assertion": True},
        {"sign_response": False, "sign_assertion": True, "encrypt_assertion": True},
    ],
    ids=["signed-response", "signed-assertion", "both", "encrypted"],
)
async def test_sp_initiated_login_with_pysaml2_idp(
    server: Server, tmp_path: Path, how: dict[str, Any], aes_encryption: None
) -> None:
    idp = await new_idp(server, tmp_path)
    email = f"ada@{idp.domain}"
    uid = (await idp.scim.post("/Users", json=user_body(email))).json()["id"]
    if how.get("encrypt_assertion"):
        how = {**how, "encrypt_cert_assertion": idp.sp_cert_pem}
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        tokens = await login(server, browser, idp, email, **how)
    _, claims = await decode(server, tokens["id_token"])
    assert claims["sub"] == uid and claims["email"] == email and claims["org_slug"] == idp.slug
    assert claims["auth_method"] == "saml" and claims["idp"] == idp.cid
    assert claims["nonce"] == "n1" and claims["sid"]
