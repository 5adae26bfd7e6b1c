"""A filter or sort key compiled to SQL, with what lets a statement built around it be reused.

:mod:`propylon.directory.search` binds every value of a filter as a named parameter, so the SQL
text depends only on the filter's :func:`shape`; :func:`propylon.directory.scope.page` keeps
its statements by shape and runs them again with the next filter's parameters.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement

from propylon.directory.query import And, Compare, Filter, Not, Or, Present


@dataclass(frozen=True)
class Compiled:
    """A filter or sort key as SQL: ``expr`` binds the values in ``params`` by name, and
    ``shape`` is equal for any two inputs that compile to the same SQL text."""

    expr: ColumnElement[Any]
    shape: Hashable
    params: dict[str, Any] = field(default_factory=dict)


def shape(f: Filter) -> Hashable:
    """The filter without its values (only whether each is null, which changes the SQL)."""
    if isinstance(f, And | Or):
        return (type(f).__name__, shape(f.left), shape(f.right))
    if isinstance(f, Not):
        return ("not", shape(f.inner))
    if isinstance(f, Compare):
        return ("cmp", f.path, f.op, f.value is None)
    if isinstance(f, Present):
        return ("pr", f.path)
    return ("vp", f.path, shape(f.filter))
