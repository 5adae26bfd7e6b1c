"""Attribute definitions and the /Schemas documents (RFC 7643 §7, §8.7)."""

from __future__ import annotations

from propylon.directory.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    USER_SCHEMA,
    lookup,
    schema_documents,
)


def test_lookup_is_case_insensitive_and_canonical() -> None:
    attr = lookup("User", None, "USERNAME")
    assert attr is not None and attr.name == "userName" and not attr.case_exact
    assert attr.uniqueness == "server" and attr.schema == USER_SCHEMA
    sub = lookup("User", USER_SCHEMA.upper(), "emails", "VALUE")
    assert sub is not None and sub.name == "value"
    dept = lookup("User", ENTERPRISE_USER_SCHEMA, "Department")
    assert dept is not None and dept.schema == ENTERPRISE_USER_SCHEMA
    assert lookup("User", None, "department") == dept  # unqualified falls back to extensions
    assert lookup("Group", ENTERPRISE_USER_SCHEMA, "department") is None
    assert lookup("User", None, "nope") is None
    assert lookup("User", None, "userName", "x") is None


def test_common_attributes() -> None:
    id_ = lookup("Group", None, "id")
    assert id_ is not None and id_.returned == "always" and id_.mutability == "readOnly"
    created = lookup("User", None, "meta", "created")
    assert created is not None and created.type == "dateTime"
    ext = lookup("User", None, "externalId")
    assert ext is not None and ext.case_exact


def test_characteristics() -> None:
    groups = lookup("User", None, "groups")
    assert groups is not None and groups.mutability == "readOnly" and groups.multi_valued
    password = lookup("User", None, "password")
    assert password is not None and password.returned == "never"
    members = lookup("Group", None, "members")
    assert members is not None and members.sub("value") is not None
    active = lookup("User", None, "active")
    assert active is not None and active.type == "boolean"


def test_schema_documents() -> None:
    docs = {d["id"]: d for d in schema_documents()}
    assert set(docs) == {USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA}
    for doc in docs.values():
        assert doc["meta"] == {"resourceType": "Schema"}
        assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
        assert doc["name"] and doc["attributes"]
    group_attrs = {a["name"]: a for a in docs[GROUP_SCHEMA]["attributes"]}
    assert "members" in group_attrs and group_attrs["members"]["multiValued"] is True
    user_attrs = {a["name"]: a for a in docs[USER_SCHEMA]["attributes"]}
    assert user_attrs["groups"]["mutability"] == "readOnly"
    assert user_attrs["password"]["returned"] == "never"
    manager = next(a for a in docs[ENTERPRISE_USER_SCHEMA]["attributes"] if a["name"] == "manager")
    assert all(not s["required"] for s in manager["subAttributes"])
    docs[USER_SCHEMA]["attributes"].clear()  # callers get copies
    assert schema_documents()[0]["attributes"]
