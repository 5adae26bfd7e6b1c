"""Which ID token or userinfo claim fills which user field, per OpenID Provider.

An OIDC connection's ``claim_map`` has the shape of a SAML attribute map
(:mod:`propylon.tenants.attribute_maps`): a field maps to candidate claim names, the first one
the ID token (or userinfo response) carries with a value wins. Standard claims are those of
OpenID Connect Core §5.1 (``email``, ``given_name``, ``family_name``, ``name``); the presets
add what each provider sends besides:

- ``okta``: ``groups`` (a custom claim an Okta admin adds to the authorization server);
- ``entra``: the address may come as ``email``, ``preferred_username`` or ``upn`` (the user
  principal name, for organisations whose UPNs are their addresses; neither is a verified
  email claim, so a tenant whose UPNs are not mail addresses matches by ``sub`` instead),
  ``groups`` (object ids) and ``roles`` (app role values);
- ``google``: ``hd``, the Google Workspace domain of the account (absent for consumer
  accounts), as ``hosted_domain``;
- ``generic``: the standard claims, ``groups`` and ``roles``.

Two fields exist beside the SAML ones: ``roles`` and ``hosted_domain``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from propylon.tenants.attribute_maps import FIELDS, build_map

CLAIM_FIELDS = (*FIELDS, "roles", "hosted_domain")
"""The user fields claims can fill."""

_STANDARD = {
    "email": ["email"],
    "given_name": ["given_name"],
    "family_name": ["family_name"],
    "display_name": ["name"],
}
PRESETS: dict[str, dict[str, list[str]]] = {
    "generic": {**_STANDARD, "groups": ["groups"], "roles": ["roles"]},
    "okta": {**_STANDARD, "groups": ["groups"]},
    "entra": {
        **_STANDARD,
        "email": ["email", "preferred_username", "upn"],
        "groups": ["groups"],
        "roles": ["roles"],
    },
    "google": {**_STANDARD, "hosted_domain": ["hd"]},
}
DEFAULT_PRESET = "generic"


def build_claim_map(preset: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The preset's claim names with the administrator's overrides (``--claim FIELD=NAME``)."""
    return build_map(preset, overrides, presets=PRESETS, fields=CLAIM_FIELDS)


def claim_overrides(overrides: Mapping[str, Any]) -> dict[str, list[str]]:
    """Only the overridden fields, validated like a preset's (an update on top of a map)."""
    full = build_claim_map(DEFAULT_PRESET, overrides)
    return {field: full[field] for field in overrides}
