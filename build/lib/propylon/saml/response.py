"""SP-side validation of a SAML 2.0 ``samlp:Response`` (Web Browser SSO).

A pure function: bytes + plain configuration + an injected ``now`` in, a typed
:class:`~propylon.saml.model.Assertion` out, or one
:class:`~propylon.saml.errors.SamlValidationError`.

Rules come from SAML Core 2.0 §3.2.2 (StatusResponseType), §3.3.3 (Response),
SAML Bindings 2.0 §3.5.5.2 (Destination of signed messages) and SAML Profiles
2.0 §4.1.4.2 to §4.1.4.5 (Response/Assertion usage, replay). Signature wrapping
(Somorovsky et al., "On Breaking SAML", USENIX Security 2012) is defeated by
construction: exactly one assertion exists in the whole document, it must be a
direct child of the Response, IDs are unique, every signature must reference
its own parent element, and data is only read from elements whose signature
(or whose enclosing Response's signature) was verified.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from xml.sax.saxutils import quoteattr

from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from .assertion import check_issuer, read_assertion
from .diagnosis import signature_facts, signature_facts_tried
from .dsig import find_signature, verify_enveloped_signature
from .errors import Reason, SamlValidationError
from .model import Assertion, IdpTrust, ValidationPolicy
from .structure import ASSERTION, RESPONSE, check_content
from .xml import (
    SAML,
    SAMLP,
    XML_NS,
    Children,
    WithComments,
    child,
    decode_b64,
    full_text,
    parse_time,
    secure_fromstring,
    xml_attributes,
)
from .xmlenc import decrypt_encrypted_assertion

__all__ = ["validate_response", "validate_response_xml"]

SUCCESS: Final = "urn:oasis:names:tc:SAML:2.0:status:Success"
_RESPONSE: Final = f"{{{SAMLP}}}Response"
_STATUS: Final = f"{{{SAMLP}}}Status"
_STATUS_CODE: Final = f"{{{SAMLP}}}StatusCode"
_STATUS_MESSAGE: Final = f"{{{SAMLP}}}StatusMessage"
_ASSERTION: Final = f"{{{SAML}}}Assertion"
_ENCRYPTED_ASSERTION: Final = f"{{{SAML}}}EncryptedAssertion"


# Compiled once: lxml serialises concurrent use of one XPath object with an
# internal lock, and compiling per call costs more than evaluating. Plain str
# results (no "smart strings" that can find their parent), no EXSLT regexp
# functions registered per call, and ``//*/@ID`` (only elements have
# attributes) rather than ``//@ID``, which also visits every text node:
# together ~0.9 us of the ~4 us a call takes.
_SCAN: Final = etree.XPath(
    "//*/@ID | //saml:Assertion | //saml:EncryptedAssertion",
    namespaces={"saml": SAML},
    smart_strings=False,
    regexp=False,
)


def _scan(
    root: etree._Element, seen: set[str] | None = None
) -> tuple[set[str], list[etree._Element]]:
    """All ``ID`` values (refusing duplicates) and all (Encrypted)Assertions, in one pass.

    Signature references are resolved by ID, so a second element carrying the
    same ID is the core of most wrapping attacks (XML 1.0 validity constraint "ID").
    """
    ids: set[str] = set() if seen is None else seen
    assertions: list[etree._Element] = []
    result = _SCAN(root)
    assert isinstance(result, list)
    for item in result:
        if isinstance(item, str):
            if item in ids:
                raise SamlValidationError(Reason.DUPLICATE_ID, item)
            ids.add(item)
        elif isinstance(item, etree._Element):
            assertions.append(item)
    return ids, assertions


def _check_status(status: etree._Element | None) -> None:
    """SAML Core §3.2.2.2: only top-level ``Success`` carries an assertion to use."""
    code = child(status, _STATUS_CODE) if status is not None else None
    value = code.get("Value") if code is not None else None
    if value != SUCCESS:
        sub = child(code, _STATUS_CODE) if code is not None else None
        message = child(status, _STATUS_MESSAGE) if status is not None else None
        detail = f"{value!r}" + (f" / {sub.get('Value')!r}" if sub is not None else "")
        raise SamlValidationError(
            Reason.STATUS_NOT_SUCCESS,
            detail,
            status_code=value,
            sub_status_code=sub.get("Value") if sub is not None else None,
            status_message=full_text(message).strip() if message is not None else None,
        )


def _check_in_response_to(
    irt: str | None, expected_request_id: str | None, policy: ValidationPolicy
) -> None:
    """SAML Core §3.2.2 and Profiles §4.1.5 (unsolicited responses)."""
    if expected_request_id is None:
        if not policy.allow_idp_initiated:
            raise SamlValidationError(
                Reason.UNSOLICITED_RESPONSE, "no request outstanding", received_in_response_to=irt
            )
        if irt is not None:
            raise SamlValidationError(
                Reason.IN_RESPONSE_TO_MISMATCH, f"unexpected {irt!r}", received_in_response_to=irt
            )
    elif irt != expected_request_id:
        raise SamlValidationError(
            Reason.IN_RESPONSE_TO_MISMATCH,
            repr(irt),
            expected_in_response_to=expected_request_id,
            received_in_response_to=irt,
        )


def _verify(
    signed: etree._Element,
    sig: etree._Element,
    trust: IdpTrust,
    policy: ValidationPolicy,
    comments: WithComments,
) -> str:
    """:func:`verify_enveloped_signature`; a refusal carries the signature's facts."""
    try:
        return verify_enveloped_signature(
            signed, sig, trust.public_keys, allow_sha1=policy.allow_sha1, comments=comments
        )
    except SamlValidationError as exc:
        exc.add(signature_facts(sig, trust))
        raise


def _xml_attributes(el: etree._Element) -> list[tuple[str, str]]:
    """The nearest value of each ``xml:`` attribute on ``el`` or its ancestors (local names)."""
    found: dict[str, str] = {}
    for node in (el, *el.iterancestors()):
        for name, value in xml_attributes(node).items():
            found.setdefault(name, value)
    return [(name[len(XML_NS) + 2 :], value) for name, value in found.items()]


def _decrypt(
    enc: etree._Element,
    key: rsa.RSAPrivateKey | None,
    policy: ValidationPolicy,
    ids: set[str],
) -> tuple[etree._Element, WithComments]:
    """The decrypted Assertion, and the source of its comments."""
    plaintext = decrypt_encrypted_assertion(
        enc, key, allow_rsa1_5=policy.allow_rsa1_5, allow_tripledes=policy.allow_tripledes
    )
    # The plaintext is an element serialised out of its context: re-create the
    # in-scope namespace declarations on a wrapper so prefixes resolve, and the nearest
    # ``xml:`` attributes, which inclusive c14n imports into the Assertion (C14N 1.0 §2.4).
    decls = "".join(
        f" xmlns{':' + prefix if prefix else ''}={quoteattr(uri)}"
        for prefix, uri in enc.nsmap.items()
    ) + "".join(f" xml:{name}={quoteattr(value)}" for name, value in _xml_attributes(enc))
    head = f"<wrapper{decls}>".encode()
    raw = head + plaintext + b"</wrapper>"
    doc = secure_fromstring(raw, policy.max_bytes)
    kids = [c for c in doc if isinstance(c.tag, str)]
    if (
        len(kids) != 1
        or kids[0].tag != _ASSERTION
        or (doc.text or "").strip()
        or any((c.tail or "").strip() for c in doc)
    ):
        raise SamlValidationError(Reason.DECRYPTION_FAILED, "plaintext is not one Assertion")
    _, nested = _scan(kids[0], ids)
    if len(nested) != 1:
        raise SamlValidationError(Reason.MULTIPLE_ASSERTIONS, "nested in EncryptedAssertion")
    return kids[0], WithComments(raw, policy.max_bytes)


def validate_response(
    saml_response_b64: str | bytes,
    *,
    trust: IdpTrust,
    policy: ValidationPolicy,
    expected_request_id: str | None,
    now: datetime,
    sp_decryption_key: rsa.RSAPrivateKey | None = None,
) -> Assertion:
    """Validate the base64 ``SAMLResponse`` form field of an HTTP-POST binding.

    ``expected_request_id`` is the ID of the AuthnRequest this SP sent (SP-initiated)
    or ``None`` for an IdP-initiated flow, accepted only if
    ``policy.allow_idp_initiated``. ``now`` must be timezone-aware.
    """
    raw = decode_b64(saml_response_b64, policy.max_bytes)
    return validate_response_xml(
        raw,
        trust=trust,
        policy=policy,
        expected_request_id=expected_request_id,
        now=now,
        sp_decryption_key=sp_decryption_key,
    )


def validate_response_xml(
    raw: bytes,
    *,
    trust: IdpTrust,
    policy: ValidationPolicy,
    expected_request_id: str | None,
    now: datetime,
    sp_decryption_key: rsa.RSAPrivateKey | None = None,
) -> Assertion:
    """Same as :func:`validate_response` for an already base64-decoded document."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    root = secure_fromstring(raw, policy.max_bytes)
    comments = WithComments(raw, policy.max_bytes)
    if root.tag != _RESPONSE:
        raise SamlValidationError(Reason.NOT_A_RESPONSE, str(root.tag))
    if root.get("Version") != "2.0":
        raise SamlValidationError(Reason.UNSUPPORTED_VERSION, repr(root.get("Version")))
    response_id = root.get("ID")
    if not response_id:
        raise SamlValidationError(Reason.MISSING_ID, "Response")
    ids, found = _scan(root)
    root_children = Children(root)
    check_content(root, root_children, RESPONSE)

    method = ""
    response_sig = find_signature(root, root_children)
    if response_sig is not None:
        method = _verify(root, response_sig, trust, policy, comments)
    _check_status(root_children.first.get(_STATUS))

    # Exactly one assertion in the whole document, as a direct child (defeats
    # the XSW family, which always needs a second copy somewhere).
    if not found:
        raise SamlValidationError(Reason.NO_ASSERTION)
    if len(found) > 1:
        raise SamlValidationError(Reason.MULTIPLE_ASSERTIONS, f"{len(found)} found")
    element = found[0]
    if element.getparent() is not root:
        raise SamlValidationError(Reason.NO_ASSERTION, "assertion is not a child of Response")
    encrypted = element.tag == _ENCRYPTED_ASSERTION
    if policy.require_encrypted_assertion and not encrypted:
        raise SamlValidationError(Reason.ASSERTION_NOT_ENCRYPTED)

    # Profiles §4.1.4.2: Issuer MUST be present if signed or assertion encrypted.
    check_issuer(
        root,
        trust.entity_id,
        required=response_sig is not None or encrypted,
        children=root_children,
    )
    destination = root.get("Destination")
    if destination is None:
        if response_sig is not None:  # SAML Bindings §3.5.5.2
            raise SamlValidationError(
                Reason.DESTINATION_MISSING, expected_destination=policy.acs_url
            )
    elif destination != policy.acs_url:
        raise SamlValidationError(
            Reason.DESTINATION_MISMATCH,
            repr(destination),
            expected_destination=policy.acs_url,
            received_destination=destination,
        )
    in_response_to = root.get("InResponseTo")
    _check_in_response_to(in_response_to, expected_request_id, policy)
    parse_time(root.get("IssueInstant"), "Response IssueInstant")

    if encrypted:
        assertion, comments = _decrypt(element, sp_decryption_key, policy, ids)
    else:
        assertion = element
    assertion_children = Children(assertion)
    check_content(assertion, assertion_children, ASSERTION)
    assertion_sig = find_signature(assertion, assertion_children)
    if assertion_sig is not None:
        method = _verify(assertion, assertion_sig, trust, policy, comments)
    elif response_sig is None:
        raise SamlValidationError(
            Reason.SIGNATURE_MISSING,
            "neither Response nor Assertion",
            certificates_tried=signature_facts_tried(trust),
        )
    if policy.require_signed_assertion and assertion_sig is None:
        raise SamlValidationError(Reason.ASSERTION_SIGNATURE_MISSING)

    facts = read_assertion(
        assertion,
        children=assertion_children,
        idp_entity_id=trust.entity_id,
        sp_entity_id=policy.sp_entity_id,
        acs_url=policy.acs_url,
        expected_request_id=expected_request_id,
        now=now,
        skew=policy.clock_skew,
    )
    return Assertion(
        issuer=trust.entity_id,
        response_id=response_id,
        assertion_id=facts.assertion_id,
        in_response_to=in_response_to,
        name_id=facts.name_id,
        name_id_format=facts.name_id_format,
        name_id_name_qualifier=facts.name_id_name_qualifier,
        name_id_sp_name_qualifier=facts.name_id_sp_name_qualifier,
        attributes=facts.attributes,
        session_index=facts.session_index,
        authn_instant=facts.authn_instant,
        authn_context_class_ref=facts.authn_context_class_ref,
        session_not_on_or_after=facts.session_not_on_or_after,
        issue_instant=facts.issue_instant,
        not_before=facts.not_before,
        not_on_or_after=facts.not_on_or_after,
        replay_cache_until=facts.not_on_or_after + policy.clock_skew,
        response_signed=response_sig is not None,
        assertion_signed=assertion_sig is not None,
        encrypted=encrypted,
        signature_algorithm=method,
    )
