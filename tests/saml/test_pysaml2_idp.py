"""Interop: Responses produced by pysaml2 acting as the IdP (xmlsec1 underneath)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from propylon.saml import (
    IdpTrust,
    Reason,
    SamlValidationError,
    ValidationPolicy,
    build_sp_metadata,
    validate_response,
)

from . import idp as I

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="needs xmlsec1")


@pytest.fixture(scope="module")
def pysaml2_idp(
    tmp_path_factory: pytest.TempPathFactory, idp_kp: I.KeyPair, sp_kp: I.KeyPair
) -> Any:
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.saml import NAME_FORMAT_URI
    from saml2.server import Server

    d: Path = tmp_path_factory.mktemp("pysaml2")
    (d / "idp.key").write_bytes(idp_kp.key_pem)
    (d / "idp.crt").write_bytes(idp_kp.cert_pem)
    sp_md = build_sp_metadata(
        entity_id=I.SP_ENTITY, acs_url=I.ACS_URL, encryption_certificate=sp_kp.cert
    )
    (d / "sp.xml").write_bytes(sp_md)
    conf = IdPConfig()
    conf.load(
        {
            "entityid": I.IDP_ENTITY,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            ("https://idp.example/sso", BINDING_HTTP_REDIRECT)
                        ]
                    },
                    "policy": {
                        "default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}
                    },
                }
            },
            "key_file": str(d / "idp.key"),
            "cert_file": str(d / "idp.crt"),
            "metadata": {"local": [str(d / "sp.xml")]},
            "xmlsec_binary": shutil.which("xmlsec1"),
            "delete_tmpfiles": True,
        }
    )
    return Server(config=conf)


def _response(server: Any, **kw: Any) -> bytes:
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

    resp = server.create_authn_response(
        identity={"mail": ["ada@example.com"], "givenName": ["Ada"], "sn": ["Lovelace"]},
        in_response_to=I.REQUEST_ID,
        destination=I.ACS_URL,
        sp_entity_id=I.SP_ENTITY,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text="ada@example.com"),
        authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
        **kw,
    )
    return str(resp).encode()


def _validate(
    xml: bytes, trust: IdpTrust, sp_kp: I.KeyPair, policy: ValidationPolicy | None = None
) -> Any:
    import base64

    return validate_response(
        base64.b64encode(xml),
        trust=trust,
        policy=policy or ValidationPolicy(I.SP_ENTITY, I.ACS_URL),
        expected_request_id=I.REQUEST_ID,
        now=dt.datetime.now(dt.UTC),
        sp_decryption_key=sp_kp.key,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("sign_response", "sign_assertion"), [(True, False), (False, True), (True, True)]
)
def test_pysaml2_signed(
    pysaml2_idp: Any, trust: IdpTrust, sp_kp: I.KeyPair, sign_response: bool, sign_assertion: bool
) -> None:
    xml = _response(pysaml2_idp, sign_response=sign_response, sign_assertion=sign_assertion)
    a = _validate(xml, trust, sp_kp)
    assert a.name_id == "ada@example.com"
    assert a.response_signed is sign_response
    assert a.assertion_signed is sign_assertion
    assert "ada@example.com" in [v for vals in a.attributes.values() for v in vals]


def test_pysaml2_encrypted(pysaml2_idp: Any, trust: IdpTrust, sp_kp: I.KeyPair) -> None:
    """pysaml2 always encrypts with TripleDES-CBC: refused unless explicitly allowed."""
    xml = _response(
        pysaml2_idp,
        sign_response=True,
        sign_assertion=True,
        encrypt_assertion=True,
        encrypt_cert_assertion=sp_kp.cert_pem.decode(),
    )
    assert b"EncryptedAssertion" in xml
    with pytest.raises(SamlValidationError) as info:
        _validate(xml, trust, sp_kp)
    assert info.value.reason is Reason.UNSUPPORTED_ENCRYPTION_ALGORITHM
    lax = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, allow_tripledes=True)
    a = _validate(xml, trust, sp_kp, lax)
    assert a.encrypted and a.name_id == "ada@example.com"


def test_pysaml2_encrypted_aes(
    pysaml2_idp: Any, trust: IdpTrust, sp_kp: I.KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    import saml2.entity
    from saml2.sigver import pre_encryption_part

    # pysaml2 hard-codes TripleDES; point both the template and xmlsec1 at AES-256.
    monkeypatch.setattr(
        saml2.entity,
        "pre_encryption_part",
        functools.partial(
            pre_encryption_part, msg_enc="http://www.w3.org/2001/04/xmlenc#aes256-cbc"
        ),
    )
    original = pysaml2_idp.sec.encrypt_assertion
    monkeypatch.setattr(
        pysaml2_idp.sec,
        "encrypt_assertion",
        lambda *a, **k: original(*a, **{**k, "key_type": "aes-256"}),
    )
    xml = _response(
        pysaml2_idp,
        sign_response=False,
        sign_assertion=True,
        encrypt_assertion=True,
        encrypt_cert_assertion=sp_kp.cert_pem.decode(),
    )
    assert b"aes256-cbc" in xml
    a = _validate(xml, trust, sp_kp)
    assert a.encrypted and a.assertion_signed and a.name_id == "ada@example.com"
