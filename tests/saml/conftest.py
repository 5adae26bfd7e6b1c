"""Shared fixtures: test key pairs, trust/policy objects and small helpers."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from propylon.saml import (
    Assertion,
    IdpTrust,
    Reason,
    SamlValidationError,
    ValidationPolicy,
    validate_response,
)

from . import idp as I


@pytest.fixture(scope="session")
def idp_kp() -> I.KeyPair:
    return I.make_keypair("okta-test-idp")


@pytest.fixture(scope="session")
def idp2_kp() -> I.KeyPair:
    return I.make_keypair("okta-test-idp-rotated")


@pytest.fixture(scope="session")
def attacker_kp() -> I.KeyPair:
    return I.make_keypair("mallory")


@pytest.fixture(scope="session")
def sp_kp() -> I.KeyPair:
    return I.make_keypair("propylon-sp")


@pytest.fixture(scope="session")
def ec_kp() -> I.KeyPair:
    return I.make_keypair("okta-test-idp-ec", kind="ec")


@pytest.fixture(scope="session")
def trust(idp_kp: I.KeyPair) -> IdpTrust:
    return IdpTrust(entity_id=I.IDP_ENTITY, certificates=(idp_kp.cert,))


@pytest.fixture(scope="session")
def policy() -> ValidationPolicy:
    return ValidationPolicy(sp_entity_id=I.SP_ENTITY, acs_url=I.ACS_URL)


Validate = Callable[..., Assertion]


@pytest.fixture
def validate(trust: IdpTrust, policy: ValidationPolicy, sp_kp: I.KeyPair) -> Validate:
    """validate(xml_bytes, **overrides) with sensible defaults for the test IdP."""

    def run(xml: bytes, **kw: Any) -> Assertion:
        args: dict[str, Any] = {
            "trust": trust,
            "policy": policy,
            "expected_request_id": I.REQUEST_ID,
            "now": I.NOW,
            "sp_decryption_key": sp_kp.key,
        }
        args.update(kw)
        return validate_response(base64.b64encode(xml), **args)

    return run


@pytest.fixture
def refused(validate: Validate) -> Callable[..., SamlValidationError]:
    """refused(xml, Reason.X, **overrides): assert the exact refusal reason."""

    def run(xml: bytes, reason: Reason, **kw: Any) -> SamlValidationError:
        with pytest.raises(SamlValidationError) as info:
            validate(xml, **kw)
        assert info.value.reason is reason, f"{info.value.reason} != {reason}: {info.value}"
        return info.value

    return run


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def ser(el: etree._Element) -> bytes:
    return bytes(etree.tostring(el))


def assertion_of(root: etree._Element) -> etree._Element:
    found = root.find(f"{{{I.SAML}}}Assertion")
    assert found is not None
    return found


def signature_of(el: etree._Element) -> etree._Element:
    found = el.find(f"{{{I.DS}}}Signature")
    assert found is not None
    return found


def set_name_id(assertion: etree._Element, value: str) -> None:
    name_id = assertion.find(f"{{{I.SAML}}}Subject/{{{I.SAML}}}NameID")
    assert name_id is not None
    name_id.text = value


def clone(el: etree._Element) -> etree._Element:
    return copy.deepcopy(el)
