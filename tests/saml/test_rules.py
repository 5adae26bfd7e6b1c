"""Semantic rules of SAML Profiles §4.1.4: each violation, each exact reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from propylon.saml import Reason, SamlValidationError, ValidationPolicy

from . import idp as I
from .conftest import Validate, assertion_of, ser, tree

Refused = Callable[..., SamlValidationError]


@pytest.mark.parametrize(
    ("spec_kw", "build_kw", "reason"),
    [
        ({"audience": "https://other-sp.example"}, {}, Reason.AUDIENCE_MISMATCH),
        ({"recipient": "https://evil.example/acs"}, {}, Reason.RECIPIENT_MISMATCH),
        ({"destination": "https://evil.example/acs"}, {}, Reason.DESTINATION_MISMATCH),
        ({"destination": None}, {"sign_response": True}, Reason.DESTINATION_MISSING),
        ({"issuer": "http://evil.example/idp"}, {}, Reason.ISSUER_MISMATCH),
        ({"assertion_issuer": "http://evil.example/idp"}, {}, Reason.ISSUER_MISMATCH),
        ({"in_response_to": "id-other"}, {}, Reason.IN_RESPONSE_TO_MISMATCH),
        ({"scd_in_response_to": "id-other"}, {}, Reason.IN_RESPONSE_TO_MISMATCH),
        ({"in_response_to": None}, {}, Reason.IN_RESPONSE_TO_MISMATCH),
        (
            {"method": "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"},
            {},
            Reason.NO_BEARER_CONFIRMATION,
        ),
        ({"name_id": ""}, {}, Reason.NAMEID_MISSING),
        ({"session_lifetime": dt.timedelta(minutes=-3)}, {}, Reason.SESSION_EXPIRED),
        ({"status": "urn:oasis:names:tc:SAML:2.0:status:Requester"}, {}, Reason.STATUS_NOT_SUCCESS),
    ],
)
def test_rule_violations(
    idp_kp: I.KeyPair,
    refused: Refused,
    spec_kw: dict[str, Any],
    build_kw: dict[str, Any],
    reason: Reason,
) -> None:
    refused(I.build(I.Spec().replace(**spec_kw), idp=idp_kp, **build_kw), reason)


@pytest.mark.parametrize(
    ("now", "reason"),
    [
        # SubjectConfirmationData/@NotOnOrAfter is checked before Conditions.
        (I.NOW + dt.timedelta(minutes=7), Reason.SUBJECT_CONFIRMATION_EXPIRED),
        (I.NOW + dt.timedelta(days=1), Reason.SUBJECT_CONFIRMATION_EXPIRED),
        (I.NOW - dt.timedelta(minutes=7, seconds=1), Reason.ASSERTION_NOT_YET_VALID),
    ],
)
def test_time_window(idp_kp: I.KeyPair, refused: Refused, now: dt.datetime, reason: Reason) -> None:
    refused(I.build(idp=idp_kp), reason, now=now)


def test_conditions_expired_before_confirmation(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = tree(I.response_xml(I.Spec()).encode())
    cond = assertion_of(root).find(f"{{{I.SAML}}}Conditions")
    assert cond is not None
    cond.set("NotOnOrAfter", I.iso(I.NOW - dt.timedelta(minutes=3)))
    I.sign(assertion_of(root), idp_kp)
    refused(ser(root), Reason.ASSERTION_EXPIRED)


def test_zero_skew_is_strict(idp_kp: I.KeyPair, refused: Refused) -> None:
    strict = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, clock_skew=dt.timedelta(0))
    refused(
        I.build(idp=idp_kp),
        Reason.SUBJECT_CONFIRMATION_EXPIRED,
        now=I.NOW + dt.timedelta(minutes=5),
        policy=strict,
    )


def test_unsolicited_refused_by_default(idp_kp: I.KeyPair, refused: Refused) -> None:
    xml = I.build(I.Spec(in_response_to=None), idp=idp_kp)
    refused(xml, Reason.UNSOLICITED_RESPONSE, expected_request_id=None)


def test_unsolicited_with_in_response_to(idp_kp: I.KeyPair, refused: Refused) -> None:
    lax = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, allow_idp_initiated=True)
    refused(
        I.build(idp=idp_kp), Reason.IN_RESPONSE_TO_MISMATCH, expected_request_id=None, policy=lax
    )


def test_require_signed_assertion(idp_kp: I.KeyPair, refused: Refused) -> None:
    strict = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, require_signed_assertion=True)
    xml = I.build(idp=idp_kp, sign_response=True, sign_assertion=False)
    refused(xml, Reason.ASSERTION_SIGNATURE_MISSING, policy=strict)


def test_require_encrypted_assertion(idp_kp: I.KeyPair, refused: Refused) -> None:
    strict = ValidationPolicy(I.SP_ENTITY, I.ACS_URL, require_encrypted_assertion=True)
    refused(I.build(idp=idp_kp), Reason.ASSERTION_NOT_ENCRYPTED, policy=strict)


def test_unsigned_response_refused(refused: Refused) -> None:
    refused(I.response_xml(I.Spec()).encode(), Reason.SIGNATURE_MISSING)


def test_encrypted_but_unsigned_refused(
    idp_kp: I.KeyPair, sp_kp: I.KeyPair, refused: Refused
) -> None:
    """Anyone can encrypt to the SP's public key: encryption is not authentication."""
    root = tree(I.build(idp=idp_kp, sign_assertion=False))
    I.encrypt_assertion(root, sp_kp)
    refused(ser(root), Reason.SIGNATURE_MISSING)


def test_encrypted_without_key(idp_kp: I.KeyPair, sp_kp: I.KeyPair, refused: Refused) -> None:
    root = tree(I.build(idp=idp_kp))
    I.encrypt_assertion(root, sp_kp)
    refused(ser(root), Reason.DECRYPTION_KEY_MISSING, sp_decryption_key=None)


def test_encrypted_with_wrong_key(
    idp_kp: I.KeyPair, sp_kp: I.KeyPair, attacker_kp: I.KeyPair, refused: Refused
) -> None:
    root = tree(I.build(idp=idp_kp))
    I.encrypt_assertion(root, sp_kp)
    refused(ser(root), Reason.DECRYPTION_FAILED, sp_decryption_key=attacker_kp.key)


def test_encrypted_ciphertext_tampered_gcm(
    idp_kp: I.KeyPair, sp_kp: I.KeyPair, refused: Refused
) -> None:
    import xmlsec

    root = tree(I.build(idp=idp_kp))
    I.encrypt_assertion(root, sp_kp, data_alg=xmlsec.constants.TransformAes128Gcm)
    values = root.findall(".//{http://www.w3.org/2001/04/xmlenc#}CipherValue")
    text = values[-1].text or ""
    values[-1].text = text[:40] + ("A" if text[40] != "A" else "B") + text[41:]
    refused(ser(root), Reason.DECRYPTION_FAILED)


def test_unknown_condition(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = tree(I.response_xml(I.Spec()).encode())
    cond = assertion_of(root).find(f"{{{I.SAML}}}Conditions")
    assert cond is not None
    cond.append(tree(b'<x:Custom xmlns:x="urn:example"/>'))
    I.sign(assertion_of(root), idp_kp)
    refused(ser(root), Reason.UNKNOWN_CONDITION)


def test_missing_audience_restriction(idp_kp: I.KeyPair, refused: Refused) -> None:
    root = tree(I.response_xml(I.Spec()).encode())
    cond = assertion_of(root).find(f"{{{I.SAML}}}Conditions")
    assert cond is not None
    for child in list(cond):
        cond.remove(child)
    I.sign(assertion_of(root), idp_kp)
    refused(ser(root), Reason.AUDIENCE_MISMATCH)


def test_second_bearer_confirmation_may_match(validate: Validate, idp_kp: I.KeyPair) -> None:
    root = tree(I.response_xml(I.Spec()).encode())
    subject = assertion_of(root).find(f"{{{I.SAML}}}Subject")
    assert subject is not None
    good = subject[1]
    bad = tree(ser(good))
    bad[0].set("Recipient", "https://elsewhere.example")
    good.addprevious(bad)
    I.sign(assertion_of(root), idp_kp)
    assert validate(ser(root)).name_id == "ada@example.com"


def test_not_a_response(idp_kp: I.KeyPair, refused: Refused) -> None:
    assertion = assertion_of(tree(I.build(idp=idp_kp)))
    refused(ser(assertion), Reason.NOT_A_RESPONSE)


def test_no_assertion(refused: Refused, idp_kp: I.KeyPair) -> None:
    root = tree(I.build(idp=idp_kp, sign_assertion=False))
    root.remove(assertion_of(root))
    I.sign(root, idp_kp)
    refused(ser(root), Reason.NO_ASSERTION)


def test_naive_now_is_a_programming_error(validate: Validate, idp_kp: I.KeyPair) -> None:
    with pytest.raises(ValueError):
        validate(I.build(idp=idp_kp), now=I.NOW.replace(tzinfo=None))
