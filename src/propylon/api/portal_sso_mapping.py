"""The attribute mapping of a connection as the portal edits it: per user field, the IdP
attribute (SAML) or claim (OIDC) names tried in order, and the preview of what the last test
sign-in's attributes give under the mapping as it is now (so an edit shows its effect without
signing in again)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from propylon.errors import InvalidInput
from propylon.setup.model import ConnectionTest
from propylon.tenants.attribute_maps import FIELDS, names_for, values_of
from propylon.tenants.oidc_presets import CLAIM_FIELDS

LABELS = {
    "email": "Email",
    "given_name": "Given name",
    "family_name": "Family name",
    "display_name": "Display name",
    "department": "Department",
    "groups": "Groups",
    "roles": "Roles",
    "hosted_domain": "Hosted domain",
}
MAX_NAMES = 8
MAX_PREVIEW = 10


@dataclass(frozen=True)
class MappingRow:
    field: str
    label: str
    names: str
    """The candidate names, comma-separated, as the form shows them."""
    preview: list[str] | None
    """What the last test's attributes give (``None``: no test yet)."""


def _fields(protocol: str) -> tuple[str, ...]:
    return FIELDS if protocol == "saml" else CLAIM_FIELDS


def current_map(view: dict[str, Any]) -> dict[str, Any]:
    found = view.get("attribute_map") if view["protocol"] == "saml" else view.get("claim_map")
    return found if isinstance(found, dict) else {}


def mapping_rows(view: dict[str, Any], test: ConnectionTest | None) -> list[MappingRow]:
    amap = current_map(view)
    rows = []
    for field in _fields(view["protocol"]):
        preview = None
        if test is not None and test.status != "pending":
            preview = values_of(test.attributes, amap, field)[:MAX_PREVIEW]
        names = ", ".join(names_for(amap, field))
        rows.append(MappingRow(field, LABELS.get(field, field), names, preview))
    return rows


def mapping_changes(view: dict[str, Any], form: dict[str, str]) -> dict[str, list[str]]:
    """The fields whose names the form changed (an empty field stays as it was)."""
    amap = current_map(view)
    changes: dict[str, list[str]] = {}
    for field in _fields(view["protocol"]):
        raw = form.get(f"map_{field}")
        if raw is None or not raw.strip():
            continue
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if len(names) > MAX_NAMES:
            raise InvalidInput(f"Give at most {MAX_NAMES} names for {LABELS.get(field, field)}.")
        if names != names_for(amap, field):
            changes[field] = names
    return changes
