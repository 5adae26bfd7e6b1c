"""XML-DSig verification restricted to the SAML profile (SAML Core 2.0 §5.4).

This is deliberately *not* a general XML-DSig implementation. A signature is
accepted only when all of these hold:

* it is an enveloped ``ds:Signature`` that is a direct child of the element it
  signs, and that element carries the ``ID`` its single ``ds:Reference`` names
  as ``URI="#ID"`` (SAML Core §5.4.1, §5.4.2);
* transforms are exactly *enveloped-signature* followed by one canonicalization
  (SAML Core §5.4.3/§5.4.4): exclusive c14n (with an optional ``InclusiveNamespaces
  PrefixList``, Exc-C14N §3), inclusive Canonical XML 1.0 or Canonical XML 1.1, each
  with or without comments;
* SignedInfo is canonicalised with one of those same six methods (XML-DSig §4.4.1);
* the digest and signature algorithms are SHA-2 based (SHA-1 only if allowed);
* the signature value verifies under one of the *pinned* public keys. The
  ``ds:KeyInfo`` of the message is never used to obtain a key.

Canonicalization is exact for what SAML signs, with these documented limits:

* Comments. For a same-document ``#ID`` reference XML-DSig §4.3.3.3 removes comment
  nodes before any transform, so a ``#WithComments`` Reference transform canonicalises
  without them. SignedInfo is canonicalised with its comments when its method says so:
  comments are removed at parse time (:mod:`propylon.saml.xml`), so when the document
  has any, SignedInfo's canonical form is taken from the same bytes parsed with comments
  (:class:`propylon.saml.xml.WithComments`); every value is still read from the
  comment-free tree.
* Inclusive c14n of a document subset (C14N 1.0 §2.4, C14N 1.1 §2.4): the apex element
  (the signed element, or SignedInfo) renders every namespace in scope (lxml copies the
  ancestors' declarations) and imports the ``xml:`` attributes of its ancestors that it
  does not carry itself: with C14N 1.0 every one (``xml:lang``, ``xml:space``,
  ``xml:base``, ``xml:id``...), with C14N 1.1 only the simple inheritable ``xml:lang`` and
  ``xml:space`` (``xml:id`` is not inherited). C14N 1.1's ``xml:base`` fixup is not
  implemented: an apex with an ancestor carrying ``xml:base`` under C14N 1.1 is refused
  (``unsupported_algorithm``). Exclusive c14n imports no ``xml:`` attribute
  (Exc-C14N §3), and needs no walk of the ancestors (the common, fast case).
* A decrypted Assertion is canonicalised in the context XML-Enc §4.5 gives it, in place
  of its EncryptedData: the EncryptedAssertion's in-scope namespaces and ``xml:``
  attributes (:mod:`propylon.saml.response`). An IdP that signed with inclusive c14n in
  another context (a namespace declared on the EncryptedAssertion only) does not verify:
  exclusive c14n, which SAML Core §5.4.3 recommends, has no such dependence.

The structure checks below
look at all child nodes: a processing instruction has a non-string tag and so
fails every tag comparison, which makes it a refusal rather than something
silently skipped.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from .errors import Reason, SamlValidationError
from .xml import (
    DS,
    XML_NS,
    Children,
    WithComments,
    b64decode_strict,
    child_nodes,
    xml_attributes,
)

__all__ = [
    "C14N_METHODS",
    "ENVELOPED",
    "EXC_C14N",
    "RSA_SHA1",
    "RSA_SHA256",
    "SHA1",
    "SHA256",
    "C14nMethod",
    "PublicKey",
    "verify_enveloped_signature",
]

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_MORE: Final = "http://www.w3.org/2001/04/xmldsig-more#"
ENVELOPED: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WC: Final = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
C14N10: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N10_WC: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
C14N11: Final = "http://www.w3.org/2006/12/xml-c14n11"
C14N11_WC: Final = "http://www.w3.org/2006/12/xml-c14n11#WithComments"
RSA_SHA256: Final = f"{_MORE}rsa-sha256"
RSA_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1: Final = "http://www.w3.org/2000/09/xmldsig#sha1"
_XML_BASE: Final = f"{{{XML_NS}}}base"
_C14N11_INHERITED: Final = frozenset({f"{{{XML_NS}}}lang", f"{{{XML_NS}}}space"})


class C14nMethod(NamedTuple):
    """One canonicalization algorithm: its URI and how lxml/libxml2 runs it."""

    uri: str
    exclusive: bool
    comments: bool
    version: str
    """``"exc"``, ``"1.0"`` or ``"1.1"``: which ``xml:`` attributes an apex inherits."""


C14N_METHODS: Final[dict[str, C14nMethod]] = {
    m.uri: m
    for m in (
        C14nMethod(EXC_C14N, True, False, "exc"),
        C14nMethod(EXC_C14N_WC, True, True, "exc"),
        C14nMethod(C14N10, False, False, "1.0"),
        C14nMethod(C14N10_WC, False, True, "1.0"),
        C14nMethod(C14N11, False, False, "1.1"),
        C14nMethod(C14N11_WC, False, True, "1.1"),
    )
}

# signature method URI -> (key kind, hash factory, is_sha1)
_SIG_METHODS: Final[dict[str, tuple[str, Callable[[], hashes.HashAlgorithm], bool]]] = {
    RSA_SHA256: ("rsa", hashes.SHA256, False),
    f"{_MORE}rsa-sha384": ("rsa", hashes.SHA384, False),
    f"{_MORE}rsa-sha512": ("rsa", hashes.SHA512, False),
    f"{_MORE}ecdsa-sha256": ("ec", hashes.SHA256, False),
    f"{_MORE}ecdsa-sha384": ("ec", hashes.SHA384, False),
    f"{_MORE}ecdsa-sha512": ("ec", hashes.SHA512, False),
    RSA_SHA1: ("rsa", hashes.SHA1, True),
    f"{_MORE}ecdsa-sha1": ("ec", hashes.SHA1, True),
}
# digest method URI -> (empty hash object, is_sha1). Callers hash with a
# .copy() of it: hashlib.sha256() looks the algorithm up in OpenSSL 3's
# provider store on every call, a copy does not (~1 us per validation here).
# The templates are never updated, so copying them from any thread is safe.
_DIGESTS: Final[dict[str, tuple[Any, bool]]] = {
    SHA256: (hashlib.sha256(), False),
    f"{_MORE}sha384": (hashlib.sha384(), False),
    "http://www.w3.org/2001/04/xmlenc#sha512": (hashlib.sha512(), False),
    SHA1: (hashlib.sha1(), True),
}

_SIGNATURE: Final = f"{{{DS}}}Signature"
_SIGNED_INFO: Final = f"{{{DS}}}SignedInfo"
_SIGNATURE_VALUE: Final = f"{{{DS}}}SignatureValue"
_KEY_INFO: Final = f"{{{DS}}}KeyInfo"
_C14N_METHOD: Final = f"{{{DS}}}CanonicalizationMethod"
_SIG_METHOD: Final = f"{{{DS}}}SignatureMethod"
_REFERENCE: Final = f"{{{DS}}}Reference"
_TRANSFORMS: Final = f"{{{DS}}}Transforms"
_TRANSFORM: Final = f"{{{DS}}}Transform"
_DIGEST_METHOD: Final = f"{{{DS}}}DigestMethod"
_DIGEST_VALUE: Final = f"{{{DS}}}DigestValue"
_INCLUSIVE_NS: Final = f"{{{EXC_C14N}}}InclusiveNamespaces"
_PKCS1V15: Final = padding.PKCS1v15()  # stateless; XML-DSig RSA is PKCS#1 v1.5 (RFC 4051 §2.3.2)


def _malformed(detail: str) -> SamlValidationError:
    return SamlValidationError(Reason.SIGNATURE_MALFORMED, detail)


def _c14n_method(method_el: etree._Element) -> tuple[C14nMethod, list[str] | None]:
    """The canonicalization a CanonicalizationMethod or Transform names, and for exclusive
    c14n its ``InclusiveNamespaces/@PrefixList`` (Exc-C14N §3); the inclusive methods take
    no parameter (C14N 1.0/1.1 have none)."""
    uri = method_el.get("Algorithm") or ""
    method = C14N_METHODS.get(uri)
    if method is None:
        raise SamlValidationError(Reason.UNSUPPORTED_ALGORITHM, f"c14n {uri!r}")
    if not len(method_el):  # len() counts PIs too, and creates no child proxies
        return method, None
    kids = child_nodes(method_el)
    if not method.exclusive or len(kids) != 1 or kids[0].tag != _INCLUSIVE_NS:
        raise _malformed("unexpected child of c14n method")
    return method, (kids[0].get("PrefixList") or "").split() or None


def _b64(el: etree._Element | None, what: str) -> bytes:
    """Base64 content of ``el``; line breaks and other whitespace are allowed
    (XML-DSig §4.5, §6.2 via XML Schema base64Binary), anything else is refused."""
    text = el.text if el is not None else None
    if not text:
        raise _malformed(f"{what} missing")
    try:
        return b64decode_strict("".join(text.split()))
    except (binascii.Error, ValueError) as exc:
        raise _malformed(f"{what} not base64") from exc


def _inherited_xml_attributes(apex: etree._Element, version: str) -> dict[str, str]:
    """The ``xml:`` attributes inclusive c14n imports into ``apex``, the element of the
    document subset whose parent is outside it (C14N 1.0 §2.4; C14N 1.1 §2.4): the
    nearest ancestor's value of each one ``apex`` does not carry itself."""
    found: dict[str, str] = {}
    for ancestor in apex.iterancestors():
        for name, value in xml_attributes(ancestor).items():
            if version == "1.1" and name == _XML_BASE:  # C14N 1.1 §2.4 fixup: not implemented
                raise SamlValidationError(
                    Reason.UNSUPPORTED_ALGORITHM, "C14N 1.1 with xml:base on an ancestor"
                )
            if name in found or name in apex.attrib:
                continue
            if version == "1.1" and name not in _C14N11_INHERITED:  # xml:id and others
                continue
            found[name] = value
    return found


def _c14n(
    el: etree._Element, method: C14nMethod, prefixes: list[str] | None, comments: bool
) -> bytes:
    if method.exclusive:
        return etree.tostring(
            el,
            method="c14n",
            exclusive=True,
            with_comments=comments,
            inclusive_ns_prefixes=prefixes,
        )
    imported = _inherited_xml_attributes(el, method.version)
    for name, value in imported.items():  # on the apex for the duration of the call
        el.set(name, value)
    try:
        return etree.tostring(el, method="c14n", exclusive=False, with_comments=comments)
    finally:
        for name in imported:
            del el.attrib[name]


def _c14n_without(
    parent: etree._Element, sig: etree._Element, method: C14nMethod, prefixes: list[str] | None
) -> bytes:
    """``method`` c14n of ``parent`` after the enveloped-signature transform, without
    comments (XML-DSig §4.3.3.3: a ``#ID`` reference's node-set has none).

    The transform removes the Signature element but not its following text node
    (XML-DSig §6.6.4), so the Signature's tail is re-attached to the preceding
    node while the Signature is detached; everything is restored afterwards so
    the tree is unchanged for the caller (and for an enclosing signature).
    """
    index = parent.index(sig)
    tail = sig.tail  # lxml moves an element's tail with it (out on remove, back on insert)
    prev = sig.getprevious()
    saved_text = parent.text if prev is None else prev.tail
    if tail:
        if prev is None:
            parent.text = (parent.text or "") + tail
        else:
            prev.tail = (prev.tail or "") + tail
    parent.remove(sig)
    try:
        return _c14n(parent, method, prefixes, False)
    finally:
        if tail:  # undo the re-attachment (each text write replaces a libxml2 node)
            if prev is None:
                parent.text = saved_text
            else:
                prev.tail = saved_text
        parent.insert(index, sig)


def _check_reference(
    ref: etree._Element, signed_id: str, allow_sha1: bool
) -> tuple[Any, C14nMethod, list[str] | None, bytes]:
    """Validate the single Reference; return (a fresh hash object, its c14n, PrefixList,
    digest value)."""
    if ref.get("URI") != f"#{signed_id}":
        raise SamlValidationError(
            Reason.SIGNATURE_REFERENCE_MISMATCH,
            f"Reference URI {ref.get('URI')!r} does not name the enclosing element #{signed_id}",
        )
    kids = child_nodes(ref)
    tags = [k.tag for k in kids]
    if tags != [_TRANSFORMS, _DIGEST_METHOD, _DIGEST_VALUE]:
        raise _malformed(f"unexpected Reference content {tags}")
    transforms = child_nodes(kids[0])
    if len(transforms) != 2 or transforms[0].tag != _TRANSFORM or transforms[1].tag != _TRANSFORM:
        raise SamlValidationError(
            Reason.UNSUPPORTED_ALGORITHM, "transforms must be enveloped-signature then one c14n"
        )
    first, second = transforms
    if (
        first.get("Algorithm") != ENVELOPED
        or len(first)
        or second.get("Algorithm") not in C14N_METHODS
    ):
        raise SamlValidationError(
            Reason.UNSUPPORTED_ALGORITHM,
            f"transforms {first.get('Algorithm')!r}, {second.get('Algorithm')!r}",
        )
    method, prefixes = _c14n_method(second)
    digest_alg = kids[1].get("Algorithm") or ""
    if digest_alg not in _DIGESTS:
        raise SamlValidationError(Reason.UNSUPPORTED_ALGORITHM, f"digest {digest_alg!r}")
    empty_hash, is_sha1 = _DIGESTS[digest_alg]
    if is_sha1 and not allow_sha1:
        raise SamlValidationError(Reason.SHA1_FORBIDDEN, "SHA-1 digest")
    return empty_hash.copy(), method, prefixes, _b64(kids[2], "DigestValue")


@functools.cache
def _key_kind(key_type: type) -> str | None:
    """``"rsa"``, ``"ec"`` or None for a public key class.

    cryptography's key classes are registered virtual subclasses of its ABCs,
    which makes each ``isinstance`` ~6,000 instructions (~1 us); the answer
    depends only on the class, so it is computed once per class.
    """
    if issubclass(key_type, rsa.RSAPublicKey):
        return "rsa"
    if issubclass(key_type, ec.EllipticCurvePublicKey):
        return "ec"
    return None


def _verify_value(
    keys: Sequence[PublicKey], kind: str, hash_alg: hashes.HashAlgorithm, sig: bytes, data: bytes
) -> bool:
    for key in keys:
        key_kind = _key_kind(type(key))
        try:
            if kind == "rsa" and key_kind == "rsa":
                cast(rsa.RSAPublicKey, key).verify(sig, data, _PKCS1V15, hash_alg)
                return True
            if kind == "ec" and key_kind == "ec":
                # XML-DSig ECDSA values are r || s, each half the length (RFC 4051 §3.3).
                half = len(sig) // 2
                if half == 0 or len(sig) % 2:
                    continue
                der = encode_dss_signature(
                    int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big")
                )
                cast(ec.EllipticCurvePublicKey, key).verify(der, data, ec.ECDSA(hash_alg))
                return True
        except InvalidSignature:
            continue
    return False


def find_signature(el: etree._Element, children: Children | None = None) -> etree._Element | None:
    """The enveloped ``ds:Signature`` direct child of ``el`` (at most one).

    ``children`` is ``Children(el)`` when the caller already has it.
    """
    kids = Children(el) if children is None else children
    if _SIGNATURE in kids.repeated:
        raise SamlValidationError(Reason.MULTIPLE_SIGNATURES, el.tag)
    return kids.first.get(_SIGNATURE)


def verify_enveloped_signature(
    signed: etree._Element,
    sig: etree._Element,
    keys: Sequence[PublicKey],
    *,
    allow_sha1: bool,
    comments: WithComments | None = None,
) -> str:
    """Verify ``sig`` (a direct child of ``signed``) against the pinned ``keys``;
    ``comments``: the document's comments, when it has any (see the module doc).

    Returns the signature method URI. On success every byte of ``signed`` except
    the Signature element itself is covered by the verified digest, so callers
    may read the subtree of ``signed`` — and only that subtree.
    """
    if sig.getparent() is not signed:
        raise SamlValidationError(Reason.SIGNATURE_REFERENCE_MISMATCH, "signature not enveloped")
    signed_id = signed.get("ID")
    if not signed_id:
        raise SamlValidationError(Reason.MISSING_ID, f"{signed.tag} has no ID")
    kids = child_nodes(sig)
    if len(kids) < 2 or kids[0].tag != _SIGNED_INFO or kids[1].tag != _SIGNATURE_VALUE:
        raise _malformed("Signature must start with SignedInfo, SignatureValue")
    signed_info = kids[0]
    si_kids = child_nodes(signed_info)
    if len(si_kids) != 3 or [k.tag for k in si_kids] != [_C14N_METHOD, _SIG_METHOD, _REFERENCE]:
        raise _malformed("SignedInfo must hold exactly one Reference (SAML Core §5.4.2)")
    c14n_el, method_el, ref = si_kids
    si_c14n, si_prefixes = _c14n_method(c14n_el)
    method = method_el.get("Algorithm") or ""
    if method not in _SIG_METHODS or len(method_el):
        raise SamlValidationError(Reason.UNSUPPORTED_ALGORITHM, f"signature method {method!r}")
    kind, hash_factory, method_is_sha1 = _SIG_METHODS[method]
    if method_is_sha1 and not allow_sha1:
        raise SamlValidationError(Reason.SHA1_FORBIDDEN, "SHA-1 signature method")
    hasher, ref_c14n, prefixes, expected = _check_reference(ref, signed_id, allow_sha1)
    if any(k.tag != _KEY_INFO for k in kids[2:]):
        raise _malformed("only KeyInfo may follow SignatureValue (no ds:Object)")
    signature_value = _b64(kids[1], "SignatureValue")

    hasher.update(_c14n_without(signed, sig, ref_c14n, prefixes))
    if not hmac.compare_digest(hasher.digest(), expected):
        raise SamlValidationError(Reason.DIGEST_MISMATCH, f"reference #{signed_id}")
    if si_c14n.comments and comments is not None:
        signed_info = comments.twin(signed_info)
    si_bytes = _c14n(signed_info, si_c14n, si_prefixes, si_c14n.comments)
    if not _verify_value(keys, kind, hash_factory(), signature_value, si_bytes):
        raise SamlValidationError(
            Reason.SIGNATURE_INVALID, "no pinned certificate verifies the signature"
        )
    return method
