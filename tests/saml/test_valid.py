"""Happy paths: every supported signing/encryption shape validates and reads right."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import xmlsec

from propylon.saml import IdpTrust, InMemoryReplayCache, Reason, ValidationPolicy

from . import idp as I
from .conftest import Validate


@pytest.mark.parametrize(
    ("sign_response", "sign_assertion"), [(False, True), (True, False), (True, True)]
)
def test_signed_shapes(
    validate: Validate, idp_kp: I.KeyPair, sign_response: bool, sign_assertion: bool
) -> None:
    xml = I.build(idp=idp_kp, sign_response=sign_response, sign_assertion=sign_assertion)
    a = validate(xml)
    assert a.name_id == "ada@example.com"
    assert a.name_id_format == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert a.attributes == I.DEFAULT_ATTRIBUTES
    assert a.response_signed is sign_response
    assert a.assertion_signed is sign_assertion
    assert a.issuer == I.IDP_ENTITY
    assert a.assertion_id == "id1234567890abcdef1234567890"
    assert a.response_id == "id9876543210fedcba9876543210"
    assert a.in_response_to == I.REQUEST_ID
    assert a.session_index == "id1710428966123.1337"
    assert a.authn_instant == I.NOW
    assert a.session_not_on_or_after == I.NOW + dt.timedelta(hours=8)
    assert a.not_on_or_after == I.NOW + dt.timedelta(minutes=5)
    assert a.replay_cache_until == a.not_on_or_after + dt.timedelta(minutes=2)
    assert a.authn_context_class_ref is not None
    assert a.signature_algorithm.endswith("rsa-sha256")
    assert not a.encrypted


@pytest.mark.parametrize(
    ("alg", "bits"),
    [
        (xmlsec.constants.TransformAes128Cbc, 128),
        (xmlsec.constants.TransformAes256Cbc, 256),
        (xmlsec.constants.TransformAes128Gcm, 128),
        (xmlsec.constants.TransformAes256Gcm, 256),
    ],
)
@pytest.mark.parametrize("sign_response", [False, True])
def test_encrypted_assertion(
    validate: Validate,
    idp_kp: I.KeyPair,
    sp_kp: I.KeyPair,
    alg: object,
    bits: int,
    sign_response: bool,
) -> None:
    root = I.tree_of(I.build(idp=idp_kp, sign_assertion=not sign_response))
    I.encrypt_assertion(root, sp_kp, data_alg=alg, key_bits=bits)
    if sign_response:
        I.sign(root, idp_kp)
    a = validate(I.serialize(root))
    assert a.encrypted
    assert a.name_id == "ada@example.com"
    assert a.attributes["groups"] == ["Everyone", "Engineering", "propylon-admins"]


def test_rsa15_allowed_only_when_enabled(
    validate: Validate, idp_kp: I.KeyPair, sp_kp: I.KeyPair, refused: object
) -> None:
    root = I.tree_of(I.build(idp=idp_kp))
    I.encrypt_assertion(root, sp_kp, key_alg=xmlsec.constants.TransformRsaPkcs1)
    xml = I.serialize(root)
    refused(xml, Reason.UNSUPPORTED_ENCRYPTION_ALGORITHM)  # type: ignore[operator]
    lax = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, allow_rsa1_5=True)
    assert validate(xml, policy=lax).encrypted


def test_rotation_several_pinned_certs(
    validate: Validate, idp_kp: I.KeyPair, idp2_kp: I.KeyPair
) -> None:
    trust = IdpTrust(I.IDP_ENTITY, (idp_kp.cert, idp2_kp.cert))
    assert validate(I.build(idp=idp2_kp), trust=trust).name_id == "ada@example.com"
    assert validate(I.build(idp=idp_kp), trust=trust).name_id == "ada@example.com"


def test_ecdsa_signature(validate: Validate, ec_kp: I.KeyPair) -> None:
    trust = IdpTrust(I.IDP_ENTITY, (ec_kp.cert,))
    xml = I.build(idp=ec_kp, sign_response=True, method=I.SIG_ECDSA_SHA256)
    a = validate(xml, trust=trust)
    assert a.signature_algorithm.endswith("ecdsa-sha256")


def test_inclusive_namespaces_prefix_list(validate: Validate, idp_kp: I.KeyPair) -> None:
    """Exc-C14N §3: the PrefixList must be honoured when digesting."""
    xml = I.build(idp=idp_kp, sign_response=True, inclusive_prefixes=["xs", "xsi", "saml2"])
    assert b"PrefixList" in xml
    assert validate(xml).name_id == "ada@example.com"


def test_sha1_accepted_only_when_allowed(validate: Validate, idp_kp: I.KeyPair) -> None:
    xml = I.build(idp=idp_kp, method=I.SIG_RSA_SHA1, digest=I.DIGEST_SHA1)
    lax = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, allow_sha1=True)
    assert validate(xml, policy=lax).signature_algorithm.endswith("rsa-sha1")


def test_idp_initiated_when_allowed(validate: Validate, idp_kp: I.KeyPair) -> None:
    spec = I.Spec(in_response_to=None)
    lax = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, allow_idp_initiated=True)
    a = validate(I.build(spec, idp=idp_kp), policy=lax, expected_request_id=None)
    assert a.in_response_to is None


@pytest.mark.parametrize("delta", [dt.timedelta(minutes=-7), dt.timedelta(minutes=6, seconds=59)])
def test_clock_skew_tolerated(validate: Validate, idp_kp: I.KeyPair, delta: dt.timedelta) -> None:
    # Valid window is [NOW-5min, NOW+5min) widened by 2 minutes of skew.
    assert validate(I.build(idp=idp_kp), now=I.NOW + delta).name_id


def test_replay_id_surfaced_and_cache(validate: Validate, idp_kp: I.KeyPair) -> None:
    xml = I.build(idp=idp_kp)
    cache = InMemoryReplayCache()
    first, second = validate(xml), validate(xml)
    assert first.assertion_id == second.assertion_id
    assert cache.check_and_store(first.assertion_id, first.replay_cache_until, I.NOW)
    assert not cache.check_and_store(second.assertion_id, second.replay_cache_until, I.NOW)
    later = first.replay_cache_until + dt.timedelta(seconds=1)
    assert cache.check_and_store(first.assertion_id, later + dt.timedelta(minutes=5), later)


def test_attribute_edge_cases(validate: Validate, idp_kp: I.KeyPair) -> None:
    spec = I.Spec(attributes={"a": ["x &amp; y"], "b": [], "c": ["1", "2"]})
    a = validate(I.build(spec, idp=idp_kp))
    assert a.attributes == {"a": ["x &amp; y"], "b": [], "c": ["1", "2"]}


def test_result_is_read_from_whitespace_formatted_nameid(
    validate: Validate, idp_kp: I.KeyPair
) -> None:
    spec = I.Spec(name_id="\n   ada@example.com\n ")
    assert validate(I.build(spec, idp=idp_kp)).name_id == "ada@example.com"


@pytest.mark.parametrize("tail", [None, "\n    ", "\n"])
def test_pretty_printed_with_signature_tails(
    validate: Validate, idp_kp: I.KeyPair, tail: str | None
) -> None:
    """Enveloped transform keeps the whitespace after the Signature (XML-DSig §6.6.4)."""
    xml = I.build(idp=idp_kp, pretty=True, sign_response=True, sign_assertion=True, tail=tail)
    assert validate(xml).name_id == "ada@example.com"
    # ... and verification leaves the tree unchanged for the enclosing signature.
    root = I.tree_of(xml)
    assert I.serialize(root) == xml


@pytest.mark.parametrize(
    "signed_info_c14n",
    [xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformExclC14NWithComments],
)
def test_exc_c14n_with_comments(
    validate: Validate, idp_kp: I.KeyPair, signed_info_c14n: Any
) -> None:
    """``#ID`` references drop comments (XML-DSig §4.3.3.3), so #WithComments still verifies."""
    from lxml import etree

    root = I.tree_of(I.response_xml(I.Spec()).encode())
    a = root.find(f"{{{I.SAML}}}Assertion")
    assert a is not None
    a.insert(2, etree.Comment(" signed comment "))
    sig = xmlsec.template.create(a, signed_info_c14n, xmlsec.constants.TransformRsaSha256, ns="ds")
    a.insert(1, sig)
    ref = xmlsec.template.add_reference(
        sig, xmlsec.constants.TransformSha256, uri="#" + (a.get("ID") or "")
    )
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14NWithComments)
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_memory(idp_kp.key_pem, xmlsec.constants.KeyDataFormatPem)
    ctx.register_id(a, "ID")
    ctx.sign(sig)
    xml = I.serialize(root)
    assert b"signed comment" in xml and b"WithComments" in xml
    assert validate(xml).name_id == "ada@example.com"
