"""Step-by-step guides for connecting an IdP, per vendor and protocol: where each field is in
the IdP's admin console, which of Propylon's values goes into it, what to bring back, and the
attribute (SAML) or claim (OIDC) names the IdP sends once set up as the guide says.

Pure data. The values themselves (ACS URL, entity id, redirect URI …) are the connection's:
a step names them by key (:data:`SAML_VALUES`, :data:`OIDC_VALUES`) and the page fills them
in. Each guide names the attribute-map preset (``tenants/attribute_maps.py``,
``tenants/oidc_presets.py``) that already knows those names; a test pins that every name a
guide promises is one its preset reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from propylon.setup.guide_model import Guide, Paste, SentAttribute, Step
from propylon.setup.guides_oidc import OIDC_GUIDES
from propylon.setup.guides_saml import SAML_GUIDES

Protocol = Literal["saml", "oidc"]

IDPS: Final[tuple[tuple[str, str], ...]] = (
    ("okta", "Okta"),
    ("entra", "Microsoft Entra ID"),
    ("google", "Google Workspace"),
    ("onelogin", "OneLogin"),
    ("jumpcloud", "JumpCloud"),
    ("generic", "Another IdP"),
)
"""The IdPs with a guide, in the order the portal offers them (``generic``: any other)."""

PROTOCOLS: Final[tuple[tuple[Protocol, str], ...]] = (
    ("saml", "SAML 2.0"),
    ("oidc", "OpenID Connect"),
)

SAML_VALUES: Final[dict[str, str]] = {
    "acs_url": "ACS URL (Assertion Consumer Service)",
    "sp_entity_id": "Entity ID (audience)",
    "sp_metadata_url": "SP metadata URL",
    "login_url": "Sign-in URL",
    "slo_url": "Single logout URL",
}
"""The SAML values a step may ask the admin to paste, keyed as the connection's view names
them (``tenants/saml_connections.py sp_urls`` and ``sp_entity_id``)."""

OIDC_VALUES: Final[dict[str, str]] = {
    "redirect_uri": "Redirect URI",
    "backchannel_logout_uri": "Back-channel logout URI",
    "login_url": "Initiate login URI",
    "post_logout_redirect_uri": "Post-logout redirect URI",
}
"""The OIDC values a step may ask the admin to paste (``tenants/oidc_connections.py
rp_urls``)."""

_GUIDES: Final[dict[tuple[str, str], Guide]] = {
    **{("saml", g.idp): g for g in SAML_GUIDES},
    **{("oidc", g.idp): g for g in OIDC_GUIDES},
}


class UnknownGuide(LookupError):
    """No guide for this IdP and protocol (the page answers 404)."""


def idp_name(idp: str) -> str:
    for key, name in IDPS:
        if key == idp:
            return name
    raise UnknownGuide(idp)


def guide(protocol: str, idp: str) -> Guide:
    """The guide of ``idp`` for ``protocol`` (``saml`` or ``oidc``), or :class:`UnknownGuide`."""
    found = _GUIDES.get((protocol, idp))
    if found is None:
        raise UnknownGuide(f"{protocol}/{idp}")
    return found


def value_labels(protocol: str) -> dict[str, str]:
    return dict(SAML_VALUES if protocol == "saml" else OIDC_VALUES)


@dataclass(frozen=True)
class FilledPaste:
    key: str
    label: str
    """Propylon's name of the value."""
    idp_field: str
    """The IdP's name of the field it goes into."""
    value: str


def filled(step: Step, values: dict[str, str], protocol: str) -> list[FilledPaste]:
    """The pastes of ``step`` with the connection's values (a value the connection does not
    have yet, e.g. before it is created, is left out)."""
    labels = value_labels(protocol)
    return [
        FilledPaste(p.value, labels[p.value], p.idp_field, values[p.value])
        for p in step.pastes
        if p.value in values
    ]


__all__ = [
    "IDPS",
    "OIDC_VALUES",
    "PROTOCOLS",
    "SAML_VALUES",
    "FilledPaste",
    "Guide",
    "Paste",
    "SentAttribute",
    "Step",
    "UnknownGuide",
    "filled",
    "guide",
    "idp_name",
    "value_labels",
]
