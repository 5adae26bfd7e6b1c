"""The element content SAML's schema allows, checked before anything is read.

A Response or Assertion whose children are not in the order and number SAML Core's schema
defines is refused (``unexpected_content``) instead of being read past: an unknown element
where the Assertion belongs, an element of a foreign namespace before the real Assertion,
text between elements. Each content model is a sequence of slots, one slot a set of
allowed tags that may appear once or repeatedly:

* ``samlp:Response`` (SAML Core §3.2.2 StatusResponseType, §3.3.3 Response): ``Issuer?``,
  ``ds:Signature?``, ``Extensions?``, ``Status``, then ``Assertion`` or
  ``EncryptedAssertion``;
* ``saml:Assertion`` (§2.3.3 AssertionType): ``Issuer``, ``ds:Signature?``, ``Subject?``,
  ``Conditions?``, ``Advice?``, then any number of ``AuthnStatement``,
  ``AttributeStatement`` and ``AuthzDecisionStatement`` (the abstract ``Statement``
  extension point, typed by ``xsi:type``, is not accepted: nothing here could read it);
* ``saml:Subject`` (§2.4.1): ``BaseID | NameID | EncryptedID`` at most once, then
  ``SubjectConfirmation`` elements.

Every slot may be empty here: a missing element has its own, more specific refusal
(``issuer_missing``, ``status_not_success``, ``no_assertion``, ``subject_missing``...)
raised by the rule that reads it; several Assertions get ``multiple_assertions`` from the
whole-document scan first. Processing instructions carry no data and are not elements of
the content model; every reader ignores them, as XML Schema does. Comments are removed at
parse time (:mod:`propylon.saml.xml`).
"""

from __future__ import annotations

from typing import Final

from lxml import etree

from .errors import Reason, SamlValidationError
from .xml import DS, SAML, SAMLP, Children

__all__ = ["ASSERTION", "RESPONSE", "SUBJECT", "ContentModel", "check_content"]


class ContentModel:
    """A sequence of slots, each a set of tags that may appear once or repeatedly; compiled
    to a rank per tag, so a check is one dictionary lookup per child."""

    __slots__ = ("rank", "single")

    def __init__(self, *slots: tuple[frozenset[str], bool]) -> None:
        #: tag -> the index of its slot
        self.rank: dict[str, int] = {tag: i for i, (tags, _) in enumerate(slots) for tag in tags}
        #: the slots that hold one element at most
        self.single = frozenset(i for i, (_, repeat) in enumerate(slots) if not repeat)


def _one(*tags: str) -> tuple[frozenset[str], bool]:
    return frozenset(tags), False


def _many(*tags: str) -> tuple[frozenset[str], bool]:
    return frozenset(tags), True


_SIGNATURE: Final = f"{{{DS}}}Signature"

RESPONSE: Final = ContentModel(
    _one(f"{{{SAML}}}Issuer"),
    _one(_SIGNATURE),
    _one(f"{{{SAMLP}}}Extensions"),
    _one(f"{{{SAMLP}}}Status"),
    _many(f"{{{SAML}}}Assertion", f"{{{SAML}}}EncryptedAssertion"),
)
ASSERTION: Final = ContentModel(
    _one(f"{{{SAML}}}Issuer"),
    _one(_SIGNATURE),
    _one(f"{{{SAML}}}Subject"),
    _one(f"{{{SAML}}}Conditions"),
    _one(f"{{{SAML}}}Advice"),
    _many(
        f"{{{SAML}}}AuthnStatement",
        f"{{{SAML}}}AttributeStatement",
        f"{{{SAML}}}AuthzDecisionStatement",
    ),
)
SUBJECT: Final = ContentModel(
    _one(f"{{{SAML}}}BaseID", f"{{{SAML}}}NameID", f"{{{SAML}}}EncryptedID"),
    _many(f"{{{SAML}}}SubjectConfirmation"),
)


def _refuse(parent: etree._Element, what: str) -> SamlValidationError:
    return SamlValidationError(Reason.UNEXPECTED_CONTENT, f"{what} in {parent.tag}"[:300])


def check_content(parent: etree._Element, children: Children, model: ContentModel) -> None:
    """Refuse ``parent`` unless its children (``Children(parent)``) follow ``model`` and no
    text but whitespace stands between them (element-only content)."""
    text = parent.text
    if text and not text.isspace():
        raise _refuse(parent, "text")
    rank, single, last = model.rank, model.single, -1
    for node, tag in zip(children.nodes, children.tags, strict=True):
        tail = node.tail
        if tail and not tail.isspace():
            raise _refuse(parent, "text")
        if tag.__class__ is not str:  # a processing instruction
            continue
        at = rank.get(tag)
        if at is None:
            raise _refuse(parent, f"unexpected element {tag}")
        if at < last or (at == last and at in single):
            raise _refuse(parent, f"element {tag} out of order or repeated")
        last = at
