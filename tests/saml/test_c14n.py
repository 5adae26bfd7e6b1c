"""Canonicalization: inclusive C14N 1.0, C14N 1.1 and exclusive c14n, with and without
comments, as SignedInfo's CanonicalizationMethod and as the Reference transform, each signed
by real signers: libxmlsec1 (python-xmlsec) and signxml. pysaml2 signs with exclusive c14n
only (its template is fixed), which the other SAML tests cover."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLSigner, methods

from propylon.saml import Reason, SamlValidationError
from propylon.saml.dsig import C14N_METHODS

from . import idp as I
from .conftest import Validate, assertion_of, ser, tree

C = xmlsec.constants
# xmlsec transform -> the URI the signature carries
XMLSEC_C14N = {
    "http://www.w3.org/2001/10/xml-exc-c14n#": C.TransformExclC14N,
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": C.TransformExclC14NWithComments,
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": C.TransformInclC14N,
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (
        C.TransformInclC14NWithComments
    ),
    "http://www.w3.org/2006/12/xml-c14n11": C.TransformInclC14N11,
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": C.TransformInclC14N11WithComments,
}
XML_NS = "http://www.w3.org/XML/1998/namespace"


def test_every_method_is_tested() -> None:
    assert set(XMLSEC_C14N) == set(C14N_METHODS)
    assert {m.value for m in CanonicalizationMethod} == set(C14N_METHODS)


def _xmlsec_response(
    idp_kp: I.KeyPair,
    si: str,
    transform: str,
    *,
    sign_response: bool = False,
    root_attrs: dict[str, str] | None = None,
    text: Callable[[str], str] = lambda x: x,
    **sign_kw: Any,
) -> bytes:
    """A Response (assertion signed in place, optionally the Response too) by libxmlsec1."""
    root = tree(text(I.response_xml(I.Spec())).encode())
    for name, value in (root_attrs or {}).items():
        root.set(name, value)
    etree.indent(root)  # whitespace around the signature, as real IdPs send it
    kw: dict[str, Any] = {"c14n": XMLSEC_C14N[si], "transform": XMLSEC_C14N[transform], **sign_kw}
    I.sign(assertion_of(root), idp_kp, **kw)
    if sign_response:
        I.sign(root, idp_kp, **kw)
    return ser(root)


@pytest.mark.parametrize("uri", sorted(C14N_METHODS))
@pytest.mark.parametrize("sign_response", [False, True])
def test_xmlsec_signed_with_each_c14n_is_accepted(
    validate: Validate, idp_kp: I.KeyPair, uri: str, sign_response: bool
) -> None:
    xml = _xmlsec_response(idp_kp, uri, uri, sign_response=sign_response)
    a = validate(xml)
    assert a.name_id == "ada@example.com" and a.assertion_signed
    assert a.response_signed is sign_response


@pytest.mark.parametrize(
    ("si", "transform"),
    [
        ("http://www.w3.org/2006/12/xml-c14n11", "http://www.w3.org/2001/10/xml-exc-c14n#"),
        (
            "http://www.w3.org/2001/10/xml-exc-c14n#",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        ),
    ],
)
def test_signed_info_and_reference_c14n_may_differ(
    validate: Validate, idp_kp: I.KeyPair, si: str, transform: str
) -> None:
    assert validate(_xmlsec_response(idp_kp, si, transform, sign_response=True)).assertion_signed


def _signxml_sign(el: etree._Element, kp: I.KeyPair, c14n: str) -> etree._Element:
    """signxml's enveloped signature of ``el`` (a copy that carries every namespace in
    scope, as signxml re-serializes its input), Signature placed after the Issuer."""
    placeholder = etree.Element(f"{{{I.DS}}}Signature", Id="placeholder", nsmap={"ds": I.DS})
    el.find(f"{{{I.SAML}}}Issuer").addnext(placeholder)  # type: ignore[union-attr]
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=c14n,
    )
    return signer.sign(  # type: ignore[no-any-return]
        el,
        key=kp.key_pem,
        cert=kp.cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


@pytest.mark.parametrize("uri", sorted(C14N_METHODS))
def test_signxml_signed_with_each_c14n_is_accepted(
    validate: Validate, idp_kp: I.KeyPair, uri: str
) -> None:
    root = tree(I.response_xml(I.Spec()).encode())
    assertion = assertion_of(root)
    root.replace(assertion, _signxml_sign(assertion, idp_kp, uri))
    signed = tree(ser(_signxml_sign(root, idp_kp, uri)))
    sig = signed.find(f"{{{I.DS}}}Signature")
    assert (
        sig is not None
        and sig.find(f".//{{{I.DS}}}CanonicalizationMethod").get(  # type: ignore[union-attr]
            "Algorithm"
        )
        == uri
    )
    a = validate(ser(signed))
    assert a.response_signed and a.assertion_signed and a.name_id == "ada@example.com"


@pytest.mark.parametrize(
    "uri",
    ["http://www.w3.org/TR/2001/REC-xml-c14n-20010315", "http://www.w3.org/2006/12/xml-c14n11"],
)
def test_inclusive_c14n_imports_xml_lang_of_the_response(
    validate: Validate, refused: Callable[..., SamlValidationError], idp_kp: I.KeyPair, uri: str
) -> None:
    """C14N 1.0/1.1 §2.4: the signed Assertion inherits the Response's xml:lang, so it is
    covered by the Assertion's digest: changing it afterwards breaks the signature."""
    xml = _xmlsec_response(idp_kp, uri, uri, root_attrs={f"{{{XML_NS}}}lang": "en"})
    validate(xml)
    refused(xml.replace(b'xml:lang="en"', b'xml:lang="fr"'), Reason.DIGEST_MISMATCH)


def test_c14n11_does_not_inherit_xml_id_where_c14n10_does(
    validate: Validate, refused: Callable[..., SamlValidationError], idp_kp: I.KeyPair
) -> None:
    attrs = {f"{{{XML_NS}}}id": "r1"}
    c14n11 = "http://www.w3.org/2006/12/xml-c14n11"
    xml = _xmlsec_response(idp_kp, c14n11, c14n11, root_attrs=attrs)
    validate(xml)
    validate(xml.replace(b'xml:id="r1"', b'xml:id="r2"'))  # not covered under 1.1
    c14n10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    xml = _xmlsec_response(idp_kp, c14n10, c14n10, root_attrs=attrs)
    validate(xml)
    refused(xml.replace(b'xml:id="r1"', b'xml:id="r2"'), Reason.DIGEST_MISMATCH)


def test_c14n11_xml_base_fixup_is_refused_not_guessed(
    validate: Validate, refused: Callable[..., SamlValidationError], idp_kp: I.KeyPair
) -> None:
    attrs = {f"{{{XML_NS}}}base": "https://idp.example/saml/"}
    c14n10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    validate(_xmlsec_response(idp_kp, c14n10, c14n10, root_attrs=attrs))
    c14n11 = "http://www.w3.org/2006/12/xml-c14n11"
    refused(
        _xmlsec_response(idp_kp, c14n11, c14n11, root_attrs=attrs), Reason.UNSUPPORTED_ALGORITHM
    )


@pytest.mark.parametrize(
    "uri",
    [
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        "http://www.w3.org/2006/12/xml-c14n11#WithComments",
    ],
)
def test_comments_in_the_signed_assertion_with_a_comments_c14n(
    validate: Validate, idp_kp: I.KeyPair, uri: str
) -> None:
    """A ``#ID`` reference drops comments before its transforms (XML-DSig §4.3.3.3), as
    libxmlsec1 does; the comment neither breaks the signature nor splits the NameID."""
    xml = _xmlsec_response(
        idp_kp,
        uri,
        uri,
        text=lambda x: x.replace("ada@example.com</", "ada@<!-- c -->example.com</"),
    )
    assert b"<!-- c -->" in xml
    assert validate(xml).name_id == "ada@example.com"


def test_inclusive_c14n_takes_no_inclusive_namespaces(
    refused: Callable[..., SamlValidationError], idp_kp: I.KeyPair
) -> None:
    """InclusiveNamespaces is a parameter of exclusive c14n only (Exc-C14N §3)."""
    c14n10 = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    root = tree(I.response_xml(I.Spec()).encode())
    I.sign(
        assertion_of(root),
        idp_kp,
        c14n=XMLSEC_C14N[c14n10],
        transform=XMLSEC_C14N[c14n10],
        inclusive_prefixes=["xs"],
    )
    refused(ser(root), Reason.SIGNATURE_MALFORMED)


def test_unknown_c14n_is_still_refused(
    refused: Callable[..., SamlValidationError], idp_kp: I.KeyPair
) -> None:
    xml = I.build(idp=idp_kp)
    with pytest.raises(AssertionError):  # the substitution must hit
        assert b"xml-c14n2" in xml
    bad = xml.replace(
        b'CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"',
        b'CanonicalizationMethod Algorithm="http://www.w3.org/2010/xml-c14n2"',
    )
    assert bad != xml
    refused(bad, Reason.UNSUPPORTED_ALGORITHM)


@pytest.mark.parametrize(
    "uri",
    [
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
        "http://www.w3.org/2006/12/xml-c14n11#WithComments",
    ],
)
def test_signed_info_is_canonicalized_with_its_comments_under_a_comments_method(
    validate: Validate, refused: Callable[..., SamlValidationError], idp_kp: I.KeyPair, uri: str
) -> None:
    """SignedInfo is canonicalized as it stands (XML-DSig §4.4.3), comments included when
    its method says so: the comment is signed, though the parse removes comments."""
    exc = "http://www.w3.org/2001/10/xml-exc-c14n#"
    xml = _xmlsec_response(idp_kp, uri, exc, signed_info_comment=" idp build 7 ")
    assert b"<!-- idp build 7 -->" in xml
    validate(xml)
    refused(xml.replace(b"idp build 7", b"idp build 8"), Reason.SIGNATURE_INVALID)


def test_signed_info_comments_do_not_count_without_a_comments_method(
    validate: Validate, idp_kp: I.KeyPair
) -> None:
    exc = "http://www.w3.org/2001/10/xml-exc-c14n#"
    xml = _xmlsec_response(idp_kp, exc, exc, signed_info_comment=" idp build 7 ")
    validate(xml.replace(b"idp build 7", b"idp build 8"))
