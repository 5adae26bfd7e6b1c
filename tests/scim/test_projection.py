"""attributes / excludedAttributes (RFC 7644 §3.4.2.5, §3.9)."""

from __future__ import annotations

from typing import Any

from propylon.directory.schema import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from propylon.scim.projection import project, wants_members

ENT = ENTERPRISE_USER_SCHEMA


def resource() -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA, ENT],
        "id": "u1",
        "userName": "b",
        "password": "secret",
        "name": {"givenName": "B", "familyName": "J"},
        "title": "T",
        "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
        "meta": {"resourceType": "User"},
        ENT: {"department": "D", "costCenter": "C"},
        "urn:example:custom": {"badge": "1"},
    }


def test_default_drops_never() -> None:
    out = project(resource(), "User", None, None)
    assert "password" not in out and out["title"] == "T" and out[ENT]["department"] == "D"


def test_attributes_keep_always_and_requested() -> None:
    out = project(
        resource(),
        "User",
        ["userName", "NAME.givenName", f"{ENT}:department", "emails.value", "password"],
        None,
    )
    assert out == {
        "schemas": [USER_SCHEMA, ENT],
        "id": "u1",
        "userName": "b",
        "name": {"givenName": "B"},
        "emails": [{"value": "a@x"}, {"value": "b@x"}],
        ENT: {"department": "D"},
    }
    assert project(resource(), "User", [ENT], None)[ENT] == {"department": "D", "costCenter": "C"}
    assert project(resource(), "User", ["department"], None)[ENT] == {"department": "D"}
    assert project(resource(), "User", ["urn:example:custom:badge"], None)[
        "urn:example:custom"
    ] == {"badge": "1"}


def test_excluded() -> None:
    out = project(resource(), "User", None, ["id", "emails", "name.familyName", ENT, "title"])
    assert out["id"] == "u1"
    assert "emails" not in out and ENT not in out and "title" not in out
    assert out["name"] == {"givenName": "B"}
    assert "password" not in out


def test_wants_members() -> None:
    assert wants_members(None, None)
    assert wants_members(["members.value"], None)
    assert not wants_members(["displayName"], None)
    assert not wants_members(None, ["members"])
    assert wants_members(None, ["members.display"])
    assert wants_members(None, ["displayName"])
