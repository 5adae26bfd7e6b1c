"""Building AuthnRequest / LogoutRequest / LogoutResponse and parsing logout messages.

SAML Core 2.0 §3.4.1 (AuthnRequest), §3.7.1 (LogoutRequest), §3.7.2
(LogoutResponse); Profiles §4.4 (Single Logout). Built messages are unsigned
XML meant for the HTTP-Redirect binding, where the signature goes over the
query string (see :mod:`propylon.saml.redirect`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from lxml import etree

from .assertion import check_issuer
from .dsig import find_signature, verify_enveloped_signature
from .errors import Reason, SamlValidationError
from .model import IdpTrust
from .xml import SAML, SAMLP, child, full_text, parse_time, secure_fromstring

__all__ = [
    "LogoutRequest",
    "LogoutResponse",
    "build_authn_request",
    "build_logout_request",
    "build_logout_response",
    "new_id",
    "parse_logout_request",
    "parse_logout_response",
]

SUCCESS: Final = "urn:oasis:names:tc:SAML:2.0:status:Success"
BINDING_POST: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
_NSMAP: Final = {"samlp": SAMLP, "saml": SAML}


def new_id() -> str:
    """A fresh xs:ID (must not start with a digit: SAML Core §1.3.4), 160 random bits."""
    return "_" + secrets.token_hex(20)


def _instant(t: datetime) -> str:
    """xs:dateTime in UTC with a ``Z`` suffix (SAML Core §1.3.3)."""
    if t.tzinfo is None:
        raise ValueError("issue_instant must be timezone-aware")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _root(
    tag: str, request_id: str, issue_instant: datetime, destination: str, issuer: str
) -> etree._Element:
    el = etree.Element(f"{{{SAMLP}}}{tag}", nsmap=_NSMAP)
    el.set("ID", request_id)
    el.set("Version", "2.0")
    el.set("IssueInstant", _instant(issue_instant))
    el.set("Destination", destination)
    etree.SubElement(el, f"{{{SAML}}}Issuer").text = issuer
    return el


def build_authn_request(
    *,
    request_id: str,
    issue_instant: datetime,
    sp_entity_id: str,
    acs_url: str,
    destination: str,
    name_id_format: str | None = None,
    force_authn: bool = False,
    is_passive: bool = False,
) -> bytes:
    """An ``samlp:AuthnRequest`` asking for an HTTP-POST response (Core §3.4.1)."""
    el = _root("AuthnRequest", request_id, issue_instant, destination, sp_entity_id)
    el.set("AssertionConsumerServiceURL", acs_url)
    el.set("ProtocolBinding", BINDING_POST)
    if force_authn:
        el.set("ForceAuthn", "true")
    if is_passive:
        el.set("IsPassive", "true")
    if name_id_format is not None:
        policy = etree.SubElement(el, f"{{{SAMLP}}}NameIDPolicy")
        policy.set("Format", name_id_format)
        policy.set("AllowCreate", "true")
    return bytes(etree.tostring(el))


def build_logout_request(
    *,
    request_id: str,
    issue_instant: datetime,
    sp_entity_id: str,
    destination: str,
    name_id: str,
    name_id_format: str | None = None,
    session_index: str | None = None,
    name_qualifier: str | None = None,
    sp_name_qualifier: str | None = None,
) -> bytes:
    """An SP-initiated ``samlp:LogoutRequest`` (Core §3.7.1). The NameID is named as the
    assertion named it: value, ``Format``, ``NameQualifier`` and ``SPNameQualifier``
    (Core §2.2.3; an IdP may match a NameID only with its qualifiers)."""
    el = _root("LogoutRequest", request_id, issue_instant, destination, sp_entity_id)
    nid = etree.SubElement(el, f"{{{SAML}}}NameID")
    nid.text = name_id
    for attribute, value in (
        ("NameQualifier", name_qualifier),
        ("SPNameQualifier", sp_name_qualifier),
        ("Format", name_id_format),
    ):
        if value is not None:
            nid.set(attribute, value)
    if session_index is not None:
        etree.SubElement(el, f"{{{SAMLP}}}SessionIndex").text = session_index
    return bytes(etree.tostring(el))


def build_logout_response(
    *,
    response_id: str,
    issue_instant: datetime,
    sp_entity_id: str,
    destination: str,
    in_response_to: str,
    status: str = SUCCESS,
) -> bytes:
    """The SP's ``samlp:LogoutResponse`` to an IdP-initiated logout (Core §3.7.2)."""
    el = _root("LogoutResponse", response_id, issue_instant, destination, sp_entity_id)
    el.set("InResponseTo", in_response_to)
    code = etree.SubElement(etree.SubElement(el, f"{{{SAMLP}}}Status"), f"{{{SAMLP}}}StatusCode")
    code.set("Value", status)
    return bytes(etree.tostring(el))


@dataclass(frozen=True)
class LogoutRequest:
    request_id: str
    issuer: str
    name_id: str
    name_id_format: str | None
    session_indexes: tuple[str, ...]
    not_on_or_after: datetime | None


@dataclass(frozen=True)
class LogoutResponse:
    response_id: str
    in_response_to: str
    status: str


def _open(
    raw: bytes,
    tag: str,
    trust: IdpTrust,
    destination: str,
    max_bytes: int,
    redirect_signature_verified: bool,
    allow_sha1: bool,
) -> etree._Element:
    root = secure_fromstring(raw, max_bytes)
    if root.tag != f"{{{SAMLP}}}{tag}":
        raise SamlValidationError(Reason.MESSAGE_INVALID, f"expected {tag}, got {root.tag}")
    if root.get("Version") != "2.0":
        raise SamlValidationError(Reason.UNSUPPORTED_VERSION, repr(root.get("Version")))
    sig = find_signature(root)
    if sig is not None:
        verify_enveloped_signature(root, sig, trust.public_keys, allow_sha1=allow_sha1)
    elif not redirect_signature_verified:
        raise SamlValidationError(Reason.SIGNATURE_MISSING, tag)
    check_issuer(root, trust.entity_id, required=True)
    dest = root.get("Destination")
    if dest is not None and dest != destination:
        raise SamlValidationError(Reason.DESTINATION_MISMATCH, repr(dest))
    return root


def parse_logout_request(
    raw: bytes,
    *,
    trust: IdpTrust,
    slo_url: str,
    now: datetime,
    redirect_signature_verified: bool = False,
    allow_sha1: bool = False,
    clock_skew: timedelta = timedelta(minutes=2),
    max_bytes: int = 64 * 1024,
) -> LogoutRequest:
    """Validate an IdP's ``LogoutRequest`` (Profiles §4.4.4.1: it MUST be signed —
    either enveloped, or over the redirect query checked by the caller)."""
    root = _open(
        raw, "LogoutRequest", trust, slo_url, max_bytes, redirect_signature_verified, allow_sha1
    )
    request_id = root.get("ID")
    if not request_id:
        raise SamlValidationError(Reason.MISSING_ID, "LogoutRequest")
    noa_raw = root.get("NotOnOrAfter")
    noa = parse_time(noa_raw, "NotOnOrAfter") if noa_raw is not None else None
    if noa is not None and now >= noa + clock_skew:
        raise SamlValidationError(Reason.ASSERTION_EXPIRED, f"LogoutRequest {noa.isoformat()}")
    nid = child(root, f"{{{SAML}}}NameID")
    if nid is None:
        raise SamlValidationError(Reason.NAMEID_MISSING, "LogoutRequest")
    return LogoutRequest(
        request_id=request_id,
        issuer=trust.entity_id,
        name_id=full_text(nid).strip(),
        name_id_format=nid.get("Format"),
        session_indexes=tuple(
            full_text(s).strip() for s in root.iterchildren(f"{{{SAMLP}}}SessionIndex")
        ),
        not_on_or_after=noa,
    )


def parse_logout_response(
    raw: bytes,
    *,
    trust: IdpTrust,
    slo_url: str,
    expected_request_id: str,
    redirect_signature_verified: bool = False,
    allow_sha1: bool = False,
    max_bytes: int = 64 * 1024,
) -> LogoutResponse:
    """Validate the IdP's ``LogoutResponse`` to our LogoutRequest (Core §3.7.2)."""
    root = _open(
        raw, "LogoutResponse", trust, slo_url, max_bytes, redirect_signature_verified, allow_sha1
    )
    if root.get("InResponseTo") != expected_request_id:
        raise SamlValidationError(Reason.IN_RESPONSE_TO_MISMATCH, repr(root.get("InResponseTo")))
    status = child(root, f"{{{SAMLP}}}Status")
    code = child(status, f"{{{SAMLP}}}StatusCode") if status is not None else None
    value = code.get("Value") if code is not None else None
    if value != SUCCESS:
        raise SamlValidationError(Reason.STATUS_NOT_SUCCESS, repr(value))
    return LogoutResponse(
        response_id=root.get("ID") or "", in_response_to=expected_request_id, status=value
    )
