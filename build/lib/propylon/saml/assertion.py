"""Rules applied to a (verified) ``saml:Assertion`` element.

Sources: SAML Core 2.0 §2.3.3 (Assertion), §2.4 (Subject), §2.5 (Conditions),
§2.7.2 (AuthnStatement), §2.7.3 (AttributeStatement) and the Web Browser SSO
profile, SAML Profiles 2.0 §4.1.4.2 (assertion content) and §4.1.4.3.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, NamedTuple

from lxml import etree

from .diagnosis import time_facts
from .errors import Reason, SamlValidationError
from .structure import SUBJECT, check_content
from .xml import SAML, XSI, Children, child, child_nodes, full_text, parse_time

__all__ = ["AssertionFacts", "check_issuer", "read_assertion"]

BEARER: Final = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ENTITY_FORMAT: Final = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"

_ISSUER: Final = f"{{{SAML}}}Issuer"
_SUBJECT: Final = f"{{{SAML}}}Subject"
_NAMEID: Final = f"{{{SAML}}}NameID"
_ENCRYPTED_ID: Final = f"{{{SAML}}}EncryptedID"
_SC: Final = f"{{{SAML}}}SubjectConfirmation"
_SCD: Final = f"{{{SAML}}}SubjectConfirmationData"
_CONDITIONS: Final = f"{{{SAML}}}Conditions"
_AUDIENCE_RESTRICTION: Final = f"{{{SAML}}}AudienceRestriction"
_AUDIENCE: Final = f"{{{SAML}}}Audience"
_ONE_TIME_USE: Final = f"{{{SAML}}}OneTimeUse"
_PROXY_RESTRICTION: Final = f"{{{SAML}}}ProxyRestriction"
_AUTHN_STATEMENT: Final = f"{{{SAML}}}AuthnStatement"
_AUTHN_CONTEXT: Final = f"{{{SAML}}}AuthnContext"
_AUTHN_CONTEXT_CLASS_REF: Final = f"{{{SAML}}}AuthnContextClassRef"
_ATTRIBUTE_STATEMENT: Final = f"{{{SAML}}}AttributeStatement"
_ATTRIBUTE: Final = f"{{{SAML}}}Attribute"
_ATTRIBUTE_VALUE: Final = f"{{{SAML}}}AttributeValue"
_XSI_NIL: Final = f"{{{XSI}}}nil"


class AssertionFacts(NamedTuple):
    """Values read from a verified assertion (see :class:`propylon.saml.Assertion`)."""

    assertion_id: str
    issue_instant: datetime
    name_id: str
    name_id_format: str | None
    name_id_name_qualifier: str | None
    name_id_sp_name_qualifier: str | None
    attributes: dict[str, list[str]]
    session_index: str | None
    authn_instant: datetime
    authn_context_class_ref: str | None
    session_not_on_or_after: datetime | None
    not_before: datetime | None
    not_on_or_after: datetime


def _local(tag: object) -> str:
    return str(tag).rpartition("}")[2]


def check_issuer(
    el: etree._Element,
    expected: str,
    *,
    required: bool,
    children: Children | None = None,
) -> None:
    """``saml:Issuer`` child of ``el`` must name the IdP (SAML Profiles §4.1.4.2).

    ``children`` is ``Children(el)`` when the caller already has it.
    """
    issuer = child(el, _ISSUER) if children is None else children.first.get(_ISSUER)
    if issuer is None:
        if required:
            raise SamlValidationError(
                Reason.ISSUER_MISSING, el.tag, expected_issuer=expected, element=_local(el.tag)
            )
        return
    fmt = issuer.get("Format")
    value = full_text(issuer).strip()
    if value != expected or (fmt is not None and fmt != ENTITY_FORMAT):
        raise SamlValidationError(
            Reason.ISSUER_MISMATCH,
            f"{value!r} (Format={fmt!r})",
            expected_issuer=expected,
            received_issuer=value,
            issuer_format=fmt,
            element=_local(el.tag),
        )


def _read_name_id(subject: Children) -> etree._Element:
    name_id = subject.first.get(_NAMEID)
    if name_id is None:
        if _ENCRYPTED_ID in subject.first:
            raise SamlValidationError(Reason.NAMEID_MALFORMED, "EncryptedID is not supported")
        raise SamlValidationError(Reason.NAMEID_MISSING)
    # len() counts processing instructions too, which are allowed: only then look closer.
    if len(name_id) and any(isinstance(c.tag, str) for c in name_id):
        raise SamlValidationError(Reason.NAMEID_MALFORMED, "NameID has element children")
    return name_id


def _check_bearer(
    sc: etree._Element,
    acs_url: str,
    expected_request_id: str | None,
    now: datetime,
    skew: timedelta,
) -> datetime:
    """One bearer SubjectConfirmation (SAML Profiles §4.1.4.2, Core §2.4.1.2)."""
    scd = child(sc, _SCD)
    if scd is None:
        raise SamlValidationError(Reason.NO_BEARER_CONFIRMATION, "SubjectConfirmationData missing")
    recipient = scd.get("Recipient")
    if recipient != acs_url:
        raise SamlValidationError(
            Reason.RECIPIENT_MISMATCH,
            repr(recipient),
            expected_recipient=acs_url,
            received_recipient=recipient,
        )
    irt = scd.get("InResponseTo")
    if irt != expected_request_id:
        raise SamlValidationError(
            Reason.IN_RESPONSE_TO_MISMATCH,
            f"SubjectConfirmationData InResponseTo={irt!r}",
            expected_in_response_to=expected_request_id,
            received_in_response_to=irt,
        )
    noa = parse_time(scd.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter")
    if now >= noa + skew:
        raise SamlValidationError(
            Reason.SUBJECT_CONFIRMATION_EXPIRED,
            noa.isoformat(),
            **time_facts("not_on_or_after", noa, now, skew),
        )
    nb_raw = scd.get("NotBefore")
    nb = parse_time(nb_raw, "SubjectConfirmationData NotBefore") if nb_raw is not None else None
    if nb is not None and now + skew < nb:
        raise SamlValidationError(
            Reason.SUBJECT_CONFIRMATION_NOT_YET_VALID,
            nb.isoformat(),
            **time_facts("not_before", nb, now, skew),
        )
    return noa


def _check_subject_confirmation(
    subject: Children,
    acs_url: str,
    expected_request_id: str | None,
    now: datetime,
    skew: timedelta,
) -> datetime:
    """At least one bearer confirmation must pass; returns its NotOnOrAfter."""
    first_error: SamlValidationError | None = None
    for sc in subject.all(_SC):
        if sc.get("Method") != BEARER:
            continue
        try:
            return _check_bearer(sc, acs_url, expected_request_id, now, skew)
        except SamlValidationError as exc:
            first_error = first_error or exc
    raise first_error or SamlValidationError(Reason.NO_BEARER_CONFIRMATION)


def _check_conditions(
    cond: etree._Element | None, sp_entity_id: str, now: datetime, skew: timedelta
) -> tuple[datetime | None, datetime | None]:
    """SAML Core §2.5.1 (time window, audiences); unknown conditions are refused."""
    if cond is None:
        raise SamlValidationError(Reason.CONDITIONS_MISSING)
    nb_raw, noa_raw = cond.get("NotBefore"), cond.get("NotOnOrAfter")
    nb = parse_time(nb_raw, "Conditions NotBefore") if nb_raw is not None else None
    noa = parse_time(noa_raw, "Conditions NotOnOrAfter") if noa_raw is not None else None
    if nb is not None and now + skew < nb:
        raise SamlValidationError(
            Reason.ASSERTION_NOT_YET_VALID,
            nb.isoformat(),
            **time_facts("not_before", nb, now, skew),
        )
    if noa is not None and now >= noa + skew:
        raise SamlValidationError(
            Reason.ASSERTION_EXPIRED,
            noa.isoformat(),
            **time_facts("not_on_or_after", noa, now, skew),
        )
    restrictions = 0
    for item in child_nodes(cond):
        if not isinstance(item.tag, str):
            continue
        if item.tag == _AUDIENCE_RESTRICTION:
            restrictions += 1
            audiences = [full_text(a).strip() for a in child_nodes(item) if a.tag == _AUDIENCE]
            if sp_entity_id not in audiences:
                raise SamlValidationError(
                    Reason.AUDIENCE_MISMATCH,
                    repr(audiences),
                    expected_audience=sp_entity_id,
                    received_audiences=audiences,
                )
        elif item.tag not in (_ONE_TIME_USE, _PROXY_RESTRICTION):
            raise SamlValidationError(Reason.UNKNOWN_CONDITION, str(item.tag))
    if not restrictions:  # SAML Profiles §4.1.4.2: MUST contain an AudienceRestriction
        raise SamlValidationError(
            Reason.AUDIENCE_MISMATCH,
            "no AudienceRestriction",
            expected_audience=sp_entity_id,
            received_audiences=[],
        )
    return nb, noa


def _read_attributes(statements: list[etree._Element]) -> dict[str, list[str]]:
    """SAML Core §2.7.3.1: Name -> values; ``xsi:nil`` values are skipped.

    Plain child iteration with tag comparison: measurably cheaper in lxml than
    ``iterchildren(tag)`` (which builds a tag matcher per call) or an XPath.
    """
    attributes: dict[str, list[str]] = {}
    for stmt in statements:
        for attr in child_nodes(stmt):
            name = attr.get("Name") if attr.tag == _ATTRIBUTE else None
            if not name:
                continue
            values = attributes.setdefault(name, [])
            for v in child_nodes(attr):
                if v.tag == _ATTRIBUTE_VALUE and v.get(_XSI_NIL) not in ("true", "1"):
                    values.append(full_text(v))
    return attributes


def read_assertion(
    assertion: etree._Element,
    *,
    children: Children | None = None,
    idp_entity_id: str,
    sp_entity_id: str,
    acs_url: str,
    expected_request_id: str | None,
    now: datetime,
    skew: timedelta,
) -> AssertionFacts:
    """Apply every assertion-level rule and return the facts the SP may use.

    ``children`` is ``Children(assertion)`` when the caller already has it.
    """
    if assertion.get("Version") != "2.0":
        raise SamlValidationError(Reason.UNSUPPORTED_VERSION, repr(assertion.get("Version")))
    assertion_id = assertion.get("ID")
    if not assertion_id:
        raise SamlValidationError(Reason.MISSING_ID, "Assertion")
    issue_instant = parse_time(assertion.get("IssueInstant"), "Assertion IssueInstant")
    parts = Children(assertion) if children is None else children
    check_issuer(assertion, idp_entity_id, required=True, children=parts)  # SAML Core §2.3.3
    subject_el = parts.first.get(_SUBJECT)
    if subject_el is None:
        raise SamlValidationError(Reason.SUBJECT_MISSING)
    subject = Children(subject_el)
    check_content(subject_el, subject, SUBJECT)
    name_id = _read_name_id(subject)
    name_id_value = full_text(name_id).strip()
    if not name_id_value:
        raise SamlValidationError(Reason.NAMEID_MISSING, "empty NameID")
    try:  # the (verified) NameID is known from here on: every refusal names it
        scd_noa = _check_subject_confirmation(subject, acs_url, expected_request_id, now, skew)
        nb, cond_noa = _check_conditions(parts.first.get(_CONDITIONS), sp_entity_id, now, skew)
        authn = parts.first.get(_AUTHN_STATEMENT)
        if authn is None:  # SAML Profiles §4.1.4.2
            raise SamlValidationError(Reason.AUTHN_STATEMENT_MISSING)
        authn_instant = parse_time(authn.get("AuthnInstant"), "AuthnInstant")
        snoa_raw = authn.get("SessionNotOnOrAfter")
        snoa = parse_time(snoa_raw, "SessionNotOnOrAfter") if snoa_raw is not None else None
        if snoa is not None and now >= snoa + skew:
            raise SamlValidationError(
                Reason.SESSION_EXPIRED,
                snoa.isoformat(),
                **time_facts("session_not_on_or_after", snoa, now, skew),
            )
    except SamlValidationError as exc:
        exc.add({"name_id": name_id_value, "assertion_id": assertion_id})
        raise
    context = child(authn, _AUTHN_CONTEXT)
    class_ref = child(context, _AUTHN_CONTEXT_CLASS_REF) if context is not None else None
    return AssertionFacts(
        assertion_id=assertion_id,
        issue_instant=issue_instant,
        name_id=name_id_value,
        name_id_format=name_id.get("Format"),
        name_id_name_qualifier=name_id.get("NameQualifier"),
        name_id_sp_name_qualifier=name_id.get("SPNameQualifier"),
        attributes=_read_attributes(parts.all(_ATTRIBUTE_STATEMENT)),
        session_index=authn.get("SessionIndex"),
        authn_instant=authn_instant,
        authn_context_class_ref=full_text(class_ref).strip() if class_ref is not None else None,
        session_not_on_or_after=snoa,
        not_before=nb,
        not_on_or_after=min(scd_noa, cond_noa) if cond_noa is not None else scd_noa,
    )
