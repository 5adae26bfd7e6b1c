"""PATCH (RFC 7644 §3.5.2) and POST/PUT canonicalization, with Okta and Entra ID bodies."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from propylon.directory.schema import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from propylon.scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from propylon.scim.patch import apply_patch, canonicalize, canonicalize_group

ENT = ENTERPRISE_USER_SCHEMA


def user() -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": True,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@home.org", "type": "home"},
        ],
    }


# ---- Microsoft Entra ID (provisioning tutorial and SCIM validator request bodies)


def test_entra_create_user_body() -> None:
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": True,
        "emails": [
            {
                "primary": True,
                "type": "work",
                "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com",
            }
        ],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
    }
    doc = canonicalize(body, "User")
    assert "meta" not in doc
    assert doc["name"]["givenName"] == "givenName"
    assert doc["schemas"] == [USER_SCHEMA]  # no enterprise data sent: not listed


def test_entra_update_multi_valued() -> None:
    ops: list[dict[str, Any]] = [
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "updatedEmail@microsoft.com",
        },
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ]
    before = user()
    result = apply_patch(before, ops, "User")
    assert result.doc["emails"][0]["value"] == "updatedEmail@microsoft.com"
    assert result.doc["emails"][1]["value"] == "babs@home.org"
    assert result.doc["name"] == {"givenName": "Barbara", "familyName": "updatedFamilyName"}
    assert before == user()  # input not mutated
    assert result.members is None


def test_entra_update_single_valued_and_disable() -> None:
    ops: list[dict[str, Any]] = [
        {"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"},
        {"op": "Replace", "path": "active", "value": False},
    ]
    doc = apply_patch(user(), ops, "User").doc
    assert doc["userName"] == "5b50642d@testuser.com"
    assert doc["active"] is False


def test_entra_non_compliant_forms() -> None:
    """Entra without the aadOptscim062020 flag: "False" strings, pathless dotted / URN keys,
    and the manager as a bare id."""
    ops: list[dict[str, Any]] = [
        {"op": "Replace", "value": {"active": "False"}},
        {
            "op": "Replace",
            "value": {
                "name.givenName": "Babs",
                "displayName": "Babs J",
                f"{ENT}:department": "Sales",
            },
        },
        {"op": "Add", "path": f"{ENT}:manager", "value": "2819c223-7f76-453a-919d"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Oslo"},
        {"op": "Replace", "path": 'addresses[type eq "work"].postalCode', "value": "0150"},
    ]
    doc = apply_patch(user(), ops, "User").doc
    assert doc["active"] is False
    assert doc["name"] == {"givenName": "Babs", "familyName": "Jensen"}
    assert doc["displayName"] == "Babs J"
    assert doc[ENT] == {"department": "Sales", "manager": {"value": "2819c223-7f76-453a-919d"}}
    assert doc["addresses"] == [{"type": "work", "locality": "Oslo", "postalCode": "0150"}]
    assert doc["schemas"] == [USER_SCHEMA, ENT]


def test_entra_group_members_add_remove() -> None:
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}
    add = [
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}]}
    ]
    result = apply_patch(group, add, "Group")
    assert result.members is not None
    assert result.members.add == ["f648f8d5ea4e4cd38e9c"]
    assert result.doc == group
    remove = [
        {
            "op": "Remove",
            "path": "members",
            "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}],
        }
    ]
    changes = apply_patch(group, remove, "Group").members
    assert changes is not None
    assert changes.remove == ["f648f8d5ea4e4cd38e9c"]
    assert not changes.remove_all
    by_filter = [{"op": "Remove", "path": 'members[value eq "16b083c0-f1e8"]'}]
    changes = apply_patch(group, by_filter, "Group").members
    assert changes is not None and changes.remove == ["16b083c0-f1e8"]


# ---- Okta (SCIM 2.0 reference request bodies)


def test_okta_create_user_body() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    doc = canonicalize(body, "User")
    assert "groups" not in doc
    assert doc["externalId"] == "00ujl29u0le5T6Aj10h7"


def test_okta_deactivate_and_group_ops() -> None:
    ops: list[dict[str, Any]] = [{"op": "replace", "value": {"active": False}}]
    assert apply_patch(user(), ops, "User").doc["active"] is False
    group = {"displayName": "Test SCIMv2"}
    rename = [
        {
            "op": "replace",
            "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "New"},
        }
    ]
    assert apply_patch(group, rename, "Group").doc["displayName"] == "New"
    members: list[dict[str, Any]] = [
        {"op": "remove", "path": 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]'},
        {
            "op": "add",
            "path": "members",
            "value": [
                {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}
            ],
        },
    ]
    changes = apply_patch(group, members, "Group").members
    assert changes is not None
    assert changes.remove == ["89bb1940-b905-4575-9e7f-6f887cfb368e"]
    assert changes.add == ["23a35c27-23d3-4c03-b4c5-6443c09e7173"]


# ---- RFC 7644 §3.5.2 rules


def test_members_remove_all_replace_and_pathless() -> None:
    g = {"displayName": "G"}
    changes = apply_patch(g, [{"op": "remove", "path": "members"}], "Group").members
    assert changes is not None and changes.remove_all
    ops: list[dict[str, Any]] = [
        {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
        {"op": "remove", "path": "members", "value": [{"value": "a"}]},
        {"op": "add", "value": {"members": [{"value": "c"}]}},
    ]
    changes = apply_patch(g, ops, "Group").members
    assert changes is not None and changes.replace == ["b", "c"]
    after_all = apply_patch(
        g,
        [
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"value": "x"}]},
        ],
        "Group",
    ).members
    assert after_all is not None and after_all.remove_all and after_all.add == ["x"]


def test_multi_valued_add_dedupes_and_primary_is_unique() -> None:
    new = {"value": "new@example.com", "type": "other", "primary": True}
    ops: list[dict[str, Any]] = [
        {"op": "add", "path": "emails", "value": [{"value": "babs@home.org", "type": "home"}, new]}
    ]
    emails = apply_patch(user(), ops, "User").doc["emails"]
    assert len(emails) == 3
    assert [e.get("primary") for e in emails] == [False, None, True]
    ops = [{"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}]
    emails = apply_patch(user(), ops, "User").doc["emails"]
    assert [e["primary"] for e in emails] == [False, True]


def test_replace_multi_valued_overwrites_and_complex_merges() -> None:
    ops: list[dict[str, Any]] = [
        {"op": "replace", "path": "emails", "value": [{"value": "x@y.z"}]},
        {"op": "replace", "path": "name", "value": {"middleName": "M"}},
        {"op": "add", "path": "NAME.honorificPrefix", "value": "Ms"},
    ]
    doc = apply_patch(user(), ops, "User").doc
    assert doc["emails"] == [{"value": "x@y.z"}]
    assert doc["name"] == {
        "givenName": "Barbara",
        "familyName": "Jensen",
        "middleName": "M",
        "honorificPrefix": "Ms",
    }


def test_remove_with_filter_and_sub_attribute() -> None:
    doc = apply_patch(user(), [{"op": "remove", "path": 'emails[type eq "home"]'}], "User").doc
    assert [e["type"] for e in doc["emails"]] == ["work"]
    doc = apply_patch(user(), [{"op": "remove", "path": "name.givenName"}], "User").doc
    assert doc["name"] == {"familyName": "Jensen"}
    doc = apply_patch(user(), [{"op": "remove", "path": 'emails[value co "@"]'}], "User").doc
    assert "emails" not in doc
    doc = apply_patch(user(), [{"op": "remove", "path": "emails"}], "User").doc
    assert "emails" not in doc


def test_extension_by_urn_key_with_nested_object() -> None:
    ops: list[dict[str, Any]] = [
        {
            "op": "add",
            "value": {
                ENT: {"department": "R&D", "manager": {"value": "m1"}},
                "urn:example:custom:1.0:User": {"badge": "42"},
            },
        },
        {"op": "replace", "path": ENT, "value": {"costCenter": "cc"}},
    ]
    doc = apply_patch(user(), ops, "User").doc
    assert doc[ENT] == {"department": "R&D", "manager": {"value": "m1"}, "costCenter": "cc"}
    assert doc["urn:example:custom:1.0:User"] == {"badge": "42"}
    doc = apply_patch(doc, [{"op": "remove", "path": ENT}], "User").doc
    assert ENT not in doc and ENT not in doc["schemas"]


@pytest.mark.parametrize(
    ("ops", "error"),
    [
        ([{"op": "move", "path": "title", "value": "x"}], InvalidSyntax),
        ([{"path": "title", "value": "x"}], InvalidSyntax),
        ([{"op": "remove"}], NoTarget),
        ([{"op": "remove", "path": ""}], NoTarget),
        ([{"op": "replace", "path": "emails[type eq ", "value": "x"}], InvalidPath),
        ([{"op": "replace", "path": "name.nope", "value": "x"}], InvalidPath),
        ([{"op": "replace", "path": 'emails[nope eq "x"].value', "value": "x"}], InvalidFilter),
        ([{"op": "replace", "path": 'emails[type co "x"].value', "value": "v"}], NoTarget),
        ([{"op": "replace", "path": "id", "value": "x"}], Mutability),
        ([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}], Mutability),
        ([{"op": "add", "path": "groups", "value": [{"value": "g"}]}], Mutability),
        ([{"op": "replace", "path": "active", "value": "maybe"}], InvalidValue),
        ([{"op": "replace", "value": "not an object"}], InvalidValue),
        ([{"op": "add", "path": "title"}], InvalidValue),
    ],
)
def test_errors(ops: list[dict[str, Any]], error: type[ScimError]) -> None:
    with pytest.raises(error):
        apply_patch(user(), ops, "User")


def test_unknown_attributes_are_written_as_given() -> None:
    doc = apply_patch(user(), [{"op": "add", "path": "customThing", "value": {"a": 1}}], "User")
    assert doc.doc["customThing"] == {"a": 1}


# ---- canonicalize


def test_canonicalize_names_coercion_and_unknowns() -> None:
    body = {
        "SCHEMAS": [USER_SCHEMA, ENT, "urn:example:ext"],
        "id": "ignored",
        "meta": {"x": 1},
        "groups": [{"value": "g"}],
        "USERNAME": "bjensen",
        "Active": "True",
        "EMAILS": [{"VALUE": "b@x", "Primary": "false"}],
        ENT.upper(): {"Manager": "m-1", "DEPARTMENT": "Sales"},
        "urn:example:ext": {"k": "v"},
        "custom": 7,
    }
    original = copy.deepcopy(body)
    doc = canonicalize(body, "User")
    assert body == original
    assert doc["userName"] == "bjensen" and doc["active"] is True
    assert doc["emails"] == [{"value": "b@x", "primary": False}]
    assert doc[ENT] == {"manager": {"value": "m-1"}, "department": "Sales"}
    assert doc["urn:example:ext"] == {"k": "v"} and doc["custom"] == 7
    assert not {"id", "meta", "groups"} & set(doc)


@pytest.mark.parametrize(
    "body",
    [
        {"userName": ""},
        {"active": True},
        {"userName": "a", "active": "yes"},
        {"userName": 5},
        {"userName": "a", "name": "x"},
    ],
)
def test_canonicalize_rejects(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        canonicalize(body, "User")


def test_canonicalize_group_splits_members() -> None:
    doc, members = canonicalize_group(
        {"displayName": "G", "members": [{"value": "u1", "display": "x"}, {"value": "u2"}]}
    )
    assert members == ["u1", "u2"] and "members" not in doc
    assert canonicalize_group({"displayName": "G"})[1] is None
    assert canonicalize_group({"displayName": "G", "members": []})[1] == []
