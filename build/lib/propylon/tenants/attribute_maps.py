"""Which IdP attribute fills which user field.

A connection's ``attribute_map`` maps a Propylon field to one IdP attribute name or to a list
of candidates (the first one the assertion carries wins). Presets hold the names Okta, Entra
ID and Google Workspace send; ``generic``, the default, knows the common names of all of
them and of LDAP-style IdPs: ``givenName``/``sn``/``mail``/``displayName`` and the
``urn:oid:`` X.500 and eduPerson names (SAML V2.0 X.500/LDAP Attribute Profile, SAML Profiles
§8.2). An administrator's own names (``--attribute given_name=prenom``) override a preset
field by field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from propylon.errors import InvalidInput

_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
_MS_CLAIMS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/"

FIELDS = ("email", "given_name", "family_name", "display_name", "department", "groups")
"""The user fields an assertion can fill."""

PRESETS: dict[str, dict[str, list[str]]] = {
    "generic": {
        "email": [
            "email",
            "mail",
            "emailAddress",
            "urn:oid:0.9.2342.19200300.100.1.3",
            _CLAIMS + "emailaddress",
        ],
        "given_name": [
            "givenName",
            "firstName",
            "first_name",
            "given_name",
            "urn:oid:2.5.4.42",
            _CLAIMS + "givenname",
        ],
        "family_name": [
            "sn",
            "surname",
            "lastName",
            "last_name",
            "family_name",
            "urn:oid:2.5.4.4",
            _CLAIMS + "surname",
        ],
        "display_name": [
            "displayName",
            "display_name",
            "urn:oid:2.16.840.1.113730.3.1.241",
            "http://schemas.microsoft.com/identity/claims/displayname",
        ],
        "department": ["department", "ou", "urn:oid:2.5.4.11", _MS_CLAIMS + "department"],
        "groups": [
            "groups",
            "memberOf",
            "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
            _MS_CLAIMS + "groups",
        ],
    },
    "okta": {
        "email": ["email"],
        "given_name": ["firstName"],
        "family_name": ["lastName"],
        "display_name": ["displayName"],
        "department": ["department"],
        "groups": ["groups"],
    },
    "entra": {
        "email": [_CLAIMS + "emailaddress"],
        "given_name": [_CLAIMS + "givenname"],
        "family_name": [_CLAIMS + "surname"],
        "display_name": ["http://schemas.microsoft.com/identity/claims/displayname"],
        "department": [_MS_CLAIMS + "department"],
        "groups": [_MS_CLAIMS + "groups"],
    },
    "google": {
        "email": ["email"],
        "given_name": ["first_name"],
        "family_name": ["last_name"],
        "display_name": ["display_name"],
        "department": ["department"],
        "groups": ["groups"],
    },
}
DEFAULT_PRESET = "generic"
MAX_NAME = 1024


def parse_overrides(pairs: Sequence[str], option: str = "--attribute") -> dict[str, str]:
    """``["given_name=prenom", ...]`` (the CLI's ``--attribute`` or ``--claim``) as a mapping."""
    out: dict[str, str] = {}
    for pair in pairs:
        field, sep, name = pair.partition("=")
        if not sep:
            raise InvalidInput(f"{option} takes FIELD=NAME, not {pair!r}")
        out[field.strip()] = name.strip()
    return out


def build_map(
    preset: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    presets: Mapping[str, Mapping[str, Sequence[str]]] = PRESETS,
    fields: Sequence[str] = FIELDS,
) -> dict[str, list[str]]:
    """The preset's names with the administrator's overrides (each a name or a list). SAML
    attribute maps by default; OpenID Connect claim maps pass their own ``presets`` and
    ``fields`` (:mod:`propylon.tenants.oidc_presets`)."""
    if preset not in presets:
        raise InvalidInput(f"unknown preset {preset!r}; one of {', '.join(presets)}")
    built = {field: list(names) for field, names in presets[preset].items()}
    for field, value in (overrides or {}).items():
        if field not in fields:
            raise InvalidInput(f"unknown user field {field!r}; one of {', '.join(fields)}")
        names = [value] if isinstance(value, str) else value
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and 0 < len(n) <= MAX_NAME for n in names)
        ):
            raise InvalidInput(f"the attribute name(s) for {field} must be non-empty strings")
        built[field] = list(names)
    return built


def names_for(attribute_map: Mapping[str, Any], field: str) -> list[str]:
    """The candidate attribute names of ``field`` (maps stored before lists held one name)."""
    value = attribute_map.get(field)
    if isinstance(value, str):
        return [value]
    return [n for n in value if isinstance(n, str)] if isinstance(value, list) else []


def values_of(
    attributes: Mapping[str, Sequence[str]], attribute_map: Mapping[str, Any], field: str
) -> list[str]:
    """All values of the first candidate attribute the assertion carries with a value."""
    for name in names_for(attribute_map, field):
        values = [v for v in attributes.get(name, ()) if v]
        if values:
            return values
    return []
