"""IdP metadata parsing and SP metadata generation (SAML Metadata 2.0).

``parse_idp_metadata`` reads an ``md:EntityDescriptor`` (or picks one out of an
``md:EntitiesDescriptor``) and returns the IdP's entity ID (§2.3.2), its
``SingleSignOnService`` / ``SingleLogoutService`` endpoints by binding (§2.4.3,
§2.4.2) and *all* signing certificates (``KeyDescriptor`` with ``use="signing"``
or no ``use``, §2.4.1.1), so rotations announced in metadata are honoured.

The metadata's own signature is not verified here: metadata is expected to be
pinned by an administrator (uploaded or fetched once and reviewed).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from .errors import Reason, SamlValidationError
from .model import IdpTrust
from .xml import DS, MD, full_text, secure_fromstring

__all__ = [
    "BINDING_POST",
    "BINDING_REDIRECT",
    "PROTOCOL",
    "Endpoint",
    "IdpMetadata",
    "build_sp_metadata",
    "key_descriptor",
    "parse_idp_metadata",
]

PROTOCOL: Final = "urn:oasis:names:tc:SAML:2.0:protocol"
BINDING_REDIRECT: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST: Final = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


@dataclass(frozen=True)
class Endpoint:
    """An ``md:EndpointType`` (SAML Metadata §2.2.2)."""

    binding: str
    location: str
    response_location: str | None = None


@dataclass(frozen=True)
class IdpMetadata:
    entity_id: str
    sso_endpoints: tuple[Endpoint, ...]
    slo_endpoints: tuple[Endpoint, ...]
    signing_certificates: tuple[x509.Certificate, ...]
    encryption_certificates: tuple[x509.Certificate, ...]
    want_authn_requests_signed: bool

    def sso_url(self, binding: str = BINDING_REDIRECT) -> str | None:
        return next((e.location for e in self.sso_endpoints if e.binding == binding), None)

    def slo_endpoint(self, binding: str = BINDING_REDIRECT) -> Endpoint | None:
        return next((e for e in self.slo_endpoints if e.binding == binding), None)

    @property
    def signing_certificate_expiry(self) -> tuple[datetime, ...]:
        """``notAfter`` of each signing certificate (UTC), for rotation alerts."""
        return tuple(c.not_valid_after_utc for c in self.signing_certificates)

    def to_trust(self) -> IdpTrust:
        return IdpTrust(entity_id=self.entity_id, certificates=self.signing_certificates)


def _bad(detail: str) -> SamlValidationError:
    return SamlValidationError(Reason.METADATA_INVALID, detail)


def _certs(idp: etree._Element, uses: tuple[str | None, ...]) -> tuple[x509.Certificate, ...]:
    out: list[x509.Certificate] = []
    for kd in idp.iterchildren(f"{{{MD}}}KeyDescriptor"):
        if kd.get("use") not in uses:
            continue
        for el in kd.iterfind(f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"):
            try:
                der = base64.b64decode("".join(full_text(el).split()), validate=True)
                cert = x509.load_der_x509_certificate(der)
            except (binascii.Error, ValueError) as exc:
                raise _bad(f"bad X509Certificate: {exc}") from exc
            if cert not in out:
                out.append(cert)
    return tuple(out)


def _endpoints(idp: etree._Element, local: str) -> tuple[Endpoint, ...]:
    out = []
    for ep in idp.iterchildren(f"{{{MD}}}{local}"):
        binding, location = ep.get("Binding"), ep.get("Location")
        if not binding or not location:
            raise _bad(f"{local} without Binding/Location")
        out.append(Endpoint(binding, location, ep.get("ResponseLocation")))
    return tuple(out)


def parse_idp_metadata(
    xml_bytes: bytes, *, entity_id: str | None = None, max_bytes: int = 4 * 1024 * 1024
) -> IdpMetadata:
    """Parse IdP metadata; ``entity_id`` selects one entity from an aggregate."""
    root = secure_fromstring(xml_bytes, max_bytes)
    if root.tag == f"{{{MD}}}EntityDescriptor":
        candidates = [root]
    elif root.tag == f"{{{MD}}}EntitiesDescriptor":
        candidates = list(root.iter(f"{{{MD}}}EntityDescriptor"))
    else:
        raise _bad(f"unexpected root {root.tag}")
    if entity_id is not None:
        candidates = [c for c in candidates if c.get("entityID") == entity_id]
    candidates = [c for c in candidates if c.find(f"{{{MD}}}IDPSSODescriptor") is not None]
    if len(candidates) != 1:
        raise _bad(f"{len(candidates)} matching IdP entities")
    entity = candidates[0]
    idp = next(
        (
            d
            for d in entity.iterchildren(f"{{{MD}}}IDPSSODescriptor")
            if PROTOCOL in (d.get("protocolSupportEnumeration") or "").split()
        ),
        None,
    )
    if idp is None:
        raise _bad("no IDPSSODescriptor supporting SAML 2.0")
    eid = entity.get("entityID")
    if not eid:
        raise _bad("entityID missing")
    signing = _certs(idp, (None, "signing"))
    if not signing:
        raise _bad("no signing certificate")
    sso = _endpoints(idp, "SingleSignOnService")
    if not sso:
        raise _bad("no SingleSignOnService")
    return IdpMetadata(
        entity_id=eid,
        sso_endpoints=sso,
        slo_endpoints=_endpoints(idp, "SingleLogoutService"),
        signing_certificates=signing,
        encryption_certificates=_certs(idp, (None, "encryption")),
        want_authn_requests_signed=idp.get("WantAuthnRequestsSigned") in ("true", "1"),
    )


def key_descriptor(parent: etree._Element, cert: x509.Certificate, use: str) -> None:
    """An ``md:KeyDescriptor`` of ``use`` (``signing``, ``encryption``) holding ``cert``
    (SAML Metadata §2.4.1.1), for the SP's metadata and the test IdP's."""
    kd = etree.SubElement(parent, f"{{{MD}}}KeyDescriptor", use=use)
    data = etree.SubElement(etree.SubElement(kd, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = base64.b64encode(
        cert.public_bytes(Encoding.DER)
    ).decode()


def build_sp_metadata(
    *,
    entity_id: str,
    acs_url: str,
    slo_url: str | None = None,
    signing_certificate: x509.Certificate | None = None,
    encryption_certificate: x509.Certificate | None = None,
    name_id_formats: tuple[str, ...] = (),
    authn_requests_signed: bool = False,
    want_assertions_signed: bool = True,
) -> bytes:
    """An ``md:EntityDescriptor`` with one ``SPSSODescriptor`` (SAML Metadata §2.4.4)."""
    ed = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS})
    ed.set("entityID", entity_id)
    sp = etree.SubElement(ed, f"{{{MD}}}SPSSODescriptor")
    sp.set("protocolSupportEnumeration", PROTOCOL)
    sp.set("AuthnRequestsSigned", "true" if authn_requests_signed else "false")
    sp.set("WantAssertionsSigned", "true" if want_assertions_signed else "false")
    if signing_certificate is not None:
        key_descriptor(sp, signing_certificate, "signing")
    if encryption_certificate is not None:
        key_descriptor(sp, encryption_certificate, "encryption")
    if slo_url is not None:
        etree.SubElement(
            sp, f"{{{MD}}}SingleLogoutService", Binding=BINDING_REDIRECT, Location=slo_url
        )
    for fmt in name_id_formats:
        etree.SubElement(sp, f"{{{MD}}}NameIDFormat").text = fmt
    etree.SubElement(
        sp,
        f"{{{MD}}}AssertionConsumerService",
        Binding=BINDING_POST,
        Location=acs_url,
        index="0",
        isDefault="true",
    )
    return bytes(etree.tostring(ed, xml_declaration=True, encoding="UTF-8"))
