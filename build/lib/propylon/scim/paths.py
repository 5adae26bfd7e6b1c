"""PATCH paths (RFC 7644 §3.5.2), in-memory value filters, and value coercion.

``parse_path`` resolves ``attr``, ``attr.sub``, ``URN:attr[.sub]``, a bare extension URN and
``attr[filter][.sub]`` against :mod:`propylon.directory.schema`. Attributes the schema does not know
(an IdP's custom extension) resolve with ``attr=None`` so they can still be written as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import Path, SCIMException
from scim2_models.path import AttrPath as SAttrPath
from scim2_models.path import ValuePath as SValuePath

from propylon.directory.errors import InvalidQuery
from propylon.directory.query import (
    And,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    parse_datetime,
)
from propylon.directory.schema import (
    ENTERPRISE_USER_SCHEMA,
    AttrDef,
    ResourceType,
    canonical_schema,
    core_schema,
    extension_schemas,
    lookup,
)
from propylon.scim.errors import InvalidFilter, InvalidPath, InvalidSyntax, InvalidValue
from propylon.scim.filter import DEFAULT_LIMITS, FilterLimits, convert, measure


@dataclass(frozen=True)
class PatchPath:
    """A resolved PATCH target.

    ``schema`` is the extension URN key holding the attribute in the document (None for core
    attributes); ``name`` is None when the path is a whole extension URN.
    """

    schema: str | None
    name: str | None
    sub: str | None = None
    filter: Filter | None = None
    attr: AttrDef | None = None
    sub_attr: AttrDef | None = None


def parse_path(
    text: str, resource_type: ResourceType, limits: FilterLimits = DEFAULT_LIMITS
) -> PatchPath:
    """Parse and resolve a PATCH ``path`` (RFC 7644 §3.5.2, ``PATH = attrPath / valuePath
    [subAttr]``). Syntax errors raise InvalidPath; bad value filters, and value filters past
    ``limits``, raise InvalidFilter."""
    if len(text) > limits.max_length:
        raise InvalidPath(f"the path is longer than {limits.max_length} characters")
    try:
        node = Path(text).ast
    except SCIMException as exc:
        raise InvalidPath(f"invalid path {text!r}: {exc.detail}") from exc
    except RecursionError:
        raise InvalidPath("the path's filter is nested too deeply") from None
    if isinstance(node, SAttrPath):
        return _resolve(node, None, None, resource_type, text)
    if isinstance(node, SValuePath):
        raw = node.attr_path
        attr = lookup(resource_type, raw.uri, raw.attr)
        if attr is None or not attr.is_complex:
            raise InvalidPath(f"{text!r}: a value filter needs a known complex attribute")
        depth, terms = measure(node.val_filter)
        if depth >= limits.max_depth or terms > limits.max_terms:
            raise InvalidFilter(
                f"the path's filter is past {limits.max_depth} levels or {limits.max_terms} terms"
            )
        flt = convert(node.val_filter, resource_type, attr)
        return _resolve(raw, node.sub_attr, flt, resource_type, text)
    raise InvalidPath(f"{text!r} is not an attribute path")


def _resolve(
    raw: SAttrPath, sub: str | None, flt: Filter | None, rt: ResourceType, text: str
) -> PatchPath:
    sub = sub or raw.sub_attr
    if raw.uri is not None and sub is None and flt is None:
        whole = canonical_schema(rt, f"{raw.uri}:{raw.attr}")
        if whole is not None and whole != core_schema(rt):
            return PatchPath(schema=whole, name=None)
    attr = lookup(rt, raw.uri, raw.attr)
    if attr is None:
        known = canonical_schema(rt, raw.uri) if raw.uri else None
        if known is not None:
            raise InvalidPath(f"{text!r}: {raw.attr!r} is not an attribute of {known}")
        return PatchPath(schema=raw.uri, name=raw.attr, sub=sub)
    schema = None if attr.schema == core_schema(rt) else attr.schema
    sub_attr: AttrDef | None = None
    if sub is not None:
        sub_attr = attr.sub(sub)
        if sub_attr is None:
            raise InvalidPath(f"{text!r}: {attr.name} has no sub-attribute {sub!r}")
        sub = sub_attr.name
    return PatchPath(schema, attr.name, sub, flt, attr, sub_attr)


# ---- in-memory evaluation of value filters (RFC 7644 §3.4.2.2 semantics)


def matches(element: Any, f: Filter) -> bool:
    """Whether one value of a multi-valued attribute matches a value filter."""
    if isinstance(f, And):
        return matches(element, f.left) and matches(element, f.right)
    if isinstance(f, Or):
        return matches(element, f.left) or matches(element, f.right)
    if isinstance(f, Not):
        return not matches(element, f.inner)
    if isinstance(f, ValuePath):
        raise InvalidFilter("complex attribute filters cannot be nested")
    value = get_ci(element, f.path.sub) if f.path.sub else element
    if isinstance(f, Present):
        return value not in (None, "", [], {})
    return _compare(value, f)


def _compare(actual: Any, f: Compare) -> bool:
    attr = lookup(_rt_of(f.path.schema), f.path.schema, f.path.name, f.path.sub)
    expected = f.value
    if f.op == "ne":
        return not _compare(actual, Compare(f.path, "eq", expected))
    if expected is None:
        return actual in (None, "", [], {})
    if actual is None or isinstance(actual, dict | list):
        return False
    if attr is not None and attr.type == "dateTime" and isinstance(expected, str):
        try:
            return _apply_op(f.op, parse_datetime(str(actual)), parse_datetime(expected))
        except InvalidQuery:
            return False
    elif isinstance(actual, str) and isinstance(expected, str):
        if attr is None or not attr.case_exact:
            actual, expected = actual.lower(), expected.lower()
    elif isinstance(actual, bool) != isinstance(expected, bool):
        return False
    return _apply_op(f.op, actual, expected)


def _apply_op(op: str, a: Any, b: Any) -> bool:
    if op == "eq":
        return bool(a == b)
    if op in ("co", "sw", "ew"):
        if not (isinstance(a, str) and isinstance(b, str)):
            return False
        return b in a if op == "co" else a.startswith(b) if op == "sw" else a.endswith(b)
    if isinstance(a, bool) or (type(a) is not type(b) and not _both_numbers(a, b)):
        return False
    if isinstance(a, str | int | float | datetime):
        result: bool = {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
        return result
    return False


def _both_numbers(a: Any, b: Any) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float)


def _rt_of(schema: str | None) -> ResourceType:
    return "Group" if schema == core_schema("Group") else "User"


def eq_template(f: Filter) -> dict[str, Any] | None:
    """The element a filter of ``eq`` conjunctions describes (``type eq "work"`` →
    ``{"type": "work"}``), used to create a missing element for Entra; None if not one."""
    if isinstance(f, And):
        left, right = eq_template(f.left), eq_template(f.right)
        return None if left is None or right is None else {**left, **right}
    if isinstance(f, Compare) and f.op == "eq" and f.path.sub and f.value is not None:
        return {f.path.sub: f.value}
    return None


def get_ci(obj: Any, key: str) -> Any:
    """``obj[key]`` with a case-insensitive key (RFC 7643 §2.1), None when absent."""
    if not isinstance(obj, dict):
        return None
    found = find_key(obj, key)
    return obj[found] if found is not None else None


def find_key(obj: dict[str, Any], key: str) -> str | None:
    """The key of ``obj`` equal to ``key`` ignoring case."""
    if key in obj:
        return key
    low = key.lower()
    return next((k for k in obj if k.lower() == low), None)


# ---- value coercion and validation against the schema


def coerce_value(attr: AttrDef, value: Any) -> Any:
    """Canonicalize and type-check a value for ``attr`` (RFC 7643 §2.3).

    Multi-valued attributes accept a single value (wrapped into a list); boolean strings
    (``"False"``, as Entra sends) become booleans; a bare string for the enterprise ``manager``
    or for a multi-valued complex attribute with a ``value`` becomes ``{"value": ...}``.
    """
    if value is None:
        return None
    if attr.multi_valued:
        items = value if isinstance(value, list) else [value]
        return [coerce_single(attr, item) for item in items if item is not None]
    return coerce_single(attr, value)


def coerce_single(attr: AttrDef, value: Any) -> Any:
    """Coerce one (non-list) value of ``attr``."""
    if attr.is_complex:
        if (
            isinstance(value, str)
            and (
                attr.multi_valued
                or (attr.name == "manager" and attr.schema == ENTERPRISE_USER_SCHEMA)
            )
            and attr.sub("value") is not None
        ):
            return {"value": value}
        if not isinstance(value, dict):
            raise InvalidValue(f"{attr.name} must be a complex value (an object)")
        out: dict[str, Any] = {}
        for key, sub_value in value.items():
            sub = attr.sub(key)
            out[sub.name if sub else key] = coerce_value(sub, sub_value) if sub else sub_value
        return out
    if attr.type == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise InvalidValue(f"{attr.name} must be a boolean, got {value!r}")
        return value
    if attr.type in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"{attr.name} must be a number, got {value!r}")
        return value
    if not isinstance(value, str):
        raise InvalidValue(f"{attr.name} must be a string, got {value!r}")
    return value


# ---- POST/PUT bodies


def member_ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    ids: list[str] = []
    for item in items:
        member = item.get(find_key(item, "value") or "value") if isinstance(item, dict) else item
        if not isinstance(member, str) or not member:
            raise InvalidValue(f"a member needs a string value, got {item!r}")
        ids.append(member)
    return ids


def sync_schemas(doc: dict[str, Any], rt: ResourceType) -> None:
    """Keep ``schemas`` listing the core schema and each extension present (RFC 7643 §3)."""
    present = []
    for urn in extension_schemas(rt):
        found = find_key(doc, urn)
        if found is not None and doc[found] in ({}, None):
            del doc[found]
        elif found is not None:
            present.append(urn)
    schemas = doc.get("schemas")
    listed = [s for s in schemas if isinstance(s, str)] if isinstance(schemas, list) else []
    known = {u.lower() for u in extension_schemas(rt)}
    kept = [s for s in listed if s.lower() not in known or s in present]
    if not any(s.lower() == core_schema(rt).lower() for s in kept):
        kept.insert(0, core_schema(rt))
    doc["schemas"] = kept + [u for u in present if u not in kept]


def _try_path(key: str, rt: ResourceType) -> PatchPath | None:
    """A URN-prefixed attribute key (``urn:...:User:department``), or None."""
    try:
        return parse_path(key, rt)
    except (InvalidPath, InvalidFilter):
        return None


def canonicalize(doc: dict[str, Any], resource_type: ResourceType) -> dict[str, Any]:
    """Canonicalize a POST/PUT body for storage (RFC 7644 §3.3, §3.5.1).

    Attribute names take their schema case, values are coerced and type-checked (InvalidValue),
    ``id``/``meta`` (and ``groups`` on User, ``members`` on Group) are dropped as read-only or
    stored elsewhere, unknown attributes and extensions are kept as given.
    """
    if not isinstance(doc, dict):
        raise InvalidSyntax("the resource must be a JSON object")
    rt, core = resource_type, core_schema(resource_type)
    dropped = {"id", "meta", "groups" if rt == "User" else "members"}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        low = key.lower()
        if low in dropped or value is None:
            continue
        urn = canonical_schema(rt, key)
        if low == "schemas":
            out["schemas"] = value
        elif urn is not None and urn != core:
            if not isinstance(value, dict):
                raise InvalidValue(f"{urn} must be an object")
            ext = out.setdefault(urn, {})
            for sub_key, sub_value in value.items():
                attr = lookup(rt, urn, sub_key)
                if sub_value is not None:
                    ext[attr.name if attr else sub_key] = (
                        coerce_value(attr, sub_value) if attr else sub_value
                    )
        elif low.startswith("urn:") and urn is None:
            path = _try_path(key, rt) if not isinstance(value, dict) else None
            if path is not None and path.attr is not None and path.sub is None and path.schema:
                out.setdefault(path.schema, {})[path.attr.name] = coerce_value(path.attr, value)
            else:
                out[key] = value
        else:
            attr = lookup(rt, core, key)
            out[attr.name if attr else key] = coerce_value(attr, value) if attr else value
    required = "userName" if rt == "User" else "displayName"
    if not isinstance(out.get(required), str) or not out[required].strip():
        raise InvalidValue(f"{required} is required and must be a non-empty string")
    sync_schemas(out, rt)
    return out


def canonicalize_group(doc: dict[str, Any]) -> tuple[dict[str, Any], list[str] | None]:
    """:func:`canonicalize` for a Group, returning ``members`` ids separately (None if absent)."""
    found = find_key(doc, "members") if isinstance(doc, dict) else None
    members = doc.get(found) if found is not None else None
    ids = member_ids(members) if members is not None else None
    if members == []:
        ids = []
    return canonicalize(doc, "Group"), ids
