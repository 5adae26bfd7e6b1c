"""The test IdP's pure parts: keys, signatures checked by an independent verifier
(libxmlsec1 through python-xmlsec), AuthnRequest reading, the picker's form, OIDC tokens."""

from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import xmlsec
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet
from lxml import etree

from propylon.crypto.secretbox import SecretBox
from propylon.saml import parse_idp_metadata
from propylon.saml.errors import SamlValidationError
from propylon.saml.messages import build_authn_request
from propylon.saml.redirect import encode_redirect_url
from propylon.testidp import oidc_provider as op
from propylon.testidp.keys import SUBJECT, TestIdpKeys, make_keypair
from propylon.testidp.picker import read_choice
from propylon.testidp.saml_idp import (
    BINDING_POST,
    BINDING_REDIRECT,
    build_idp_metadata,
    read_authn_request,
)
from propylon.testidp.saml_response import Person, SamlAnswer, build_response
from propylon.testidp.scenarios import Scenario

BOX = SecretBox([b"k" * 32])
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
KEYS = TestIdpKeys(*(make_keypair(label, NOW) for label in ("saml", "wrong-key", "oidc")))
ANSWER = SamlAnswer(
    "https://p.test/test-idp/saml", "https://p.test/saml/c1/acs", "https://p.test/saml/c1", "_r1"
)
ADA = Person("ada@demo.example", "Ada", "Lovelace", "Engineering", ("Clinicians",))
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


def test_keys_are_rsa_2048_distinct_and_marked_as_test_keys() -> None:
    assert (
        len({KEYS.saml.certificate_der, KEYS.wrong.certificate_der, KEYS.oidc.certificate_der}) == 3
    )
    for pair in (KEYS.saml, KEYS.wrong, KEYS.oidc):
        assert pair.key.key_size == 2048
        assert SUBJECT in pair.certificate.subject.rfc4514_string()


def _xmlsec_verifies(xml: bytes, cert_pem: str) -> bool:
    root = etree.fromstring(xml)
    assertion = root.find(f"{{{SAML}}}Assertion")
    signed = assertion if assertion is not None else root
    xmlsec.tree.add_ids(signed, ["ID"])
    sig = xmlsec.tree.find_node(signed, xmlsec.constants.NodeSignature)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(cert_pem.encode(), xmlsec.constants.KeyDataFormatCertPem)
    try:
        ctx.verify(sig)
    except xmlsec.Error:
        return False
    return True


@pytest.mark.parametrize("scenario", [Scenario.SUCCESS, Scenario.SHA1, Scenario.ERROR_RESPONSE])
def test_signatures_verify_with_libxmlsec1(scenario: Scenario) -> None:
    xml = build_response(ANSWER, ADA, scenario, KEYS, NOW)
    assert _xmlsec_verifies(xml, KEYS.saml.certificate_pem)
    assert not _xmlsec_verifies(xml, KEYS.wrong.certificate_pem)
    method = b"rsa-sha1" if scenario is Scenario.SHA1 else b"rsa-sha256"
    assert method in xml


def test_wrong_key_does_not_verify_with_the_metadata_certificate() -> None:
    xml = build_response(ANSWER, ADA, Scenario.WRONG_KEY, KEYS, NOW)
    assert not _xmlsec_verifies(xml, KEYS.saml.certificate_pem)
    assert _xmlsec_verifies(xml, KEYS.wrong.certificate_pem)


def test_metadata_parses_with_the_signing_certificate() -> None:
    md = parse_idp_metadata(
        build_idp_metadata(ANSWER.idp_entity_id, "https://p.test/test-idp/saml/sso", KEYS.saml)
    )
    assert md.signing_certificates == (KEYS.saml.certificate,)
    assert (
        md.sso_url(BINDING_REDIRECT)
        == md.sso_url(BINDING_POST)
        == "https://p.test/test-idp/saml/sso"
    )


def test_reads_propylons_own_authn_requests() -> None:
    xml = build_authn_request(
        request_id="_abc",
        issue_instant=NOW,
        sp_entity_id="https://p.test/saml/c1",
        acs_url=ANSWER.acs_url,
        destination="https://p.test/test-idp/saml/sso",
        force_authn=True,
    )
    url = encode_redirect_url("https://p.test/test-idp/saml/sso", xml, relay_state="rs")
    value = parse_qs(urlsplit(url).query)["SAMLRequest"][0]
    req = read_authn_request(value, BINDING_REDIRECT)
    assert (req.id, req.issuer, req.acs_url, req.force_authn) == (
        "_abc",
        "https://p.test/saml/c1",
        ANSWER.acs_url,
        True,
    )
    assert read_authn_request(base64.b64encode(xml).decode(), BINDING_POST) == req


def _deflated(xml: bytes) -> str:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(c.compress(xml) + c.flush()).decode()


@pytest.mark.parametrize(
    "value",
    [
        "not base64!",
        base64.b64encode(b"not deflated").decode(),
        _deflated(b"<x/>"),
        _deflated(b'<!DOCTYPE x [<!ENTITY a "b">]><x/>'),
        _deflated(
            b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"'
            b' ID="_a" Version="2.0"/>'
        ),
        _deflated(b"<" * 70000),
    ],
)
def test_hostile_requests_are_refused(value: str) -> None:
    with pytest.raises(SamlValidationError):
        read_authn_request(value, BINDING_REDIRECT)


def test_picker_form_is_checked() -> None:
    ok = read_choice({"email": "ada@demo.example", "groups": "A, B\nA", "scenario": "sha1"}, "saml")
    assert not ok.errors and ok.person.groups == ("A", "B") and ok.scenario is Scenario.SHA1
    bad = read_choice(
        {
            "email": "nobody",
            "scenario": "nonce_mismatch",
            "groups": ",".join(f"g{i}" for i in range(60)),
        },
        "saml",
    )
    assert [f for f, _ in bad.errors] == ["email", "groups", "scenario-success"]
    assert not read_choice({"email": "a@b.example", "scenario": "nonce_mismatch"}, "oidc").errors


def test_codes_are_sealed_and_expire() -> None:
    key = BOX.subkey("t")
    sealed = op.seal(key, "code", {"a": 1, "exp": int(NOW.timestamp()) + 60})
    assert op.open_sealed(key, "code", sealed, NOW) == {"a": 1, "exp": int(NOW.timestamp()) + 60}
    assert op.open_sealed(key, "access", sealed, NOW) is None
    assert op.open_sealed(key, "code", sealed, NOW + timedelta(seconds=61)) is None
    assert op.open_sealed(key, "code", sealed[:-2] + "AA", NOW) is None
    assert op.open_sealed(key, "code", "%%%", NOW) is None


def test_pkce() -> None:
    verifier = "v" * 43
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    assert op.pkce_matches(challenge, verifier) and not op.pkce_matches(challenge, "w" * 43)
    assert not op.pkce_matches(challenge, None) and op.pkce_matches(None, None)
    assert not op.pkce_matches(challenge, "short") and not op.pkce_matches(challenge, "é" * 43)


@pytest.mark.parametrize("scenario", list(Scenario))
def test_id_tokens_per_scenario(scenario: Scenario) -> None:
    if scenario in (Scenario.SHA1, Scenario.ERROR_RESPONSE):
        return
    grant = op.Grant.of(
        ADA,
        scenario,
        client_id="test-client-x",
        redirect_uri="https://p.test/cb",
        nonce="n1",
        code_challenge=None,
        now=NOW,
    )
    token = op.id_token("https://p.test/test-idp/oidc", grant, KEYS, NOW)
    keyset = KeySet.import_key_set(op.jwks(KEYS))
    if scenario is Scenario.WRONG_KEY:
        with pytest.raises(BadSignatureError):
            jwt.decode(token, keyset)
        return
    claims = jwt.decode(token, keyset).claims
    assert claims["iss"] == "https://p.test/test-idp/oidc"
    assert (claims["aud"] == "test-client-x") is (scenario is not Scenario.WRONG_AUDIENCE)
    assert (claims["nonce"] == "n1") is (scenario is not Scenario.NONCE_MISMATCH)
    assert ("email" in claims) is (scenario is not Scenario.MISSING_EMAIL)
    now = int(NOW.timestamp())
    assert (claims["exp"] < now) is (scenario is Scenario.EXPIRED)
    assert (claims["iat"] > now) is (scenario is Scenario.CLOCK_SKEW)


def test_clients_are_named_and_keyed_by_the_server_secret() -> None:
    from dataclasses import dataclass

    from propylon.settings import Settings
    from propylon.testidp.identity import test_client, test_client_secret

    @dataclass
    class Rt:
        settings: Settings
        secret_box: SecretBox

    rt = Rt(Settings(), BOX)
    client_id, secret = test_client(rt, "demo tenant/é")
    assert client_id == "test-client-demo-tenant--" and secret == test_client_secret(rt, client_id)
    other = Rt(Settings(), SecretBox([b"z" * 32]))
    assert test_client_secret(other, client_id) != secret
    with pytest.raises(ValueError):
        test_client_secret(rt, "someone")
