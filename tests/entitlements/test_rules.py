"""The rule model alone: validation against the catalogue, conditions, how outputs combine."""

from __future__ import annotations

from typing import Any

import pytest

from propylon.entitlements.model import Entitlements, Grant, changed_data
from propylon.entitlements.rules import parse
from propylon.errors import InvalidInput

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EXT = "urn:example:params:scim:schemas:extension:acme:2.0:User"
CATALOG = {"role": {"viewer", "clinician", "admin"}, "tier": {"basic", "pro"}, "program": {"p1"}}


def doc(**ent: Any) -> dict[str, Any]:
    return {"userName": "a", "title": "Nurse", ENT: ent, EXT: {"badge": "B-7"}}


RULES = {
    "defaults": {"roles": ["viewer"], "tier": "basic"},
    "rules": [
        {
            "name": "nurses",
            "priority": 1,
            "when": {"any_groups": ["Nurses", "Midwives"], "none_groups": ["Suspended"]},
            "grant": {"roles": ["clinician"], "programs": ["p1"]},
        },
        {
            "name": "clinical",
            "priority": 10,
            "when": {"attributes": [{"attr": "department", "op": "eq", "value": "Clinical"}]},
            "grant": {"tier": "pro"},
        },
        {
            "name": "admins",
            "priority": 5,
            "when": {
                "all_groups": ["Admins", "Staff"],
                "attributes": [{"attr": f"{EXT}:badge", "op": "sw", "value": "b-"}],
            },
            "grant": {"roles": ["admin"], "tier": "basic"},
        },
    ],
}


def test_roles_and_programs_add_up_and_the_highest_priority_tier_wins() -> None:
    rs = parse(RULES, CATALOG)
    got = rs.evaluate(["nurses", "ADMINS", "Staff"], doc(department="clinical"))
    assert got == Grant.of(["viewer", "clinician", "admin"], "pro", ["p1"])
    assert rs.evaluate(["Admins", "Staff"], doc()).tier == "basic"


def test_defaults_alone_and_none_of_groups_exclude() -> None:
    rs = parse(RULES, CATALOG)
    assert rs.evaluate([], doc()) == Grant.of(["viewer"], "basic", [])
    assert rs.evaluate(["Nurses", "Suspended"], doc()).roles == {"viewer"}
    assert rs.evaluate(["Admins"], doc()).roles == {"viewer"}  # all_groups needs both


@pytest.mark.parametrize(
    ("attr", "op", "value", "expected"),
    [
        ("title", "eq", "nurse", True),
        ("title", "ne", "Nurse", False),
        ("title", "co", "urs", True),
        ("costCenter", "pr", None, True),
        ("division", "pr", None, False),
        (f"{ENT}:costCenter", "in", ["CC-1", "CC-2"], True),
        ("emails.value", "eq", "x@y.test", True),
        ("department", "ne", "Clinical", True),
    ],
)
def test_attribute_comparisons_on_core_enterprise_and_extension_attributes(
    attr: str, op: str, value: Any, expected: bool
) -> None:
    cond: dict[str, Any] = {"attr": attr, "op": op}
    if op != "pr":
        cond["value"] = value
    rs = parse(
        {"rules": [{"name": "r", "when": {"attributes": [cond]}, "grant": {"roles": ["x"]}}]}
    )
    d = doc(costCenter="CC-2") | {"emails": [{"value": "x@y.test"}]}
    assert (rs.evaluate([], d).roles == {"x"}) is expected


@pytest.mark.parametrize(
    "bad",
    [
        {"rules": [{"name": "r", "grant": {"roles": ["ghost"]}}]},
        {"defaults": {"tier": "platinum"}},
        {"rules": [{"name": "r", "when": {"attributes": [{"attr": "a", "op": "gt", "value": 1}]}}]},
        {"rules": [{"name": "r"}, {"name": "r"}]},
        {"rules": [{"name": "r", "priority": "high"}]},
        {"rules": [{"name": "r", "when": {"some_groups": ["x"]}}]},
        {
            "rules": [
                {"name": "r", "when": {"attributes": [{"attr": "a", "op": "in", "value": []}]}}
            ]
        },
        [],
    ],
)
def test_invalid_rule_sets_and_undeclared_names_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidInput):
        parse(bad, CATALOG)


def test_saved_form_parses_back_to_the_same_rules() -> None:
    rs = parse(RULES, CATALOG)
    assert parse(rs.as_dict(), CATALOG) == rs


def test_event_payload_and_claims_shape() -> None:
    new = Entitlements(2, Grant.of(["b", "a"], None, ["p"]))
    data = changed_data({"id": "user_1"}, new, None)
    assert data == {
        "user": {"id": "user_1"},
        "entitlements": {"version": 2, "roles": ["a", "b"], "tier": None, "programs": ["p"]},
        "previous": None,
    }
    assert new.claims() == {"roles": ["a", "b"], "programs": ["p"], "entitlements_version": 2}
