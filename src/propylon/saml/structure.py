"""The element content SAML's schema allows, checked before anything is read.

A Response or Assertion whose children are not in the order and number SAML Core's schema
defines is refused (``unexpected_content``) instead of being read past: an unknown element
where the Assertion belongs, an element of a foreign namespace before the real Assertion,
text between elements. Each content model is a sequence of slots, one slot a set of
allowed tags with its least and greatest count:

* ``samlp:Response`` (SAML Core §3.2.2 StatusResponseType, §3.3.3 Response): ``Issuer?``,
  ``ds:Signature?``, ``Extensions?``, ``Status``, then ``Assertion`` or
  ``EncryptedAssertion``;
* ``saml:Assertion`` (§2.3.3 AssertionType): ``Issuer``, ``ds:Signature?``, ``Subject?``,
  ``Conditions?``, ``Advice?``, then any number of ``AuthnStatement``,
  ``AttributeStatement`` and ``AuthzDecisionStatement`` (the abstract ``Statement``
  extension point, typed by ``xsi:type``, is not accepted: nothing here could read it);
* ``saml:Subject`` (§2.4.1): ``BaseID | NameID | EncryptedID`` at most once, then
  ``SubjectConfirmation`` elements.

Least counts here are 0 where a missing element has its own, more specific refusal
(``issuer_missing``, ``status_not_success``, ``no_assertion``, ``subject_missing``...)
raised by the rule that reads it; several Assertions get ``multiple_assertions`` from the
whole-document scan first. Processing instructions carry no data and are not elements of
the content model; every reader ignores them, as XML Schema does. Comments are removed at
parse time (:mod:`propylon.saml.xml`).
"""

from __future__ import annotations

from typing import Final, NamedTuple

from lxml import etree

from .errors import Reason, SamlValidationError
from .xml import DS, SAML, SAMLP

__all__ = ["ASSERTION", "RESPONSE", "SUBJECT", "Slot", "check_content"]


class Slot(NamedTuple):
    tags: frozenset[str]
    least: int
    most: int


def _slot(*local: str, least: int = 0, most: int = 1) -> Slot:
    return Slot(frozenset(local), least, most)


_MANY: Final = 1 << 30
_SIGNATURE: Final = f"{{{DS}}}Signature"

RESPONSE: Final = (
    _slot(f"{{{SAML}}}Issuer"),
    _slot(_SIGNATURE),
    _slot(f"{{{SAMLP}}}Extensions"),
    _slot(f"{{{SAMLP}}}Status"),
    _slot(f"{{{SAML}}}Assertion", f"{{{SAML}}}EncryptedAssertion", most=_MANY),
)
ASSERTION: Final = (
    _slot(f"{{{SAML}}}Issuer"),
    _slot(_SIGNATURE),
    _slot(f"{{{SAML}}}Subject"),
    _slot(f"{{{SAML}}}Conditions"),
    _slot(f"{{{SAML}}}Advice"),
    _slot(
        f"{{{SAML}}}AuthnStatement",
        f"{{{SAML}}}AttributeStatement",
        f"{{{SAML}}}AuthzDecisionStatement",
        most=_MANY,
    ),
)
SUBJECT: Final = (
    _slot(f"{{{SAML}}}BaseID", f"{{{SAML}}}NameID", f"{{{SAML}}}EncryptedID"),
    _slot(f"{{{SAML}}}SubjectConfirmation", most=_MANY),
)


def _refuse(parent: etree._Element, what: str) -> SamlValidationError:
    return SamlValidationError(Reason.UNEXPECTED_CONTENT, f"{what} in {parent.tag}"[:300])


def check_content(
    parent: etree._Element, nodes: list[etree._Element], model: tuple[Slot, ...]
) -> None:
    """Refuse ``parent`` unless its child ``nodes`` (``child_nodes(parent)``) follow
    ``model`` and no text but whitespace stands between them (element-only content)."""
    if parent.text and not parent.text.isspace():
        raise _refuse(parent, "text")
    slot_index, count, slots = 0, 0, len(model)
    for node in nodes:
        if node.tail and not node.tail.isspace():
            raise _refuse(parent, "text")
        tag = node.tag
        if not isinstance(tag, str):  # a processing instruction
            continue
        while slot_index < slots and tag not in model[slot_index].tags:
            if count < model[slot_index].least:
                raise _refuse(parent, f"missing {sorted(model[slot_index].tags)[0]} before {tag}")
            slot_index, count = slot_index + 1, 0
        if slot_index == slots:
            raise _refuse(parent, f"unexpected element {tag}")
        count += 1
        if count > model[slot_index].most:
            raise _refuse(parent, f"repeated element {tag}")
