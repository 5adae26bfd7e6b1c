"""The test IdP's SAML side, pure: its metadata (SAML Metadata 2.0 §2.4.3) and reading the
AuthnRequests it receives (SAML Core 2.0 §3.4.1) over HTTP-Redirect (Bindings §3.4) or
HTTP-POST (Bindings §3.5).

An AuthnRequest's signature is not checked (the metadata says ``WantAuthnRequestsSigned``
false): the test IdP answers only Propylon's own connections that trust it, at the ACS URL
Propylon gives them, whatever the request asks (:mod:`propylon.api.testidp_routes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from lxml import etree

from propylon.saml.errors import Reason, SamlValidationError
from propylon.saml.metadata import BINDING_POST, BINDING_REDIRECT, PROTOCOL, key_descriptor
from propylon.saml.redirect import decode_redirect_message
from propylon.saml.xml import DS, MD, SAML, SAMLP, decode_b64, full_text, secure_fromstring
from propylon.testidp.keys import KeyPair
from propylon.testidp.saml_response import EMAIL_FORMAT, PERSISTENT_FORMAT

__all__ = [
    "BINDING_POST",
    "BINDING_REDIRECT",
    "AuthnRequest",
    "build_idp_metadata",
    "read_authn_request",
]

MAX_REQUEST_BYTES: Final = 64 * 1024
_MAX_ID: Final = 256


@dataclass(frozen=True)
class AuthnRequest:
    """What the test IdP reads of an AuthnRequest."""

    id: str
    issuer: str
    acs_url: str | None
    force_authn: bool


def build_idp_metadata(entity_id: str, sso_url: str, signer: KeyPair) -> bytes:
    """An ``md:EntityDescriptor`` with one ``IDPSSODescriptor``: the signing certificate, the
    SSO endpoint for both bindings, email and persistent NameID formats."""
    ed = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS})
    ed.set("entityID", entity_id)
    idp = etree.SubElement(ed, f"{{{MD}}}IDPSSODescriptor")
    idp.set("protocolSupportEnumeration", PROTOCOL)
    idp.set("WantAuthnRequestsSigned", "false")
    key_descriptor(idp, signer.certificate, "signing")
    for fmt in (EMAIL_FORMAT, PERSISTENT_FORMAT):
        etree.SubElement(idp, f"{{{MD}}}NameIDFormat").text = fmt
    for binding in (BINDING_REDIRECT, BINDING_POST):
        etree.SubElement(idp, f"{{{MD}}}SingleSignOnService", Binding=binding, Location=sso_url)
    return bytes(etree.tostring(ed, xml_declaration=True, encoding="UTF-8"))


def _bad(detail: str) -> SamlValidationError:
    return SamlValidationError(Reason.MESSAGE_INVALID, detail)


def read_authn_request(value: str, binding: str) -> AuthnRequest:
    """The AuthnRequest in a ``SAMLRequest`` value (deflated for HTTP-Redirect, plain base64
    for HTTP-POST); a :class:`SamlValidationError` if it is not one."""
    if binding == BINDING_REDIRECT:
        raw = decode_redirect_message(value, max_bytes=MAX_REQUEST_BYTES)
    else:
        raw = decode_b64(value, MAX_REQUEST_BYTES)
    root = secure_fromstring(raw, MAX_REQUEST_BYTES)
    if root.tag != f"{{{SAMLP}}}AuthnRequest":
        raise _bad("not an AuthnRequest")
    if root.get("Version") != "2.0":
        raise _bad("not SAML 2.0")
    request_id = root.get("ID") or ""
    if not request_id or len(request_id) > _MAX_ID or request_id[0].isdigit():
        raise _bad("no usable ID")
    issuer_el = root.find(f"{{{SAML}}}Issuer")
    issuer = full_text(issuer_el).strip() if issuer_el is not None else ""
    if not issuer:
        raise _bad("no Issuer")
    binding_asked = root.get("ProtocolBinding")
    if binding_asked not in (None, BINDING_POST):
        raise _bad("only the HTTP-POST binding answers")
    return AuthnRequest(
        id=request_id,
        issuer=issuer,
        acs_url=root.get("AssertionConsumerServiceURL"),
        force_authn=root.get("ForceAuthn") in ("true", "1"),
    )
