"""Unit tests of the SAML-profile XML-DSig verifier itself."""

from __future__ import annotations

import pytest
from lxml import etree

from propylon.saml import IdpTrust, Reason, SamlValidationError
from propylon.saml.dsig import find_signature, verify_enveloped_signature

from . import idp as I
from .conftest import assertion_of, signature_of


@pytest.mark.parametrize("pretty", [False, True])
def test_verification_does_not_mutate_tree(
    idp_kp: I.KeyPair, trust: IdpTrust, pretty: bool
) -> None:
    root = I.tree_of(I.build(idp=idp_kp, sign_response=True, pretty=pretty, tail="\n  "))
    before = etree.tostring(root)
    for el in (root, assertion_of(root)):
        sig = find_signature(el)
        assert sig is not None
        verify_enveloped_signature(el, sig, trust.public_keys, allow_sha1=False)
    assert etree.tostring(root) == before


def test_signature_must_be_child_of_signed_element(idp_kp: I.KeyPair, trust: IdpTrust) -> None:
    root = I.tree_of(I.build(idp=idp_kp))
    sig = signature_of(assertion_of(root))
    with pytest.raises(SamlValidationError) as info:
        verify_enveloped_signature(root, sig, trust.public_keys, allow_sha1=False)
    assert info.value.reason is Reason.SIGNATURE_REFERENCE_MISMATCH


def test_two_signatures_on_one_element(idp_kp: I.KeyPair) -> None:
    root = I.tree_of(I.build(idp=idp_kp))
    assertion = assertion_of(root)
    assertion.append(etree.fromstring(etree.tostring(signature_of(assertion))))
    with pytest.raises(SamlValidationError) as info:
        find_signature(assertion)
    assert info.value.reason is Reason.MULTIPLE_SIGNATURES


def test_wrong_key_type_never_used(ec_kp: I.KeyPair, idp_kp: I.KeyPair) -> None:
    """An RSA signature is not checked against an EC key (and vice versa)."""
    trust = IdpTrust(I.IDP_ENTITY, (ec_kp.cert,))
    root = I.tree_of(I.build(idp=idp_kp))
    a = assertion_of(root)
    with pytest.raises(SamlValidationError) as info:
        verify_enveloped_signature(a, signature_of(a), trust.public_keys, allow_sha1=False)
    assert info.value.reason is Reason.SIGNATURE_INVALID
