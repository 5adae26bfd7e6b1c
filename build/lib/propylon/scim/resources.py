"""RFC 7643 resources ⇄ directory records: drafts from request documents, wire JSON out.

A value mirrored into a column is refused (``invalidValue``) when longer than the column.

``users.doc`` keeps the canonical SCIM document minus ``id``, ``meta`` and ``groups``
(RFC 7643 §3.1 read-only attributes), so an IdP's extension attributes round-trip intact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from propylon.db.tables import Group, User, column_chars
from propylon.directory.groups import GroupDraft, Member
from propylon.directory.schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from propylon.directory.users import UserDraft
from propylon.scim.errors import InvalidValue

SCIM_DATETIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def etag(version: int) -> str:
    """Weak entity tag of a resource version (RFC 7644 §3.14)."""
    return f'W/"{version}"'


def _primary_email(doc: dict[str, Any]) -> str | None:
    emails = doc.get("emails")
    if not isinstance(emails, list):
        return None
    values = [e for e in emails if isinstance(e, dict) and isinstance(e.get("value"), str)]
    if not values:
        return None
    primary = next((e for e in values if e.get("primary") is True), None)
    chosen = primary or next((e for e in values if e.get("type") == "work"), values[0])
    return str(chosen["value"])


_USER_CHARS = {
    c: column_chars(User, c)
    for c in (
        "user_name",
        "user_name_ci",
        "external_id",
        "email",
        "display_name",
        "given_name",
        "family_name",
        "department",
    )
}
_GROUP_CHARS = {
    c: column_chars(Group, c) for c in ("display_name", "display_name_ci", "external_id")
}


def _fits(value: str | None, chars: int, attr: str) -> str | None:
    """``value`` if it fits the column mirroring it (its lower-case form too: the ``_ci``
    columns hold that, and lower-casing can lengthen a string), else ``invalidValue``."""
    if value is not None and (len(value) > chars or len(value.lower()) > chars):
        raise InvalidValue(f"{attr} is longer than {chars} characters")
    return value


def _text(value: Any, attr: str, chars: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue(f"{attr} must be a string")
    return _fits(value, chars, attr)


def user_draft(doc: dict[str, Any]) -> UserDraft:
    user_name = doc.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise InvalidValue("userName is required and must be a non-empty string")
    _fits(user_name, min(_USER_CHARS["user_name"], _USER_CHARS["user_name_ci"]), "userName")
    # Absent on POST/PUT, the server assigns the default true (RFC 7644 §3.3, §3.5.1); null,
    # as a PATCH remove leaves it, is "unassigned" (RFC 7643 §2.5, RFC 7644 §3.5.2.2): the
    # user is not deactivated and ``active`` is not returned until assigned again.
    unassigned = "active" in doc and doc["active"] is None
    active = True if unassigned else doc.get("active", True)
    if not isinstance(active, bool):
        raise InvalidValue("active must be a boolean")
    raw_name = doc.get("name")
    name: dict[str, Any] = raw_name if isinstance(raw_name, dict) else {}
    enterprise = doc.get(ENTERPRISE_USER_SCHEMA)
    department = enterprise.get("department") if isinstance(enterprise, dict) else None
    # RFC 7643 §4.1.1: password is write-only; Propylon never stores one it is pushed.
    stored = {k: v for k, v in doc.items() if k not in ("schemas", "active", "password")}
    if unassigned:
        stored["active"] = None
    c = _USER_CHARS
    return UserDraft(
        user_name=user_name,
        active=active,
        external_id=_text(doc.get("externalId"), "externalId", c["external_id"]),
        email=_fits(_primary_email(doc), c["email"], "the primary email"),
        display_name=_text(doc.get("displayName"), "displayName", c["display_name"]),
        given_name=_text(name.get("givenName"), "name.givenName", c["given_name"]),
        family_name=_text(name.get("familyName"), "name.familyName", c["family_name"]),
        department=_text(department, "department", c["department"]),
        doc=stored,
    )


def group_draft(doc: dict[str, Any]) -> GroupDraft:
    display = doc.get("displayName")
    if not isinstance(display, str) or not display.strip():
        raise InvalidValue("displayName is required and must be a non-empty string")
    c = _GROUP_CHARS
    _fits(display, min(c["display_name"], c["display_name_ci"]), "displayName")
    stored = {k: v for k, v in doc.items() if k not in ("schemas", "members")}
    return GroupDraft(
        display_name=display,
        external_id=_text(doc.get("externalId"), "externalId", c["external_id"]),
        doc=stored,
    )


def user_doc(user: User) -> dict[str, Any]:
    """The stored document as a request document again (for PATCH)."""
    if _active_unassigned(user):
        return dict(user.doc)
    return {**user.doc, "active": user.active}


def _active_unassigned(user: User) -> bool:
    return "active" in user.doc and user.doc["active"] is None


def group_doc(group: Group) -> dict[str, Any]:
    return {**group.doc, "displayName": group.display_name}


def _meta(kind: str, location: str, row: User | Group) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": row.created_at.strftime(SCIM_DATETIME),
        "lastModified": row.updated_at.strftime(SCIM_DATETIME),
        "location": location,
        "version": etag(row.version),
    }


def _extension_urns(doc: dict[str, Any]) -> list[str]:
    return [k for k, v in doc.items() if k.startswith("urn:") and isinstance(v, dict)]


def render_user(user: User, groups: list[tuple[str, str]], base_url: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA, *_extension_urns(user.doc)],
        "id": user.id,
        **user.doc,
        "active": user.active,
    }
    if _active_unassigned(user):
        del body["active"]
    if groups:
        body["groups"] = [
            {"value": gid, "display": name, "$ref": f"{base_url}/Groups/{gid}", "type": "direct"}
            for gid, name in groups
        ]
    body["meta"] = _meta("User", f"{base_url}/Users/{user.id}", user)
    return body


def member_values(members: Sequence[Member], base_url: str) -> list[dict[str, Any]]:
    """Group ``members`` values as on the wire (RFC 7643 §4.2)."""
    return [
        {
            "value": m.id,
            "$ref": f"{base_url}/{'Users' if m.type == 'User' else 'Groups'}/{m.id}",
            "type": m.type,
        }
        for m in members
    ]


def render_group(
    group: Group, members: list[dict[str, Any]] | None, base_url: str
) -> dict[str, Any]:
    """The group on the wire; ``members`` as :func:`member_values` renders them."""
    body: dict[str, Any] = {
        "schemas": [GROUP_SCHEMA, *_extension_urns(group.doc)],
        "id": group.id,
        **group.doc,
        "displayName": group.display_name,
    }
    if members:
        body["members"] = members
    body["meta"] = _meta("Group", f"{base_url}/Groups/{group.id}", group)
    return body
