"""Attacks from the literature; each must be refused with the exact reason.

XSW1-XSW8 follow Somorovsky et al., "On Breaking SAML: Be Whoever You Want to
Be" (USENIX Security 2012) as catalogued by the SAML Raider tool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from propylon.saml import Reason, SamlValidationError

from . import idp as I
from .conftest import Validate, assertion_of, clone, ser, set_name_id, signature_of, tree

Refused = Callable[..., SamlValidationError]
EVIL = "admin@victim.example"
DS_OBJECT = f"{{{I.DS}}}Object"


def _signed_response(kp: I.KeyPair) -> etree._Element:
    return tree(I.build(idp=kp, sign_response=True, sign_assertion=False))


def _signed_assertion(kp: I.KeyPair) -> etree._Element:
    return tree(I.build(idp=kp, sign_assertion=True))


def _evil_copy(assertion: etree._Element, new_id: str | None = "_evil") -> etree._Element:
    evil = clone(assertion)
    sig = evil.find(f"{{{I.DS}}}Signature")
    if sig is not None:
        evil.remove(sig)
    if new_id:
        evil.set("ID", new_id)
    set_name_id(evil, EVIL)
    return evil


# --- XSW1/XSW2: Response signed ---------------------------------------------------


def test_xsw1_original_response_inside_signature(idp_kp: I.KeyPair, refused: Refused) -> None:
    original = _signed_response(idp_kp)
    evil = clone(original)
    evil.set("ID", "_evil_response")
    set_name_id(assertion_of(evil), EVIL)
    assertion_of(evil).set("ID", "_evil_assertion")
    obj = etree.SubElement(signature_of(evil), DS_OBJECT)
    obj.append(original)  # the untouched signed Response hides in ds:Object
    refused(ser(evil), Reason.SIGNATURE_REFERENCE_MISMATCH)


def test_xsw1_same_ids(idp_kp: I.KeyPair, refused: Refused) -> None:
    original = _signed_response(idp_kp)
    evil = clone(original)
    set_name_id(assertion_of(evil), EVIL)
    etree.SubElement(signature_of(evil), DS_OBJECT).append(original)
    refused(ser(evil), Reason.DUPLICATE_ID)


def test_xsw2_original_response_detached_sibling(idp_kp: I.KeyPair, refused: Refused) -> None:
    original = _signed_response(idp_kp)
    evil = clone(original)
    evil.set("ID", "_evil_response")
    assertion_of(evil).set("ID", "_evil_assertion")
    set_name_id(assertion_of(evil), EVIL)
    signature_of(evil).addprevious(original)
    # a Response is no child of a Response (SAML Core §3.2.2): refused before any signature
    refused(ser(evil), Reason.UNEXPECTED_CONTENT)


# --- XSW3..XSW8: Assertion signed ----------------------------------------------


def test_xsw3_evil_assertion_before_original(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    assertion_of(root).addprevious(_evil_copy(assertion_of(root)))
    refused(ser(root), Reason.MULTIPLE_ASSERTIONS)


def test_xsw3_same_id(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    assertion_of(root).addprevious(_evil_copy(assertion_of(root), new_id=None))
    refused(ser(root), Reason.DUPLICATE_ID)


def test_xsw4_evil_assertion_wraps_original(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    original = assertion_of(root)
    evil = _evil_copy(original)
    original.addprevious(evil)
    evil.append(original)
    refused(ser(root), Reason.MULTIPLE_ASSERTIONS)


def test_xsw5_signature_kept_copy_appended(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    original = assertion_of(root)
    pristine = _evil_copy(original, new_id=None)
    set_name_id(original, EVIL)  # evil content keeps the original signature
    root.append(pristine)
    refused(ser(root), Reason.DUPLICATE_ID)


def test_xsw6_original_inside_evil_signature(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    original = assertion_of(root)
    evil = clone(original)
    evil.set("ID", "_evil")
    set_name_id(evil, EVIL)
    etree.SubElement(signature_of(evil), DS_OBJECT).append(clone(original))
    root.replace(original, evil)
    refused(ser(root), Reason.MULTIPLE_ASSERTIONS)


def test_xsw7_original_in_extensions(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    original = assertion_of(root)
    ext = etree.Element(f"{{{I.SAMLP}}}Extensions")
    root.find(f"{{{I.SAML}}}Issuer").addnext(ext)  # type: ignore[union-attr]
    evil = clone(original)
    evil.set("ID", "_evil")
    set_name_id(evil, EVIL)
    ext.append(clone(original))
    root.replace(original, evil)
    refused(ser(root), Reason.MULTIPLE_ASSERTIONS)


def test_xsw8_original_in_object_of_evil(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    original = assertion_of(root)
    evil = clone(original)
    set_name_id(evil, EVIL)
    evil.set("ID", "_evil")
    etree.SubElement(signature_of(evil), DS_OBJECT).append(_evil_copy(original, new_id=None))
    assertion_of(evil.find(f".//{DS_OBJECT}")).set("ID", original.get("ID"))  # type: ignore[arg-type]
    root.replace(original, evil)
    refused(ser(root), Reason.MULTIPLE_ASSERTIONS)


def test_single_assertion_with_stolen_signature(idp_kp: I.KeyPair, refused: Refused) -> None:
    """Only one assertion left: the signature names another ID than its parent."""
    root = _signed_assertion(idp_kp)
    assertion_of(root).set("ID", "_evil")
    set_name_id(assertion_of(root), EVIL)
    refused(ser(root), Reason.SIGNATURE_REFERENCE_MISMATCH)


def test_signed_element_hidden_in_object(idp_kp: I.KeyPair, refused: Refused) -> None:
    """The Reference target exists but is not the Signature's parent."""
    root = _signed_assertion(idp_kp)
    original = assertion_of(root)
    decoy = etree.SubElement(etree.SubElement(signature_of(original), DS_OBJECT), "decoy")
    decoy.set("ID", original.get("ID") or "")
    original.set("ID", "_evil")
    refused(ser(root), Reason.SIGNATURE_REFERENCE_MISMATCH)


def test_object_in_signature_refused(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    etree.SubElement(signature_of(assertion_of(root)), DS_OBJECT)
    refused(ser(root), Reason.SIGNATURE_MALFORMED)


# --- Signature / key attacks --------------------------------------------------


def test_signature_removed(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    assertion_of(root).remove(signature_of(assertion_of(root)))
    refused(ser(root), Reason.SIGNATURE_MISSING)


@pytest.mark.parametrize("sign_response", [False, True])
def test_attacker_key_in_keyinfo(
    attacker_kp: I.KeyPair, refused: Refused, sign_response: bool
) -> None:
    xml = I.build(idp=attacker_kp, sign_response=sign_response, sign_assertion=not sign_response)
    assert b"X509Certificate" in xml  # the attacker ships their cert; it must be ignored
    refused(xml, Reason.SIGNATURE_INVALID)


def test_attacker_key_with_idp_cert_in_keyinfo(
    attacker_kp: I.KeyPair, idp_kp: I.KeyPair, refused: Refused
) -> None:
    root = tree(I.response_xml(I.Spec()).encode())
    I.sign(assertion_of(root), attacker_kp, key_info_cert=idp_kp.cert)
    refused(ser(root), Reason.SIGNATURE_INVALID)


def test_tampered_assertion_inside_signed_response(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_response(idp_kp)
    set_name_id(assertion_of(root), EVIL)
    refused(ser(root), Reason.DIGEST_MISMATCH)


def test_tampered_signed_assertion(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    set_name_id(assertion_of(root), EVIL)
    refused(ser(root), Reason.DIGEST_MISMATCH)


def test_broken_response_signature_around_valid_assertion(
    idp_kp: I.KeyPair, refused: Refused
) -> None:
    root = tree(I.build(idp=idp_kp, sign_response=True, sign_assertion=True))
    root.set("IssueInstant", "2025-03-14T15:09:27.000Z")
    refused(ser(root), Reason.DIGEST_MISMATCH)
    root = tree(I.build(idp=idp_kp, sign_response=True, sign_assertion=True))
    value = signature_of(root).find(f"{{{I.DS}}}SignatureValue")
    assert value is not None and value.text
    value.text = ("B" if value.text[0] == "A" else "A") + value.text[1:]
    refused(ser(root), Reason.SIGNATURE_INVALID)


def test_non_success_status_around_signed_assertion(idp_kp: I.KeyPair, refused: Refused) -> None:
    spec = I.Spec(status="urn:oasis:names:tc:SAML:2.0:status:Responder")
    refused(I.build(spec, idp=idp_kp, sign_response=True), Reason.STATUS_NOT_SUCCESS)
    refused(I.build(spec, idp=idp_kp), Reason.STATUS_NOT_SUCCESS)


def test_two_validly_signed_assertions(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    other = tree(I.assertion_xml(I.Spec(assertion_id="_second", name_id=EVIL)).encode())
    I.sign(other, idp_kp)
    root.append(other)
    refused(ser(root), Reason.MULTIPLE_ASSERTIONS)


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"method": I.SIG_RSA_SHA1}, Reason.SHA1_FORBIDDEN),
        ({"digest": I.DIGEST_SHA1}, Reason.SHA1_FORBIDDEN),
    ],
)
def test_sha1_refused_by_default(
    idp_kp: I.KeyPair, refused: Refused, kw: dict[str, Any], reason: Reason
) -> None:
    refused(I.build(idp=idp_kp, **kw), reason)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"xml-exc-c14n#", b"xml-c14n-20010315"),  # inclusive c14n
        (b"xmldsig-more#rsa-sha256", b"xmldsig-more#hmac-sha256"),
        (b"xmldsig#enveloped-signature", b"xmldsig#base64"),
    ],
)
def test_unsupported_algorithms(
    idp_kp: I.KeyPair, refused: Refused, old: bytes, new: bytes
) -> None:
    xml = I.build(idp=idp_kp)
    assert old in xml
    refused(xml.replace(old, new), Reason.UNSUPPORTED_ALGORITHM)


def test_extra_xpath_transform(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    transforms = signature_of(assertion_of(root)).find(f".//{{{I.DS}}}Transforms")
    assert transforms is not None
    etree.SubElement(
        transforms, f"{{{I.DS}}}Transform", Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"
    )
    refused(ser(root), Reason.UNSUPPORTED_ALGORITHM)


def test_two_references(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = _signed_assertion(idp_kp)
    signed_info = signature_of(assertion_of(root))[0]
    signed_info.append(clone(signed_info[-1]))
    refused(ser(root), Reason.SIGNATURE_MALFORMED)


# --- NameID truncation (Duo Labs, CVE-2017-11427 family) ------------------------


@pytest.mark.parametrize("injection", [b"<!---->", b"<!-- x -->", b"<?pi x?>"])
def test_comment_cannot_truncate_name_id(
    validate: Validate, idp_kp: I.KeyPair, injection: bytes
) -> None:
    spec = I.Spec(name_id="user@evil.com.good.com")
    xml = I.build(spec, idp=idp_kp, sign_response=True)
    # c14n drops comments, so the signature still verifies after the injection.
    tampered = xml.replace(b"user@evil.com.good.com", b"user@evil.com" + injection + b".good.com")
    assert tampered != xml
    if injection.startswith(b"<?"):
        with pytest.raises(SamlValidationError) as info:  # PIs are part of c14n output
            validate(tampered)
        assert info.value.reason is Reason.DIGEST_MISMATCH
        return
    assert validate(tampered).name_id == "user@evil.com.good.com"


def test_comment_in_attribute_value(validate: Validate, idp_kp: I.KeyPair) -> None:
    xml = I.build(I.Spec(attributes={"role": ["admin-not"]}), idp=idp_kp)
    tampered = xml.replace(b">admin-not<", b">admin<!---->-not<")
    assert validate(tampered).attributes["role"] == ["admin-not"]
