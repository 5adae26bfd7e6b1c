"""JSON values inside ``users.doc`` / ``groups.doc`` as SQL, per dialect: SQLite's JSON1
functions (``json_extract``, ``json_type``, ``json_each``) and PostgreSQL's jsonb ones
(``jsonb_extract_path``, ``jsonb_typeof``, ``jsonb_array_elements``). The filter compiler
(:mod:`propylon.directory.search`) builds on these and never names a JSON function itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Text, case, func, literal_column, true

Bool = ColumnElement[bool]

TYPE_NAMES: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "sqlite": {
        "string": ("text",),
        "boolean": ("true", "false"),
        "number": ("integer", "real"),
        "array": ("array",),
        "object": ("object",),
        "null": ("null",),
    },
    "postgresql": {
        "string": ("string",),
        "boolean": ("boolean",),
        "number": ("number",),
        "array": ("array",),
        "object": ("object",),
        "null": ("null",),
    },
}
"""What each dialect's JSON type function answers for each JSON type (RFC 8259 §3)."""


@dataclass(frozen=True)
class Js:
    """A JSON value: ``keys`` below ``base``; ``elem_type`` is json_each.type (SQLite elements)."""

    base: ColumnElement[Any]
    keys: tuple[str, ...]
    elem_type: ColumnElement[Any] | None = None


@dataclass(frozen=True)
class Elements:
    """The elements of a JSON array as a FROM item (``json_each`` / ``jsonb_array_elements``)."""

    table: FromClause
    value: ColumnElement[Any]
    type: ColumnElement[Any] | None
    order: ColumnElement[Any]
    guard: Bool

    def scope(self, sub: str | None) -> Js:
        return Js(self.value, (sub,)) if sub else Js(self.value, (), self.type)


def sqlite_path(keys: tuple[str, ...]) -> str:
    """A SQLite JSON path with every key quoted (URNs contain ``:`` and ``.``)."""
    return "$" + "".join('."' + k.replace('"', '\\"') + '"' for k in keys)


def elements(doc: ColumnElement[Any], keys: tuple[str, ...], dialect: str) -> Elements:
    """The elements of the JSON array at ``keys`` as a table (non-arrays yield none)."""
    if dialect == "sqlite":
        path_text = sqlite_path(keys)
        fn = func.json_each(doc, path_text).table_valued("value", "type", "key")
        each = fn.alias("elem")
        guard = func.json_type(doc, path_text) == "array"
        return Elements(each, each.c.value, each.c.type, each.c.key, guard)
    raw = pg_get(Js(doc, keys))
    empty: ColumnElement[Any] = literal_column("'[]'::jsonb")
    guarded = case((func.jsonb_typeof(raw) == "array", raw), else_=empty)
    fn = func.jsonb_array_elements(guarded).table_valued("value", with_ordinality="n")
    elems = fn.render_derived("elem")
    return Elements(elems, elems.c.value, None, elems.c.n, true())


def pg_get(v: Js) -> ColumnElement[Any]:
    return func.jsonb_extract_path(v.base, *v.keys) if v.keys else v.base


def json_type(v: Js, dialect: str) -> ColumnElement[Any]:
    """The JSON type name of the value (see :data:`TYPE_NAMES`)."""
    if dialect == "sqlite":
        if v.elem_type is not None:
            return v.elem_type
        return func.json_type(v.base, sqlite_path(v.keys))
    return func.jsonb_typeof(pg_get(v))


def json_text(v: Js, dialect: str) -> ColumnElement[Any]:
    """The value as SQL text (a JSON string without its quotes)."""
    if dialect == "sqlite":
        return func.json_extract(v.base, sqlite_path(v.keys)) if v.keys else v.base
    return pg_get(v).op("#>>", return_type=Text)(literal_column("'{}'"))
