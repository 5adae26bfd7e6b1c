"""The test IdP's SAML Response (SAML Core 2.0 §3.3.3, §2.3.3; Profiles §4.1.4.2), built
from a person picked on the test IdP's page and a :class:`Scenario`.

A correct answer is a Response whose Assertion is signed (RSA-SHA256), with a bearer
SubjectConfirmation for the ACS, an AudienceRestriction for the SP, an AuthnStatement and the
person's attributes under common names (``email``, ``firstName``, ``lastName``,
``displayName``, ``department``, ``groups``), the NameID being the email address. Each
scenario changes one thing (:mod:`propylon.testidp.scenarios`). Pure: the caller passes the
time and the ids.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from lxml import etree

from propylon.saml.assertion import ENTITY_FORMAT
from propylon.saml.messages import new_id
from propylon.saml.xml import SAML, SAMLP, XSI
from propylon.testidp.keys import TestIdpKeys
from propylon.testidp.scenarios import OTHER_DOMAIN, SKEW, WRONG_AUDIENCE, Scenario
from propylon.testidp.xmldsig import sign_enveloped

__all__ = ["Person", "SamlAnswer", "build_response", "encode_response", "opaque_subject"]

_XS: Final = "http://www.w3.org/2001/XMLSchema"
_STATUS: Final = "urn:oasis:names:tc:SAML:2.0:status:"
EMAIL_FORMAT: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT_FORMAT: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
_LIFETIME: Final = timedelta(minutes=5)
_SESSION: Final = timedelta(hours=8)
ERROR_MESSAGE: Final = "The test IdP refused the sign-in (scenario error_response)."


@dataclass(frozen=True)
class Person:
    """Who signs in, as typed or picked on the test IdP's page."""

    email: str
    first_name: str = ""
    last_name: str = ""
    department: str = ""
    groups: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or self.email

    def for_scenario(self, scenario: Scenario) -> Person:
        """The person as the scenario presents them (``other_domain`` moves the address)."""
        if scenario is Scenario.OTHER_DOMAIN:
            local = self.email.rsplit("@", 1)[0] or "someone"
            return Person(
                f"{local}@{OTHER_DOMAIN}",
                self.first_name,
                self.last_name,
                self.department,
                self.groups,
            )
        return self


@dataclass(frozen=True)
class SamlAnswer:
    """Where the Response goes: the IdP's entity id, the SP's ACS and entity id, and the
    AuthnRequest it answers (None: IdP-initiated)."""

    idp_entity_id: str
    acs_url: str
    sp_entity_id: str
    in_response_to: str | None = None
    response_id: str = field(default_factory=new_id)
    assertion_id: str = field(default_factory=new_id)


def opaque_subject(issuer: str, email: str) -> str:
    """A stable pairwise-looking identifier for ``email`` that reveals nothing of it."""
    return hmac.new(issuer.encode(), email.lower().encode(), hashlib.sha256).hexdigest()[:32]


def _instant(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _el(
    parent: etree._Element | None, ns: str, local: str, text: str | None = None, **attrs: str
) -> etree._Element:
    tag = f"{{{ns}}}{local}"
    el = etree.Element(tag, attrs) if parent is None else etree.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _attributes(parent: etree._Element, person: Person, with_email: bool) -> None:
    values: list[tuple[str, list[str]]] = [
        ("email", [person.email] if with_email else []),
        ("firstName", [person.first_name] if person.first_name else []),
        ("lastName", [person.last_name] if person.last_name else []),
        ("displayName", [person.display_name] if with_email else []),
        ("department", [person.department] if person.department else []),
        ("groups", list(person.groups)),
    ]
    statement = _el(parent, SAML, "AttributeStatement")
    for name, vals in values:
        if not vals:
            continue
        attr = _el(
            statement,
            SAML,
            "Attribute",
            Name=name,
            NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
        )
        for value in vals:
            v = _el(attr, SAML, "AttributeValue", value)
            v.set(f"{{{XSI}}}type", "xs:string")


def _assertion(
    root: etree._Element, answer: SamlAnswer, person: Person, scenario: Scenario, now: datetime
) -> etree._Element:
    audience = answer.sp_entity_id
    if scenario is Scenario.WRONG_AUDIENCE:
        audience = WRONG_AUDIENCE
    missing_email = scenario is Scenario.MISSING_EMAIL
    a = _el(
        root, SAML, "Assertion", ID=answer.assertion_id, Version="2.0", IssueInstant=_instant(now)
    )
    _el(
        a,
        SAML,
        "Issuer",
        answer.idp_entity_id,
        Format=ENTITY_FORMAT,
    )
    subject = _el(a, SAML, "Subject")
    if missing_email:
        _el(
            subject,
            SAML,
            "NameID",
            opaque_subject(answer.idp_entity_id, person.email),
            Format=PERSISTENT_FORMAT,
        )
    else:
        _el(subject, SAML, "NameID", person.email, Format=EMAIL_FORMAT)
    confirmation = _el(
        subject, SAML, "SubjectConfirmation", Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"
    )
    data = _el(
        confirmation,
        SAML,
        "SubjectConfirmationData",
        NotOnOrAfter=_instant(now + _LIFETIME),
        Recipient=answer.acs_url,
    )
    if answer.in_response_to:
        data.set("InResponseTo", answer.in_response_to)
    conditions = _el(
        a,
        SAML,
        "Conditions",
        NotBefore=_instant(now - timedelta(seconds=30)),
        NotOnOrAfter=_instant(now + _LIFETIME),
    )
    _el(_el(conditions, SAML, "AudienceRestriction"), SAML, "Audience", audience)
    authn = _el(
        a,
        SAML,
        "AuthnStatement",
        AuthnInstant=_instant(now),
        SessionIndex=new_id(),
        SessionNotOnOrAfter=_instant(now + _SESSION),
    )
    _el(
        _el(authn, SAML, "AuthnContext"),
        SAML,
        "AuthnContextClassRef",
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
    )
    _attributes(a, person, not missing_email)
    return a


def build_response(
    answer: SamlAnswer, person: Person, scenario: Scenario, keys: TestIdpKeys, now: datetime
) -> bytes:
    """The serialized Response for ``scenario``."""
    if scenario is Scenario.CLOCK_SKEW:
        now = now + SKEW
    elif scenario is Scenario.EXPIRED:
        now = now - SKEW - _LIFETIME
    person = person.for_scenario(scenario)
    root = etree.Element(
        f"{{{SAMLP}}}Response",
        {
            "ID": answer.response_id,
            "Version": "2.0",
            "IssueInstant": _instant(now),
            "Destination": answer.acs_url,
        },
        nsmap={"samlp": SAMLP, "saml": SAML, "xs": _XS, "xsi": XSI},
    )
    if answer.in_response_to:
        root.set("InResponseTo", answer.in_response_to)
    _el(
        root,
        SAML,
        "Issuer",
        answer.idp_entity_id,
        Format=ENTITY_FORMAT,
    )
    status = _el(root, SAMLP, "Status")
    signer = keys.wrong if scenario is Scenario.WRONG_KEY else keys.saml
    sha1 = scenario is Scenario.SHA1
    if scenario is Scenario.ERROR_RESPONSE:
        code = _el(status, SAMLP, "StatusCode", Value=_STATUS + "Responder")
        _el(code, SAMLP, "StatusCode", Value=_STATUS + "AuthnFailed")
        _el(status, SAMLP, "StatusMessage", ERROR_MESSAGE)
        sign_enveloped(root, signer)
        return bytes(etree.tostring(root))
    _el(status, SAMLP, "StatusCode", Value=_STATUS + "Success")
    assertion = _assertion(root, answer, person, scenario, now)
    sign_enveloped(assertion, signer, sha1=sha1)
    return bytes(etree.tostring(root))


def encode_response(xml: bytes) -> str:
    """The ``SAMLResponse`` form value (HTTP-POST binding, Bindings §3.5.4)."""
    return base64.b64encode(xml).decode()
