"""SCIM filter parsing, RFC 7644 §3.4.2.2, into the neutral AST of :mod:`propylon.directory.query`.

Syntax comes from scim2-models' RFC 7644 grammar (errata applied; case-insensitive operators;
JSON string literals; ``and`` binding tighter than ``or``; Entra's
``emails[type eq "work"].value eq "x"``). This module adds the semantics: every attribute is
resolved against :mod:`propylon.directory.schema`, names are canonicalized, and operator/value
combinations the attribute type cannot take are refused with :class:`InvalidFilter`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scim2_models import Path, SCIMException, ScimFilter
from scim2_models.path import AttrPath as SAttrPath
from scim2_models.path import Comparison, FilterNode, LogicalExpr, LogicalOperator
from scim2_models.path import Not as SNot
from scim2_models.path import Present as SPresent
from scim2_models.path import ValuePath as SValuePath

from propylon.directory.errors import InvalidQuery
from propylon.directory.query import (
    And,
    AttrPath,
    Compare,
    CompareOp,
    Filter,
    Not,
    Or,
    Present,
    Scalar,
    ValuePath,
    parse_datetime,
)
from propylon.directory.schema import AttrDef, ResourceType, lookup
from propylon.scim.errors import InvalidFilter, ScimError
from propylon.settings import Settings
from propylon.text import UNSTORABLE

_STRING_TYPES = frozenset({"string", "reference", "binary"})
_ORDERING = frozenset({"gt", "ge", "lt", "le"})
_SUBSTRING = frozenset({"co", "sw", "ew"})


# A JSON string literal (RFC 7644 §3.4.2.2 compValue strings are JSON strings, RFC 8259 §7).
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


@dataclass(frozen=True)
class FilterLimits:
    """Bounds on one filter. RFC 7644 §3.4.2.2 sets none, and a service provider refuses
    what it cannot evaluate (§3.12, ``invalidFilter``); a filter runs as one SQL statement,
    so its size and nesting are bounded (``PROPYLON_SCIM_FILTER_MAX_*``)."""

    max_length: int = 8192
    """Characters of the filter text."""
    max_depth: int = 32
    """Nesting of ``( )``, ``not ( )``, ``[ ]`` and of ``and`` inside ``or``."""
    max_terms: int = 256
    """Comparisons and presence tests, in all."""

    @classmethod
    def of(cls, settings: Settings) -> FilterLimits:
        return cls(
            settings.scim_filter_max_length,
            settings.scim_filter_max_depth,
            settings.scim_filter_max_terms,
        )


DEFAULT_LIMITS = FilterLimits()


def parse_filter(
    text: str, resource_type: ResourceType, limits: FilterLimits = DEFAULT_LIMITS
) -> Filter:
    """Parse and validate a ``filter`` parameter (RFC 7644 §3.4.2.2).

    Raises :class:`InvalidFilter` on a syntax error, an unknown attribute, a complex attribute
    compared directly, an operator/value the attribute's type does not support, a filter past
    ``limits``, or NUL or a lone surrogate anywhere in it (no stored value holds one).

    Filters that differ only in their string literals (``userName eq "…"`` for each user of an
    IdP's push) share one run of the grammar: the literals are lifted out as ``"0"``, ``"1"``…,
    the template is parsed once and remembered, and the literals go back in (then validated)
    while the tree is converted.
    """
    if len(text) > limits.max_length:
        raise InvalidFilter(f"the filter is longer than {limits.max_length} characters")
    if UNSTORABLE.search(text):
        raise InvalidFilter("the filter contains NUL or a lone surrogate")
    literals: list[str] = []

    def lift(match: re.Match[str]) -> str:
        try:
            literal = json.loads(match.group())
        except ValueError as exc:
            raise InvalidFilter(f"invalid filter {text!r}: bad string {match.group()}") from exc
        if UNSTORABLE.search(literal):
            raise InvalidFilter("a filter string contains NUL or a lone surrogate")
        literals.append(literal)
        return f'"{len(literals) - 1}"'

    template = _STRING_LITERAL.sub(lift, text)
    try:
        node, depth, terms = _parse_template(template)
    except SCIMException as exc:
        raise InvalidFilter(f"invalid filter {text!r}: {exc.detail}") from exc
    except RecursionError:
        raise InvalidFilter("the filter is nested too deeply") from None
    if depth > limits.max_depth:
        raise InvalidFilter(f"the filter is nested deeper than {limits.max_depth} levels")
    if terms > limits.max_terms:
        raise InvalidFilter(f"the filter has more than {limits.max_terms} terms")
    return convert(node, resource_type, literals=literals)


@functools.lru_cache(maxsize=1024)
def _parse_template(template: str) -> tuple[FilterNode, int, int]:
    node = ScimFilter(template).ast
    return (node, *measure(node))


def measure(node: FilterNode) -> tuple[int, int]:
    """The nesting depth and the number of terms (comparisons, presence tests) of a parsed
    filter, walked without recursion."""
    depth = terms = 0
    stack: list[tuple[FilterNode, int]] = [(node, 0)]
    while stack:
        item, level = stack.pop()
        depth = max(depth, level)
        if isinstance(item, LogicalExpr):
            stack.extend((t, level + 1) for t in item.terms)
        elif isinstance(item, SNot):
            stack.append((item.expr, level + 1))
        elif isinstance(item, SValuePath):
            stack.append((item.val_filter, level + 1))
        else:
            terms += 1
    return depth, terms


def _balanced(terms: list[Filter], join: Callable[[Filter, Filter], Filter]) -> Filter:
    """``t1 op t2 op … tn`` as a balanced tree (``and``/``or`` are associative), so a long
    flat list nests log2(n) deep, not n deep, in every recursive walk of it."""
    while len(terms) > 1:
        pairs = [join(a, b) for a, b in zip(terms[::2], terms[1::2], strict=False)]
        terms = pairs + terms[len(pairs) * 2 :]
    return terms[0]


def convert(
    node: FilterNode,
    resource_type: ResourceType,
    parent: AttrDef | None = None,
    *,
    literals: list[str] | None = None,
) -> Filter:
    """Turn a scim2-models filter node into the neutral AST; ``parent`` is set inside ``[...]``;
    ``literals`` replace the string values of a template (see :func:`parse_filter`).

    Also used by :mod:`propylon.scim.paths` for the value filters of PATCH paths.
    """
    if isinstance(node, LogicalExpr):
        terms = [convert(t, resource_type, parent, literals=literals) for t in node.terms]
        return _balanced(terms, And if node.op == LogicalOperator.and_ else Or)
    if isinstance(node, SNot):
        return Not(convert(node.expr, resource_type, parent, literals=literals))
    if isinstance(node, SPresent):
        path, _ = resolve(node.attr_path, resource_type, parent)
        return Present(path)
    if isinstance(node, Comparison):
        path, attr = resolve(node.attr_path, resource_type, parent)
        value = node.value
        if literals is not None and isinstance(value, str):
            value = literals[int(value)]
        return _compare(path, attr, node.op.value, value)
    if isinstance(node, SValuePath):
        if parent is not None:
            raise InvalidFilter("complex attribute filters cannot be nested (RFC 7644 §3.4.2.2)")
        path, attr = resolve(node.attr_path, resource_type, None)
        if not attr.is_complex:
            raise InvalidFilter(f"{path} is not a complex attribute; it cannot take [...]")
        return ValuePath(path, convert(node.val_filter, resource_type, attr, literals=literals))
    raise InvalidFilter(f"unsupported filter expression {node}")


def resolve(
    raw: SAttrPath, resource_type: ResourceType, parent: AttrDef | None = None
) -> tuple[AttrPath, AttrDef]:
    """Resolve a parsed attribute path to its canonical path and the definition it designates."""
    if parent is not None:
        if raw.uri is not None or raw.sub_attr is not None:
            raise InvalidFilter(f"{raw} is not a sub-attribute of {parent.name}")
        sub = parent.sub(raw.attr)
        if sub is None:
            raise InvalidFilter(f"{parent.name} has no sub-attribute {raw.attr!r}")
        return AttrPath(parent.schema, parent.name, sub.name), sub
    attr = lookup(resource_type, raw.uri, raw.attr)
    if attr is None:
        raise InvalidFilter(f"unknown attribute {str(raw)!r} for {resource_type}")
    if raw.sub_attr is None:
        return AttrPath(attr.schema, attr.name, None), attr
    sub = attr.sub(raw.sub_attr)
    if sub is None:
        raise InvalidFilter(f"{attr.name} has no sub-attribute {raw.sub_attr!r}")
    return AttrPath(attr.schema, attr.name, sub.name), sub


def _compare(path: AttrPath, attr: AttrDef, op: str, value: Any) -> Compare:
    if attr.is_complex:
        # RFC 7644 §3.4.2.2 example: `emails co "example.com"` compares the "value" sub-attribute.
        value_sub = attr.sub("value")
        if not (attr.multi_valued and value_sub is not None):
            raise InvalidFilter(f"{path} is complex and cannot be compared directly")
        path, attr = AttrPath(path.schema, path.name, value_sub.name), value_sub
    if value is None:
        if op not in ("eq", "ne"):
            raise InvalidFilter(f"null can only be compared with eq or ne ({path})")
    elif attr.type == "boolean":
        if op not in ("eq", "ne") or not isinstance(value, bool):
            raise InvalidFilter(f"{path} is boolean: only eq/ne with true or false apply")
    elif attr.type in _STRING_TYPES:
        if not isinstance(value, str):
            raise InvalidFilter(f"{path} is a string; compare it with a quoted string")
    elif attr.type == "dateTime":
        if op in _SUBSTRING or not isinstance(value, str):
            raise InvalidFilter(f"{path} is a dateTime; compare it with an ISO 8601 string")
        try:
            parse_datetime(value)
        except InvalidQuery as exc:
            raise InvalidFilter(exc.detail) from exc
    elif attr.type in ("integer", "decimal") and (
        op in _SUBSTRING or isinstance(value, bool) or not isinstance(value, int | float)
    ):
        raise InvalidFilter(f"{path} is numeric; co/sw/ew and non-numbers do not apply")
    op_: CompareOp = op  # type: ignore[assignment]  # CompareOperator values are CompareOp
    scalar: Scalar = value
    return Compare(path, op_, scalar)


def parse_attr_path(text: str, resource_type: ResourceType) -> tuple[AttrPath, AttrDef]:
    """Parse a plain ``[URN:]attr[.sub]`` (RFC 7644 §3.10 attribute notation)."""
    try:
        node = Path(text).ast
    except SCIMException as exc:
        raise InvalidFilter(f"invalid attribute name {text!r}: {exc.detail}") from exc
    if not isinstance(node, SAttrPath):
        raise InvalidFilter(f"{text!r} is not an attribute name")
    return resolve(node, resource_type)


def parse_sort_by(text: str, resource_type: ResourceType) -> AttrPath:
    """Parse ``sortBy`` (RFC 7644 §3.4.2.3).

    A multi-valued complex attribute sorts by its ``value`` sub-attribute (of the primary
    element, else the first); a singular complex attribute cannot be sorted on.
    """
    try:
        path, attr = parse_attr_path(text, resource_type)
    except ScimError as exc:
        raise InvalidFilter(f"invalid sortBy: {exc.detail}") from exc
    if attr.is_complex:
        if attr.multi_valued and attr.sub("value") is not None:
            return AttrPath(path.schema, path.name, "value")
        raise InvalidFilter(f"cannot sort by the complex attribute {path}")
    return path
