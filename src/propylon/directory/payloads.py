"""The whole objects the directory's events carry (``docs/events.md``), so a receiver can
upsert from any one event without reading the API: ``{"user": user_object(u), ...}`` and
``{"group": group_object(g), ...}``."""

from __future__ import annotations

from typing import Any

from propylon.db.tables import Group, User
from propylon.rfc3339 import rfc3339_or_none


def user_object(u: User) -> dict[str, Any]:
    """The user as stored after the change: the hot columns, its lifecycle times and the
    SCIM document it was provisioned with (core, enterprise and extension attributes;
    never a password, RFC 7643 §4.1.1)."""
    return {
        "id": u.id,
        "tenant_id": u.tenant_id,
        "directory_id": u.directory_id,
        "user_name": u.user_name,
        "external_id": u.external_id,
        "email": u.email,
        "display_name": u.display_name,
        "given_name": u.given_name,
        "family_name": u.family_name,
        "department": u.department,
        "active": bool(u.active),
        "version": u.version,
        "created_at": rfc3339_or_none(u.created_at),
        "updated_at": rfc3339_or_none(u.updated_at),
        "deactivated_at": rfc3339_or_none(u.deactivated_at),
        "deleted_at": rfc3339_or_none(u.deleted_at),
        "attributes": dict(u.doc or {}),
    }


def group_object(g: Group) -> dict[str, Any]:
    """The group as stored after the change (members are not listed: membership events
    carry what was added and removed)."""
    return {
        "id": g.id,
        "tenant_id": g.tenant_id,
        "directory_id": g.directory_id,
        "display_name": g.display_name,
        "external_id": g.external_id,
        "version": g.version,
        "created_at": rfc3339_or_none(g.created_at),
        "updated_at": rfc3339_or_none(g.updated_at),
        "deleted_at": rfc3339_or_none(g.deleted_at),
        "attributes": dict(g.doc or {}),
    }
