"""``attributes`` / ``excludedAttributes`` projection (RFC 7644 §3.4.2.5, §3.9).

``returned`` characteristics come from :mod:`propylon.directory.schema` (RFC 7643 §7): ``always``
attributes (``id``, and ``schemas``) are always kept, ``never`` ones (``password``) never,
``request`` ones only when named in ``attributes``. Names are matched case-insensitively, may be
URN-qualified (``urn:...:enterprise:2.0:User:department``), may name a sub-attribute
(``name.givenName``, ``emails.value``) or a whole extension URN. Attributes the schema does not
know (an IdP's custom extension) behave as ``returned: default``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from scim2_models import Path, SCIMException
from scim2_models.path import AttrPath as SAttrPath

from propylon.directory.schema import AttrDef, ResourceType, canonical_schema, core_schema, lookup


@dataclass(frozen=True)
class _Sel:
    """A selected name: ``container`` is a lowercased extension URN (None for core attributes);
    ``name`` None selects the whole extension; ``sub`` a sub-attribute."""

    container: str | None
    name: str | None
    sub: str | None = None


def _selector(text: str, rt: ResourceType) -> _Sel | None:
    text = text.strip()
    whole = canonical_schema(rt, text)
    if whole is not None:
        return None if whole == core_schema(rt) else _Sel(whole.lower(), None)
    try:
        node = Path(text).ast
    except SCIMException:
        return None  # an unparseable name selects nothing
    if not isinstance(node, SAttrPath):
        return None
    container: str | None = node.uri.lower() if node.uri else None
    if container is not None and container == core_schema(rt).lower():
        container = None
    attr = lookup(rt, node.uri, node.attr)
    if attr is not None and attr.schema != core_schema(rt):
        container = attr.schema.lower()
    sub = node.sub_attr.lower() if node.sub_attr else None
    return _Sel(container, node.attr.lower(), sub)


def _selectors(names: Iterable[str] | None, rt: ResourceType) -> list[_Sel]:
    found = (_selector(n, rt) for part in names or () for n in part.split(",") if n.strip())
    return [s for s in found if s is not None]


def project(
    resource: dict[str, Any],
    resource_type: ResourceType,
    attributes: list[str] | None,
    excluded: list[str] | None,
) -> dict[str, Any]:
    """Project a full SCIM resource. ``attributes`` wins over ``excluded`` when both are given
    (RFC 7644 §3.4.2.5 lets a client send only one)."""
    rt = resource_type
    wanted, dropped = _selectors(attributes, rt), _selectors(excluded, rt)
    out: dict[str, Any] = {}
    selecting = bool(attributes)
    for key, value in resource.items():
        container = _container(rt, key) if isinstance(value, dict) else None
        if container is not None:
            inner: dict[str, Any] = {}
            for name, item in value.items():
                kept = _decide(rt, container, name, item, wanted, dropped, selecting)
                if kept is not _DROP:
                    inner[name] = kept
            if inner:
                out[key] = inner
            continue
        kept = _decide(rt, None, key, value, wanted, dropped, selecting)
        if kept is not _DROP:
            out[key] = kept
    return out


_DROP: Any = object()


@functools.lru_cache(maxsize=4096)
def _container(rt: ResourceType, key: str) -> str | None:
    """The lowercased URN when ``key`` names an extension (a schema of ``rt`` or any other
    ``urn:`` key an IdP sends), else None. Remembered: asked for every key of every resource."""
    ext = canonical_schema(rt, key)
    if (ext is not None and ext != core_schema(rt)) or key.lower().startswith("urn:"):
        return key.lower()
    return None


@functools.lru_cache(maxsize=4096)
def _characteristics(
    rt: ResourceType, container: str | None, name: str
) -> tuple[AttrDef | None, str, frozenset[str]]:
    """The schema's word on one attribute name: its definition (None when unknown), its
    ``returned`` characteristic and its ``returned: never`` sub-attributes. Pure and asked for
    every attribute of every rendered resource, so remembered (bounded: names are IdP input)."""
    known = container is None or canonical_schema(rt, container) is not None
    attr = lookup(rt, container, name) if known else None
    returned = attr.returned if attr is not None else "default"
    if container is None and name.lower() == "schemas":
        returned = "always"
    never = frozenset(
        k for k, d in (attr.sub_attributes.items() if attr else ()) if d.returned == "never"
    )
    return attr, returned, never


def _decide(
    rt: ResourceType,
    container: str | None,
    name: str,
    value: Any,
    wanted: list[_Sel],
    dropped: list[_Sel],
    selecting: bool,
) -> Any:
    attr, returned, never = _characteristics(rt, container, name)
    if returned == "never":
        return _DROP
    if never:
        value = _without_subs(value, never)
    if returned == "always":
        return value
    if not selecting and not dropped:  # most responses: no attributes, no excludedAttributes
        return _DROP if returned == "request" else value
    low = name.lower()
    if selecting:
        mine = [s for s in wanted if s.container == container and s.name in (None, low)]
        if not mine:
            return _DROP
        if any(s.sub is None for s in mine):
            return value
        return _only_subs(attr, value, {s.sub for s in mine if s.sub})
    if returned == "request":
        return _DROP
    mine = [s for s in dropped if s.container == container and s.name in (None, low)]
    if any(s.sub is None for s in mine):
        return _DROP
    subs = {s.sub for s in mine if s.sub}
    return _without_subs(value, subs) if subs else value


def _only_subs(attr: AttrDef | None, value: Any, subs: set[str]) -> Any:
    if attr is not None:
        subs = subs | {k for k, d in attr.sub_attributes.items() if d.returned == "always"}

    def keep(obj: Any) -> Any:
        return {k: v for k, v in obj.items() if k.lower() in subs} if isinstance(obj, dict) else obj

    if isinstance(value, list):
        return [e for e in (keep(x) for x in value) if e != {}] or _DROP
    kept = keep(value)
    return kept if kept != {} else _DROP


def _without_subs(value: Any, subs: AbstractSet[str]) -> Any:
    def strip(obj: Any) -> Any:
        if not isinstance(obj, dict):
            return obj
        return {k: v for k, v in obj.items() if k.lower() not in subs}

    return [strip(e) for e in value] if isinstance(value, list) else strip(value)


def wants_members(attributes: list[str] | None, excluded: list[str] | None) -> bool:
    """Whether a Group response needs ``members`` (so 10,000 of them are not loaded in vain)."""
    if attributes:
        return any(
            s.container is None and s.name == "members" for s in _selectors(attributes, "Group")
        )
    return not any(
        s.container is None and s.name == "members" and s.sub is None
        for s in _selectors(excluded, "Group")
    )
