"""Enveloped XML signatures as SAML IdPs make them (SAML Core 2.0 §5.4, XML-DSig 1.1).

One ``ds:Reference`` to the signed element's ``ID``, the transforms *enveloped-signature* and
Exclusive XML Canonicalization 1.0, SignedInfo canonicalised the same way, the signer's
certificate in ``ds:KeyInfo`` (as most IdPs send it: Propylon ignores it and uses the pinned
one). RSA-SHA256 with a SHA-256 digest, or RSA-SHA1 with a SHA-1 digest for the test IdP's
``sha1`` scenario (RFC 6931 §2.3.2, §2.1.1).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from propylon.saml.dsig import ENVELOPED, EXC_C14N, RSA_SHA1, RSA_SHA256, SHA1, SHA256
from propylon.saml.xml import DS, SAML
from propylon.testidp.keys import KeyPair

__all__ = ["sign_enveloped"]

_ALGORITHMS: Final = {
    False: (RSA_SHA256, SHA256, hashlib.sha256, hashes.SHA256),
    True: (RSA_SHA1, SHA1, hashlib.sha1, hashes.SHA1),
}


def _ds(parent: etree._Element, local: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DS}}}{local}", attrs)


def sign_enveloped(el: etree._Element, signer: KeyPair, *, sha1: bool = False) -> None:
    """Sign ``el`` (which has an ``ID``) in place: the Signature goes right after its
    ``saml:Issuer`` (SAML's schema puts it there), or first."""
    signed_id = el.get("ID")
    if not signed_id:
        raise ValueError("the signed element needs an ID")
    method, digest_method, digest_of, hash_alg = _ALGORITHMS[sha1]
    digest = digest_of(etree.tostring(el, method="c14n", exclusive=True)).digest()

    sig = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS})
    info = _ds(sig, "SignedInfo")
    _ds(info, "CanonicalizationMethod", Algorithm=EXC_C14N)
    _ds(info, "SignatureMethod", Algorithm=method)
    ref = _ds(info, "Reference", URI=f"#{signed_id}")
    transforms = _ds(ref, "Transforms")
    _ds(transforms, "Transform", Algorithm=ENVELOPED)
    _ds(transforms, "Transform", Algorithm=EXC_C14N)
    _ds(ref, "DigestMethod", Algorithm=digest_method)
    _ds(ref, "DigestValue").text = base64.b64encode(digest).decode()
    value = _ds(sig, "SignatureValue")
    x509_data = _ds(_ds(sig, "KeyInfo"), "X509Data")
    _ds(x509_data, "X509Certificate").text = base64.b64encode(signer.certificate_der).decode()

    issuer = el.find(f"{{{SAML}}}Issuer")
    if issuer is not None:
        issuer.addnext(sig)
    else:
        el.insert(0, sig)
    signed_info = etree.tostring(info, method="c14n", exclusive=True)
    signature = signer.key.sign(signed_info, padding.PKCS1v15(), hash_alg())
    value.text = base64.b64encode(signature).decode()
