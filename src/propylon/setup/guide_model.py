"""The shape of a connection guide (:mod:`propylon.setup.guides`): steps, the values each
step pastes into which IdP field, and the attributes the IdP then sends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paste:
    value: str
    """Key of one of Propylon's values (``guides.SAML_VALUES`` / ``guides.OIDC_VALUES``)."""
    idp_field: str
    """The field's name in the IdP's console, as the IdP spells it."""


@dataclass(frozen=True)
class Step:
    title: str
    where: str
    """Where in the IdP's console this happens (menu path)."""
    text: str
    """What to do there, in plain words."""
    pastes: tuple[Paste, ...] = ()


@dataclass(frozen=True)
class SentAttribute:
    field: str
    """The Propylon user field it fills (``email``, ``given_name``, ``groups`` …)."""
    name: str
    """The attribute (SAML) or claim (OIDC) name the IdP sends."""
    source: str
    """What the IdP puts in it (its own name of the user property)."""
    default: bool
    """Sent without configuration (``False``: the guide has the admin add it)."""


@dataclass(frozen=True)
class Guide:
    idp: str
    protocol: str
    name: str
    """The IdP's name as a person reads it."""
    preset: str
    """The attribute-map (SAML) or claim-map (OIDC) preset that reads these names."""
    steps: tuple[Step, ...]
    attributes: tuple[SentAttribute, ...]
    bring_back: str
    """What the admin brings back from the IdP into the form below the guide."""
    metadata_by_url: bool = True
    """SAML: the IdP publishes its metadata at a URL (else: download and upload the file)."""
    issuer_hint: str = ""
    """OIDC: what the issuer looks like at this IdP."""
