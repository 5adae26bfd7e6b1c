"""A neutral filter syntax tree, independent of SCIM wire syntax and of SQL.

:mod:`propylon.scim.filter` builds it from RFC 7644 §3.4.2.2 filter text (with attribute
names validated and canonicalized against :mod:`propylon.directory.schema`);
:mod:`propylon.directory.search` compiles it to SQL. Inside a :class:`ValuePath` the inner
filter's paths are fully qualified:
``emails[type eq "work"]`` holds ``Compare(AttrPath(USER_SCHEMA, "emails", "type"), "eq", "work")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from propylon.directory.errors import InvalidQuery

CompareOp = Literal["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class AttrPath:
    """``[schema:]name[.sub]`` with canonical names; ``schema`` is the owning schema URN."""

    schema: str | None
    name: str
    sub: str | None = None

    def __str__(self) -> str:
        prefix = f"{self.schema}:" if self.schema else ""
        return f"{prefix}{self.name}" + (f".{self.sub}" if self.sub else "")


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: CompareOp
    value: Scalar


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """A complex attribute filter, ``emails[type eq "work" and value co "@x"]``."""

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


def parse_datetime(value: str) -> datetime:
    """Parse an RFC 7643 §2.3.5 dateTime (xsd:dateTime) literal; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidQuery(f"{value!r} is not an ISO 8601 dateTime") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
