"""Which SCIM attributes are mirrored into real columns (indexed, typed), for the filter
compiler in :mod:`propylon.directory.search`; everything else is read from the JSON document."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement

from propylon.db.tables import Group, User
from propylon.directory.schema import ENTERPRISE_USER_SCHEMA, core_schema

Key = tuple[str, str, str | None]


@dataclass(frozen=True)
class Col:
    """A column mirror; ``prelowered`` columns already hold the lowercased value."""

    expr: ColumnElement[Any]
    prelowered: bool = False


_USER, _GROUP = core_schema("User"), core_schema("Group")


def key(schema: str | None, name: str, sub: str | None = None) -> Key:
    return ((schema or "").lower(), name.lower(), sub.lower() if sub else None)


USER_COLUMNS: Mapping[Key, Col] = {
    key(_USER, "id"): Col(User.id.expression),
    key(_USER, "externalId"): Col(User.external_id.expression),
    key(_USER, "userName"): Col(User.user_name_ci.expression, prelowered=True),
    key(_USER, "displayName"): Col(User.display_name.expression),
    key(_USER, "name", "givenName"): Col(User.given_name.expression),
    key(_USER, "name", "familyName"): Col(User.family_name.expression),
    key(_USER, "active"): Col(User.active.expression),
    key(_USER, "meta", "created"): Col(User.created_at.expression),
    key(_USER, "meta", "lastModified"): Col(User.updated_at.expression),
    key(ENTERPRISE_USER_SCHEMA, "department"): Col(User.department.expression),
}
GROUP_COLUMNS: Mapping[Key, Col] = {
    key(_GROUP, "id"): Col(Group.id.expression),
    key(_GROUP, "externalId"): Col(Group.external_id.expression),
    key(_GROUP, "displayName"): Col(Group.display_name_ci.expression, prelowered=True),
    key(_GROUP, "meta", "created"): Col(Group.created_at.expression),
    key(_GROUP, "meta", "lastModified"): Col(Group.updated_at.expression),
}
