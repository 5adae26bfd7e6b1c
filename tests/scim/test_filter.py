"""Filter parsing and validation (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

import pytest

from propylon.directory.query import And, AttrPath, Compare, Filter, Not, Or, Present, ValuePath
from propylon.directory.schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA
from propylon.scim.errors import InvalidFilter
from propylon.scim.filter import parse_filter, parse_sort_by

U = USER_SCHEMA


def p(name: str, sub: str | None = None, schema: str = U) -> AttrPath:
    return AttrPath(schema, name, sub)


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"])
def test_every_operator_case_insensitive(op: str) -> None:
    assert parse_filter(f'USERNAME {op.upper()} "x"', "User") == Compare(p("userName"), op, "x")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title pr", Present(p("title"))),
        (
            'a eq "1" or b eq "2"'.replace("a", "title").replace("b ", "nickName "),
            Or(Compare(p("title"), "eq", "1"), Compare(p("nickName"), "eq", "2")),
        ),
        (
            'title pr or nickName pr and userType eq "E"',
            Or(Present(p("title")), And(Present(p("nickName")), Compare(p("userType"), "eq", "E"))),
        ),
        (
            '(title pr or nickName pr) and userType eq "E"',
            And(Or(Present(p("title")), Present(p("nickName"))), Compare(p("userType"), "eq", "E")),
        ),
        ("not (active eq false)", Not(Compare(p("active"), "eq", False))),
        ("title eq null", Compare(p("title"), "eq", None)),
        ('title eq "a\\"b\\u00e9"', Compare(p("title"), "eq", 'a"bé')),
        (
            'emails[type eq "work" and value co "@x"]',
            ValuePath(
                p("emails"),
                And(
                    Compare(p("emails", "type"), "eq", "work"),
                    Compare(p("emails", "value"), "co", "@x"),
                ),
            ),
        ),
        (
            'emails[type eq "work"].value eq "a"',
            ValuePath(
                p("emails"),
                And(
                    Compare(p("emails", "type"), "eq", "work"),
                    Compare(p("emails", "value"), "eq", "a"),
                ),
            ),
        ),
        ('emails co "x"', Compare(p("emails", "value"), "co", "x")),
        (
            f'{ENTERPRISE_USER_SCHEMA}:department eq "d"',
            Compare(p("department", schema=ENTERPRISE_USER_SCHEMA), "eq", "d"),
        ),
        (
            f'{ENTERPRISE_USER_SCHEMA.lower()}:MANAGER.value eq "m"',
            Compare(p("manager", "value", ENTERPRISE_USER_SCHEMA), "eq", "m"),
        ),
        (f'{U}:name.givenName sw "B"', Compare(p("name", "givenName"), "sw", "B")),
        (
            'meta.lastModified gt "2011-05-13T04:42:34Z"',
            Compare(p("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z"),
        ),
    ],
)
def test_parse(text: str, expected: Filter) -> None:
    assert parse_filter(text, "User") == expected


def test_group_members() -> None:
    assert parse_filter('members[value eq "u1"]', "Group") == ValuePath(
        AttrPath(GROUP_SCHEMA, "members"),
        Compare(AttrPath(GROUP_SCHEMA, "members", "value"), "eq", "u1"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "userName",
        "userName eq",
        'userName xx "a"',
        'userName eq "a" and',
        "(title pr",
        'nope eq "x"',
        'name eq "x"',
        'name.nope eq "x"',
        "active gt true",
        'active eq "true"',
        "userName eq 1",
        'meta.created eq "yesterday"',
        'meta.created co "2020"',
        'emails[type eq "a"].value',
        'emails[nope eq "a"]',
        'title[value eq "x"]',
        'urn:example:unknown:attr eq "x"',
        "members pr",
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidFilter):
        parse_filter(text, "User")


def test_sort_by() -> None:
    assert parse_sort_by("USERNAME", "User") == p("userName")
    assert parse_sort_by("emails", "User") == p("emails", "value")
    for bad in ("name", "nope", 'emails[type eq "x"]'):
        with pytest.raises(InvalidFilter):
            parse_sort_by(bad, "User")


def test_filters_sharing_a_template_keep_their_own_values() -> None:
    texts = ['userName eq "ann" or title co "0"', 'userName eq "bob" or title co "\\u0041\\""']
    parsed = [parse_filter(text, "User") for text in texts]
    values = [(f.left.value, f.right.value) for f in parsed]  # type: ignore[union-attr]
    assert values == [("ann", "0"), ("bob", 'A"')]


@pytest.mark.parametrize("text", ['title eq "tab\there"', 'title eq "x\\"', "userName eq bob"])
def test_a_bad_literal_is_an_invalid_filter_with_or_without_a_remembered_template(
    text: str,
) -> None:
    parse_filter('title eq "fine"', "User")  # the template `title eq "0"` is now remembered
    with pytest.raises(InvalidFilter):
        parse_filter(text, "User")
