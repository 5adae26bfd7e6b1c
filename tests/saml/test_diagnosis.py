"""Refusals carry a named stage and bounded, structured facts for the administrator."""

from __future__ import annotations

from collections.abc import Callable

from propylon.saml import Reason, SamlValidationError
from propylon.saml.errors import MAX_DETAIL_CHARS, MAX_DETAIL_ITEMS, STAGE

from . import idp as I

Refused = Callable[..., SamlValidationError]


def test_every_reason_has_a_stage() -> None:
    assert set(STAGE) == set(Reason)


def test_facts_are_bounded(idp_kp: I.KeyPair, refused: Refused) -> None:
    long_issuer = "https://idp.example/" + "x" * 5000
    exc = refused(I.build(I.Spec(issuer=long_issuer), idp=idp_kp), Reason.ISSUER_MISMATCH)
    assert exc.stage == "issuer"
    assert exc.details["expected_issuer"] == I.IDP_ENTITY
    assert exc.details["received_issuer"] == long_issuer[:MAX_DETAIL_CHARS]
    exc = SamlValidationError(Reason.AUDIENCE_MISMATCH, received_audiences=["a" * 999] * 50)
    audiences = exc.details["received_audiences"]
    assert isinstance(audiences, list) and len(audiences) == MAX_DETAIL_ITEMS
    assert {len(a) for a in audiences} == {MAX_DETAIL_CHARS}


def test_status_refusal_carries_the_idps_codes_and_message(
    idp_kp: I.KeyPair, refused: Refused
) -> None:
    xml = I.build(I.Spec(status="urn:oasis:names:tc:SAML:2.0:status:Responder"), idp=idp_kp)
    xml = xml.replace(
        b"/></saml2p:Status>",
        b"/><saml2p:StatusMessage>User is not assigned to this app</saml2p:StatusMessage>"
        b"</saml2p:Status>",
    )
    exc = refused(xml, Reason.STATUS_NOT_SUCCESS)
    assert exc.stage == "status"
    assert exc.details["status_code"] == "urn:oasis:names:tc:SAML:2.0:status:Responder"
    assert exc.details["status_message"] == "User is not assigned to this app"


def test_recipient_and_destination_facts(idp_kp: I.KeyPair, refused: Refused) -> None:
    exc = refused(
        I.build(I.Spec(destination="https://evil.example/acs"), idp=idp_kp),
        Reason.DESTINATION_MISMATCH,
    )
    assert exc.details == {
        "expected_destination": I.ACS_URL,
        "received_destination": "https://evil.example/acs",
    }
    exc = refused(
        I.build(I.Spec(recipient="https://evil.example/acs"), idp=idp_kp),
        Reason.RECIPIENT_MISMATCH,
    )
    assert exc.stage == "subject"
    assert exc.details["expected_recipient"] == I.ACS_URL
    assert exc.details["name_id"] == "ada@example.com"
