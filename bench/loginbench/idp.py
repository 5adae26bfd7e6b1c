"""The benchmark's IdP: an Okta-style SAML Response to one AuthnRequest, its Assertion signed
per login (enveloped XML-DSig, exclusive c14n, RSA-SHA256) with ``cryptography`` over XML kept
in its exclusive-c14n form, the request-independent values filled in once."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time

import xmlsec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from tests.saml.idp import KeyPair

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XS_DECL = ' xmlns:xs="http://www.w3.org/2001/XMLSchema"'

# The Assertion in exclusive-c14n form (Exc-C14N §3 / C14N §2): attributes in canonical
# order, no self-closing tags, only visibly used namespaces. ``{xs}`` is the xmlns:xs
# declaration Okta puts on AttributeValue: on the wire, but not in the canonical form (the
# prefix is used only inside an attribute value). The Signature goes right after the Issuer.
ASSERTION_HEAD = (
    f'<saml2:Assertion xmlns:saml2="{SAML}" ID="{{aid}}" IssueInstant="{{now}}" Version="2.0">'
    '<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}'
    "</saml2:Issuer>"
)
ASSERTION_TAIL = (
    "<saml2:Subject>"
    '<saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{email}'
    "</saml2:NameID>"
    '<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
    '<saml2:SubjectConfirmationData InResponseTo="{irt}" NotOnOrAfter="{exp}" '
    'Recipient="{acs}"></saml2:SubjectConfirmationData></saml2:SubjectConfirmation>'
    "</saml2:Subject>"
    '<saml2:Conditions NotBefore="{nbf}" NotOnOrAfter="{exp}"><saml2:AudienceRestriction>'
    "<saml2:Audience>{audience}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>"
    '<saml2:AuthnStatement AuthnInstant="{now}" SessionIndex="{sidx}" '
    'SessionNotOnOrAfter="{session_end}"><saml2:AuthnContext><saml2:AuthnContextClassRef>'
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    "</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>"
    "<saml2:AttributeStatement>"
    '<saml2:Attribute Name="email" '
    'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">'
    "<saml2:AttributeValue{xs} "
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">{email}'
    "</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>"
)
# SignedInfo as exclusive c14n renders it as the apex (with xmlns:ds); on the wire the
# declaration sits on ds:Signature instead.
SIGNED_INFO_BODY = (
    f'<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"></ds:CanonicalizationMethod>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256">'
    '</ds:SignatureMethod><ds:Reference URI="#{aid}"><ds:Transforms>'
    f'<ds:Transform Algorithm="{DS}enveloped-signature"></ds:Transform>'
    f'<ds:Transform Algorithm="{EXC_C14N}"></ds:Transform></ds:Transforms>'
    '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></ds:DigestMethod>'
    "<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"
)
SIGNATURE = (
    f'<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo>{{signed_info_body}}'
    "<ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data>"
    "<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
    "</ds:Signature>"
)
RESPONSE = (
    f'<saml2p:Response xmlns:saml2p="{SAMLP}" Destination="{{acs}}" ID="{{rid}}" '
    'InResponseTo="{irt}" IssueInstant="{now}" Version="2.0">'
    f'<saml2:Issuer xmlns:saml2="{SAML}" '
    'Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{issuer}</saml2:Issuer>'
    '<saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
    "</saml2p:Status>{assertion}</saml2p:Response>"
)
_SAFE = re.compile(r"[^&<>\"'\r\n\t{}]*")


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def literal(value: str) -> str:
    """A value used as-is in both the wire and the canonical form: refuse anything that the
    two would escape differently rather than escape it (the bench's values never need it)."""
    if not _SAFE.fullmatch(value):
        raise ValueError(f"value needs XML escaping: {value!r}")
    return value


class Idp:
    """Builds and signs the IdP's Response to one AuthnRequest.

    Per login: fill the per-login values into the canonical Assertion text, SHA-256 it (the
    enveloped-signature + exclusive c14n Reference), fill the digest into the canonical
    SignedInfo, RSA-SHA256 (PKCS#1 v1.5) sign that with ``cryptography``, and assemble the
    wire Response. The same XML-DSig profile ``tests/saml/idp.py`` produces with xmlsec.
    """

    def __init__(self, kp: KeyPair, *, issuer: str, acs: str, audience: str) -> None:
        assert isinstance(kp.key, rsa.RSAPrivateKey)
        self.key = kp.key
        self.pad, self.hash = padding.PKCS1v15(), hashes.SHA256()
        self.cert_pem = kp.cert.public_bytes(serialization.Encoding.PEM)
        fixed = {"issuer": literal(issuer), "acs": literal(acs), "audience": literal(audience)}
        cert_b64 = base64.b64encode(kp.cert.public_bytes(serialization.Encoding.DER)).decode()
        # fill the request-independent values once; what is left are per-login placeholders
        keep = {k: "{" + k + "}" for k in ("aid", "now", "email", "irt", "exp", "nbf", "sidx")}
        keep |= {"session_end": "{session_end}", "digest": "{digest}", "value": "{value}"}
        self.head = ASSERTION_HEAD.format(**fixed, **keep)
        self.tail_c14n = ASSERTION_TAIL.format(**fixed, **keep, xs="")
        self.tail_wire = ASSERTION_TAIL.format(**fixed, **keep, xs=XS_DECL)
        self.si_c14n = f'<ds:SignedInfo xmlns:ds="{DS}">' + SIGNED_INFO_BODY
        self.signature = SIGNATURE.format(
            signed_info_body=SIGNED_INFO_BODY, cert=cert_b64, value="{value}"
        )
        self.response = RESPONSE.format(**fixed, **keep, rid="{rid}", assertion="{assertion}")
        self.sign_s = 0.0  # wall seconds inside key.sign, summed

    def build(self, request_id: str, email: str) -> bytes:
        t = time.time()
        v = {
            "aid": "id" + secrets.token_hex(16),
            "now": iso(t),
            "nbf": iso(t - 300),
            "exp": iso(t + 300),
            "session_end": iso(t + 8 * 3600),
            "irt": literal(request_id),
            "email": literal(email),
            "sidx": "id" + secrets.token_hex(8),
        }
        head = self.head.format(**v)
        digest = hashlib.sha256((head + self.tail_c14n.format(**v)).encode()).digest()
        v["digest"] = base64.b64encode(digest).decode()
        signed_info = self.si_c14n.format(**v).encode()
        t0 = time.perf_counter()
        value = self.key.sign(signed_info, self.pad, self.hash)
        self.sign_s += time.perf_counter() - t0
        v["value"] = base64.b64encode(value).decode()
        assertion = head + self.signature.format(**v) + self.tail_wire.format(**v)
        return self.response.format(
            **v, rid="id" + secrets.token_hex(16), assertion=assertion
        ).encode()

    def self_check(self) -> None:
        """Verify one Response with xmlsec (the Assertion's digest and the signature) and
        compare our canonical SignedInfo with lxml's; a mismatch stops the benchmark."""
        xml = self.build("id-self-check", "self.check@example.com")
        root = etree.fromstring(xml)
        assertion = root.find(f"{{{SAML}}}Assertion")
        assert assertion is not None
        sig = assertion.find(f"{{{DS}}}Signature")
        assert sig is not None and sig.getprevious() is not None
        ctx = xmlsec.SignatureContext()
        ctx.key = xmlsec.Key.from_memory(self.cert_pem, xmlsec.constants.KeyDataFormatCertPem)
        ctx.register_id(assertion, "ID")
        ctx.verify(sig)  # raises xmlsec.VerificationError
        signed_info = sig[0]
        ours = self.si_c14n.format(
            aid=assertion.get("ID"), digest=signed_info.findtext(f".//{{{DS}}}DigestValue")
        ).encode()
        if etree.tostring(signed_info, method="c14n", exclusive=True) != ours:
            raise RuntimeError("SignedInfo template is not in exclusive c14n form")


def form_b64(value: str) -> str:
    """Form-encode base64 text (only ``+``, ``/`` and ``=`` need it); ``urlencode`` walks the
    ~6 kB SAMLResponse byte by byte in Python, which would cost more than the RSA signature."""
    return value.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
