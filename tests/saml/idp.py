"""A tiny test IdP: builds Okta-style SAML Responses, signs and encrypts them.

Signing and encryption use python-xmlsec (libxmlsec1), an implementation
independent of the verifier under test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"saml2": SAML, "saml2p": SAMLP, "ds": DS}

IDP_ENTITY = "http://www.okta.com/exk1fcia6d6EMsf331d8"
SP_ENTITY = "https://app.propylon.test/saml/metadata/acme"
ACS_URL = "https://app.propylon.test/saml/acs/acme"
REQUEST_ID = "id-4f1a2b3c4d5e6f708192a3b4c5d6e7f8"
NOW = dt.datetime(2025, 3, 14, 15, 9, 26, tzinfo=dt.UTC)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class KeyPair:
    key: PrivateKey
    cert: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def make_keypair(cn: str, kind: str = "rsa") -> KeyPair:
    key: PrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2040, 1, 1, tzinfo=dt.UTC))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, cert)


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


DEFAULT_ATTRIBUTES: dict[str, list[str]] = {
    "firstName": ["Ada"],
    "lastName": ["Lovelace"],
    "email": ["ada@example.com"],
    "department": ["Analytical Engines"],
    "groups": ["Everyone", "Engineering", "propylon-admins"],
}


@dataclass
class Spec:
    """Everything that goes into one Response; tests override single fields."""

    now: dt.datetime = NOW
    issuer: str = IDP_ENTITY
    assertion_issuer: str | None = None
    destination: str | None = ACS_URL
    recipient: str = ACS_URL
    audience: str = SP_ENTITY
    in_response_to: str | None = REQUEST_ID
    scd_in_response_to: str | None = "same"
    name_id: str = "ada@example.com"
    name_id_format: str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    response_id: str = "id9876543210fedcba9876543210"
    assertion_id: str = "id1234567890abcdef1234567890"
    status: str = "urn:oasis:names:tc:SAML:2.0:status:Success"
    attributes: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_ATTRIBUTES))
    lifetime: dt.timedelta = dt.timedelta(minutes=5)
    not_before_offset: dt.timedelta = dt.timedelta(minutes=-5)
    session_index: str = "id1710428966123.1337"
    session_lifetime: dt.timedelta | None = dt.timedelta(hours=8)
    method: str = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    authn_instant: dt.datetime | None = None
    """When the IdP authenticated the person (default: ``now``)."""

    def replace(self, **kw: object) -> Spec:
        return dataclasses.replace(self, **kw)  # type: ignore[arg-type]


def _attr(value: str | None, name: str) -> str:
    return f" {name}={quoteattr(value)}" if value is not None else ""


def assertion_xml(s: Spec) -> str:
    scd_irt = s.in_response_to if s.scd_in_response_to == "same" else s.scd_in_response_to
    attrs = "".join(
        f"<saml2:Attribute Name={quoteattr(k)} "
        'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">'
        + "".join(
            '<saml2:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">'
            f"{escape(v)}</saml2:AttributeValue>"
            for v in vals
        )
        + "</saml2:Attribute>"
        for k, vals in s.attributes.items()
    )
    session = (
        _attr(iso(s.now + s.session_lifetime), "SessionNotOnOrAfter") if s.session_lifetime else ""
    )
    return (
        f'<saml2:Assertion xmlns:saml2="{SAML}" ID="{s.assertion_id}" '
        f'IssueInstant="{iso(s.now)}" Version="2.0">'
        '<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">'
        f"{escape(s.assertion_issuer or s.issuer)}</saml2:Issuer>"
        f"<saml2:Subject><saml2:NameID Format={quoteattr(s.name_id_format)}>{s.name_id}"
        f"</saml2:NameID><saml2:SubjectConfirmation Method={quoteattr(s.method)}>"
        f"<saml2:SubjectConfirmationData{_attr(scd_irt, 'InResponseTo')} "
        f'NotOnOrAfter="{iso(s.now + s.lifetime)}" Recipient={quoteattr(s.recipient)}/>'
        "</saml2:SubjectConfirmation></saml2:Subject>"
        f'<saml2:Conditions NotBefore="{iso(s.now + s.not_before_offset)}" '
        f'NotOnOrAfter="{iso(s.now + s.lifetime)}"><saml2:AudienceRestriction>'
        f"<saml2:Audience>{escape(s.audience)}</saml2:Audience>"
        "</saml2:AudienceRestriction></saml2:Conditions>"
        f'<saml2:AuthnStatement AuthnInstant="{iso(s.authn_instant or s.now)}" '
        f'SessionIndex="{s.session_index}"{session}><saml2:AuthnContext>'
        "<saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:"
        "PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext>"
        f"</saml2:AuthnStatement><saml2:AttributeStatement>{attrs}</saml2:AttributeStatement>"
        "</saml2:Assertion>"
    )


def response_xml(s: Spec, assertion: str | None = None) -> str:
    """The unsigned Response as text; ``assertion`` replaces the built one."""
    return (
        f'<saml2p:Response xmlns:saml2p="{SAMLP}"{_attr(s.destination, "Destination")} '
        f'ID="{s.response_id}"{_attr(s.in_response_to, "InResponseTo")} '
        f'IssueInstant="{iso(s.now)}" Version="2.0">'
        f'<saml2:Issuer xmlns:saml2="{SAML}" '
        'Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">'
        f"{escape(s.issuer)}</saml2:Issuer>"
        f'<saml2p:Status><saml2p:StatusCode Value="{s.status}"/></saml2p:Status>'
        f"{assertion_xml(s) if assertion is None else assertion}</saml2p:Response>"
    )


SIG_RSA_SHA256 = xmlsec.constants.TransformRsaSha256
SIG_RSA_SHA1 = xmlsec.constants.TransformRsaSha1
SIG_ECDSA_SHA256 = xmlsec.constants.TransformEcdsaSha256
DIGEST_SHA256 = xmlsec.constants.TransformSha256
DIGEST_SHA1 = xmlsec.constants.TransformSha1


def sign(
    el: etree._Element,
    kp: KeyPair,
    *,
    method: Any = SIG_RSA_SHA256,
    digest: Any = DIGEST_SHA256,
    key_info_cert: x509.Certificate | None = None,
    inclusive_prefixes: list[str] | None = None,
    tail: str | None = None,
    c14n: Any = xmlsec.constants.TransformExclC14N,
    transform: Any = xmlsec.constants.TransformExclC14N,
    signed_info_comment: str | None = None,
) -> etree._Element:
    """Enveloped-sign ``el`` in place (Signature right after its Issuer); ``c14n`` is
    SignedInfo's CanonicalizationMethod, ``transform`` the Reference's c14n transform."""
    sig = xmlsec.template.create(el, c14n, method, ns="ds")
    issuer = el.find(f"{{{SAML}}}Issuer")
    if issuer is not None:
        issuer.addnext(sig)
    else:
        el.insert(0, sig)
    sig.tail = tail
    ref = xmlsec.template.add_reference(sig, digest, uri="#" + (el.get("ID") or ""))
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    c14n_el = xmlsec.template.add_transform(ref, transform)
    if inclusive_prefixes:
        xmlsec.template.transform_add_c14n_inclusive_namespaces(c14n_el, inclusive_prefixes)
    x509_data = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig))
    xmlsec.template.x509_data_add_certificate(x509_data)
    key = xmlsec.Key.from_memory(kp.key_pem, xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_memory(
        (key_info_cert or kp.cert).public_bytes(serialization.Encoding.PEM),
        xmlsec.constants.KeyDataFormatPem,
    )
    if signed_info_comment is not None:  # between CanonicalizationMethod and SignatureMethod
        sig[0].insert(1, etree.Comment(signed_info_comment))
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    ctx.register_id(el, "ID")
    ctx.sign(sig)
    return el


def encrypt_assertion(
    response: etree._Element,
    sp: KeyPair,
    *,
    data_alg: Any = xmlsec.constants.TransformAes128Cbc,
    key_alg: Any = xmlsec.constants.TransformRsaOaep,
    key_bits: int = 128,
) -> etree._Element:
    """Replace the Response's Assertion by an EncryptedAssertion (in place)."""
    assertion = response.find(f"{{{SAML}}}Assertion")
    assert assertion is not None
    enc_data = xmlsec.template.encrypted_data_create(
        response, data_alg, type=xmlsec.constants.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(enc_data)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(enc_data, ns="ds")
    enc_key = xmlsec.template.add_encrypted_key(key_info, key_alg)
    xmlsec.template.encrypted_data_ensure_cipher_value(enc_key)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(sp.cert_pem, xmlsec.constants.KeyDataFormatCertPem))
    ctx = xmlsec.EncryptionContext(manager)
    ctx.key = xmlsec.Key.generate(
        xmlsec.constants.KeyDataAes, key_bits, xmlsec.constants.KeyDataTypeSession
    )
    wrapper = etree.SubElement(response, f"{{{SAML}}}EncryptedAssertion")
    assertion.addprevious(wrapper)
    encrypted = ctx.encrypt_xml(enc_data, assertion)
    wrapper.append(encrypted)
    return response


def build(
    spec: Spec | None = None,
    *,
    idp: KeyPair,
    sign_response: bool = False,
    sign_assertion: bool = True,
    encrypt_for: KeyPair | None = None,
    pretty: bool = False,
    **sign_kw: Any,
) -> bytes:
    """Serialized Response, signed/encrypted as asked (Okta order: assertion first)."""
    s = spec or Spec()
    root = etree.fromstring(response_xml(s).encode())
    if pretty:
        etree.indent(root)
    assertion = root.find(f"{{{SAML}}}Assertion")
    if sign_assertion:
        assert assertion is not None
        sign(assertion, idp, **sign_kw)
    if encrypt_for is not None:
        encrypt_assertion(root, encrypt_for)
    if sign_response:
        sign(root, idp, **sign_kw)
    return bytes(etree.tostring(root))


def tree_of(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def serialize(el: etree._Element) -> bytes:
    return bytes(etree.tostring(el))
