"""Okta-style SCIM request bodies and filter query helpers."""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def eq_filter(attr: str, value: str) -> str:
    """``attr eq "value"`` URL-encoded for a query string."""
    return q(attr + ' eq "' + value + '"')


DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Support", "Legal", "HR", "Ops"]


def okta_user(user_name: str, i: int) -> dict[str, Any]:
    given, family = f"Given{i}", f"Family{i}"
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": f"00u{secrets.token_hex(8)}",
        "groups": [],
        "password": secrets.token_urlsafe(9),
        "active": True,
        ENTERPRISE: {
            "employeeNumber": str(100000 + i),
            "department": DEPARTMENTS[i % len(DEPARTMENTS)],
            "costCenter": f"CC{i % 37}",
            "organization": "Bench Corp",
            "division": "R&D",
        },
    }


def okta_group(name: str) -> dict[str, Any]:
    return {"schemas": [GROUP_SCHEMA], "displayName": name, "members": []}


def add_members_op(members: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "add",
                "path": "members",
                "value": [{"value": uid, "display": name} for uid, name in members],
            }
        ],
    }
