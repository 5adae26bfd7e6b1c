"""Only SAML's structure is read: a signed Response or Assertion whose children are not
the schema's (SAML Core §3.2.2, §3.3.3, §2.3.3, §2.4.1) is refused, not read past."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from propylon.saml import Reason, SamlValidationError

from . import idp as I
from .conftest import Validate, assertion_of, ser, tree

Refused = Callable[..., SamlValidationError]
Mutate = Callable[[etree._Element], None]
EVIL_NS = "urn:evil"


def _signed(mutate: Mutate, idp_kp: I.KeyPair) -> bytes:
    """A Response changed by ``mutate`` *before* the IdP signs it: Assertion and Response
    signatures are valid, so only the structure rules can refuse it."""
    root = tree(I.response_xml(I.Spec()).encode())
    mutate(root)
    I.sign(assertion_of(root), idp_kp)
    I.sign(root, idp_kp)
    return ser(root)


def _q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def _before_assertion(tag: str) -> Mutate:
    return lambda root: assertion_of(root).addprevious(etree.Element(tag))


def _in_assertion_after(local: str, tag: str) -> Mutate:
    def run(root: etree._Element) -> None:
        found = assertion_of(root).find(_q(I.SAML, local))
        assert found is not None
        found.addnext(etree.Element(tag))

    return run


def _swap_subject_and_conditions(root: etree._Element) -> None:
    a = assertion_of(root)
    subject = a.find(_q(I.SAML, "Subject"))
    conditions = a.find(_q(I.SAML, "Conditions"))
    assert subject is not None and conditions is not None
    conditions.addnext(subject)


def _extensions_after_status(root: etree._Element) -> None:
    status = root.find(_q(I.SAMLP, "Status"))
    assert status is not None
    status.addnext(etree.Element(_q(I.SAMLP, "Extensions")))


def _text_before_assertion(root: etree._Element) -> None:
    status = root.find(_q(I.SAMLP, "Status"))
    assert status is not None
    status.tail = "surprise"


def _foreign_before_name_id(root: etree._Element) -> None:
    name_id = assertion_of(root).find(f"{_q(I.SAML, 'Subject')}/{_q(I.SAML, 'NameID')}")
    assert name_id is not None
    name_id.addprevious(etree.Element(_q(EVIL_NS, "NameID")))


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_before_assertion(_q(EVIL_NS, "Assertion")), id="foreign-before-assertion"),
        pytest.param(_before_assertion(_q(I.SAML, "Assertio")), id="unknown-saml-element"),
        pytest.param(_before_assertion(_q(I.SAML, "Statement")), id="statement-in-response"),
        pytest.param(_extensions_after_status, id="extensions-after-status"),
        pytest.param(_text_before_assertion, id="text-between-children"),
        pytest.param(
            _in_assertion_after("Issuer", _q(EVIL_NS, "Subject")), id="foreign-in-assertion"
        ),
        pytest.param(_in_assertion_after("Subject", _q(I.SAML, "Subject")), id="two-subjects"),
        pytest.param(_swap_subject_and_conditions, id="subject-after-conditions"),
        pytest.param(_foreign_before_name_id, id="foreign-before-nameid"),
    ],
)
def test_signed_response_with_foreign_structure_is_refused(
    refused: Refused, idp_kp: I.KeyPair, mutate: Mutate
) -> None:
    refused(_signed(mutate, idp_kp), Reason.UNEXPECTED_CONTENT)


def test_assertion_and_encrypted_assertion_together_are_refused(
    refused: Refused, idp_kp: I.KeyPair, sp_kp: I.KeyPair
) -> None:
    encrypted = tree(I.build(idp=idp_kp, encrypt_for=sp_kp))
    enc = encrypted.find(_q(I.SAML, "EncryptedAssertion"))
    assert enc is not None

    def both(root: etree._Element) -> None:
        assertion_of(root).addprevious(enc)

    refused(_signed(both, idp_kp), Reason.MULTIPLE_ASSERTIONS)


def test_schema_allowed_optional_children_are_accepted(
    validate: Validate, idp_kp: I.KeyPair
) -> None:
    """Extensions (any foreign content inside), Advice, an AuthzDecisionStatement and a
    processing instruction are SAML's own structure: accepted."""

    def allowed(root: etree._Element) -> None:
        status = root.find(_q(I.SAMLP, "Status"))
        assert status is not None
        ext = etree.Element(_q(I.SAMLP, "Extensions"))
        etree.SubElement(ext, _q(EVIL_NS, "Anything"))
        status.addprevious(ext)
        status.addnext(etree.ProcessingInstruction("idp", "note"))
        a = assertion_of(root)
        conditions = a.find(_q(I.SAML, "Conditions"))
        assert conditions is not None
        conditions.addnext(etree.Element(_q(I.SAML, "Advice")))
        authz = etree.SubElement(
            a, _q(I.SAML, "AuthzDecisionStatement"), Resource="urn:r", Decision="Permit"
        )
        etree.SubElement(authz, _q(I.SAML, "Action")).text = "read"

    assert validate(_signed(allowed, idp_kp)).name_id == "ada@example.com"
