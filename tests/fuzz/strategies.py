"""Hypothesis strategies that know SCIM (RFC 7643/7644): User and Group bodies of valid-ish
shape carrying hostile values, PATCH operations, and filters generated from the filter grammar
(RFC 7644 §3.4.2.2) then mutated.

Bodies are built as Python values and serialized with ``json.dumps`` (``ensure_ascii``), so a
lone surrogate or NUL travels as a ``\\u`` escape, as a hostile client sends it; tokens JSON
cannot express from Python (``NaN`` spelled by a client, a 5,000-digit integer, deep nesting)
go in as :class:`Raw` placeholders that :func:`encode` splices into the text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True)
class Raw:
    """A JSON token written into the body as is."""

    token: str


_MARK = "\x01raw\x01"


def encode(value: Any) -> bytes:
    """``value`` as JSON text, each :class:`Raw` spliced in verbatim."""
    raws: list[str] = []

    def default(obj: Any) -> Any:
        if isinstance(obj, Raw):
            raws.append(obj.token)
            return f"{_MARK}{len(raws) - 1}{_MARK}"
        raise TypeError(type(obj))

    text = json.dumps(value, default=default)
    marker = json.dumps(_MARK)[1:-1]
    for i, token in enumerate(raws):
        text = text.replace(f'"{marker}{i}{marker}"', token)
    return text.encode()


# ---- hostile scalars ------------------------------------------------------------------------

ANY_CHAR = st.characters(categories=["L", "M", "N", "P", "S", "Z", "C"])  # C: NUL, surrogates
SPECIAL_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfffy",
        "\ud83d\ude00",
        "\U0001f600",
        "İ" * 200,  # lower-cases to 400 characters
        "ß" * 255,
        "%00",
        "\\u0000",
        '"',
        "\\",
        "' OR 1=1 --",
        "*",
        "user_" + "x" * 60,
        "2024-01-01T00:00:00Z",
        "not a date",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    ]
)
LONG_STRINGS = st.integers(min_value=250, max_value=330).map(lambda n: "u" * n) | st.just(
    "x" * 5000
)
HOSTILE_TEXT = st.one_of(st.text(ANY_CHAR, max_size=30), SPECIAL_STRINGS, LONG_STRINGS)
SANE_TEXT = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=20)

RAW_NUMBERS = st.sampled_from(
    [
        Raw("NaN"),
        Raw("Infinity"),
        Raw("-Infinity"),
        Raw("1e400"),
        Raw("-1e400"),
        Raw("1e-400"),
        Raw("9" * 5000),
        Raw("-" + "9" * 120),
        Raw("0." + "1" * 200),
        Raw("-0"),
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    RAW_NUMBERS,
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, HOSTILE_TEXT)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3),
    max_leaves=8,
) | st.integers(min_value=28, max_value=40).map(nested)


def hostile(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the right shape, otherwise anything."""
    return st.one_of(good, good, JSON_VALUES)


# ---- resources ------------------------------------------------------------------------------

EMAIL = st.fixed_dictionaries(
    {"value": SANE_TEXT.map(lambda s: f"{s}@acme.test") | HOSTILE_TEXT},
    optional={
        "type": hostile(st.sampled_from(["work", "home", "other"])),
        "primary": hostile(st.booleans()),
    },
)
NAME = st.fixed_dictionaries(
    {}, optional={"givenName": hostile(HOSTILE_TEXT), "familyName": hostile(HOSTILE_TEXT)}
)
MANAGER = st.fixed_dictionaries({"value": HOSTILE_TEXT})
ENTERPRISE_PART = st.fixed_dictionaries(
    {}, optional={"department": hostile(HOSTILE_TEXT), "manager": hostile(MANAGER)}
)


def _drop_absent(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not _ABSENT}


_ABSENT = object()


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.just(_ABSENT) | strategy


@st.composite
def user_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A User resource (RFC 7643 §4.1) with the enterprise extension (§4.3), each attribute
    present or not, of its type or hostile, plus unknown attributes."""
    body = {
        "schemas": hostile(st.just([USER, ENTERPRISE])),
        "userName": hostile(SANE_TEXT.map(lambda s: f"{s}@acme.test")),
        "externalId": _maybe(hostile(HOSTILE_TEXT)),
        "displayName": _maybe(hostile(HOSTILE_TEXT)),
        "name": _maybe(hostile(NAME)),
        "emails": _maybe(hostile(st.lists(hostile(EMAIL), max_size=3))),
        "active": _maybe(hostile(st.booleans())),
        "title": _maybe(HOSTILE_TEXT | RAW_NUMBERS),
        "meta": _maybe(JSON_VALUES),
        "groups": _maybe(JSON_VALUES),
        "password": _maybe(HOSTILE_TEXT),
        ENTERPRISE: _maybe(hostile(ENTERPRISE_PART)),
    }
    out = _drop_absent({k: draw(v) for k, v in body.items()})
    out.update(draw(st.dictionaries(HOSTILE_TEXT, JSON_VALUES, max_size=2)))
    return out


@st.composite
def group_bodies(draw: st.DrawFn, member_ids: list[str]) -> dict[str, Any]:
    """A Group resource (RFC 7643 §4.2); members name existing ids or hostile ones."""
    member = st.fixed_dictionaries(
        {"value": st.sampled_from(member_ids) | HOSTILE_TEXT},
        optional={"type": hostile(st.sampled_from(["User", "Group"])), "display": HOSTILE_TEXT},
    )
    body = {
        "schemas": hostile(st.just([GROUP])),
        "displayName": hostile(SANE_TEXT),
        "externalId": _maybe(hostile(HOSTILE_TEXT)),
        "members": _maybe(hostile(st.lists(hostile(member), max_size=4))),
    }
    out = _drop_absent({k: draw(v) for k, v in body.items()})
    out.update(draw(st.dictionaries(HOSTILE_TEXT, JSON_VALUES, max_size=2)))
    return out


# ---- filters (RFC 7644 §3.4.2.2) ------------------------------------------------------------

ATTRIBUTES = [
    "userName",
    "name.givenName",
    "name.familyName",
    "displayName",
    "externalId",
    "title",
    "active",
    "emails",
    "emails.value",
    "emails.type",
    "emails.primary",
    "meta.created",
    "meta.lastModified",
    "meta.resourceType",
    "id",
    "groups",
    "groups.value",
    "members",
    "members.value",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager.value",
    f"{USER}:userName",
    "nosuch",
    "name.nosuch",
    "USERNAME",
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Sw", "xx"]


def _literal(value: Any) -> str:
    if isinstance(value, Raw):
        return value.token
    return json.dumps(value)


COMP_VALUES = st.one_of(
    HOSTILE_TEXT,
    st.sampled_from(["2024-01-01T00:00:00Z", "2999-12-31T23:59:59.999+01:00"]),
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    RAW_NUMBERS,
).map(_literal)

ATTR_PATHS = st.sampled_from(ATTRIBUTES)
COMPARISONS = st.one_of(
    st.builds(lambda a, o, v: f"{a} {o} {v}", ATTR_PATHS, st.sampled_from(OPERATORS), COMP_VALUES),
    ATTR_PATHS.map(lambda a: f"{a} pr"),
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        inner.map(lambda a: f"not ({a})"),
        inner.map(lambda a: f"({a})"),
        st.builds(
            lambda attr, a: f"{attr}[{a}]",
            st.sampled_from(["emails", "members", "groups", "name", "userName"]),
            inner,
        ),
    )


GRAMMAR_FILTERS = st.recursive(COMPARISONS, _combine, max_leaves=12)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """A grammar filter, sometimes with a slice replaced by noise, repeated, or truncated."""
    text = draw(base)
    kind = draw(st.sampled_from(["none", "none", "splice", "repeat", "truncate"]))
    if kind == "splice" and text:
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        noise = draw(
            st.text(ANY_CHAR, max_size=3)
            | st.sampled_from(["(", ")", "[", "]", '"', " or ", " and ", "not"])
        )
        text = text[:at] + noise + text[at + cut :]
    elif kind == "repeat":
        text = draw(st.sampled_from([" or ", " and "])).join([text] * draw(st.integers(2, 300)))
    elif kind == "truncate" and text:
        text = text[: draw(st.integers(0, len(text) - 1))]
    return text  # fmt: skip


FILTERS = mutated(GRAMMAR_FILTERS)


# ---- PATCH operations (RFC 7644 §3.5.2) -----------------------------------------------------

PATCH_PATHS = st.one_of(
    ATTR_PATHS,
    st.builds(
        lambda a, f, s: f"{a}[{f}]{s}",
        st.sampled_from(["emails", "members", "addresses", "userName"]),
        FILTERS,
        st.sampled_from(["", ".value", ".type", ".primary", ".nosuch"]),
    ),
    st.sampled_from([ENTERPRISE, f"{ENTERPRISE}:manager", "members", 'emails[type eq "work"]']),
    HOSTILE_TEXT,
)


@st.composite
def patch_bodies(draw: st.DrawFn, member_ids: list[str]) -> dict[str, Any]:
    value = st.one_of(
        JSON_VALUES,
        HOSTILE_TEXT,
        st.lists(
            st.fixed_dictionaries({"value": st.sampled_from(member_ids) | HOSTILE_TEXT}), max_size=3
        ),
        user_bodies(),
    )
    op = st.fixed_dictionaries(
        {"op": hostile(st.sampled_from(["add", "remove", "replace", "Add", "REPLACE"]))},
        optional={"path": hostile(PATCH_PATHS), "value": value},
    )
    return {
        "schemas": draw(hostile(st.just([PATCH_OP]))),
        "Operations": draw(hostile(st.lists(op, min_size=1, max_size=3))),
    }  # fmt: skip


SEARCH_BODIES = st.fixed_dictionaries(
    {"schemas": st.just([SEARCH])},
    optional={
        "filter": hostile(FILTERS),
        "sortBy": hostile(ATTR_PATHS),
        "sortOrder": hostile(st.sampled_from(["ascending", "descending"])),
        "startIndex": hostile(st.integers(-5, 2**40)),
        "count": hostile(st.integers(-5, 2**40)),
        "attributes": hostile(st.lists(ATTR_PATHS, max_size=3)),
        "excludedAttributes": hostile(ATTR_PATHS),
    },
)
