"""Attribute paths of rule conditions, resolved against a user's stored SCIM document.

A path is a core attribute (``title``, ``userType``, ``name.givenName``, ``emails.value``),
an enterprise attribute by its short name (``department``, ``costCenter``, ``organization``,
``division``, ``employeeNumber``, ``manager.value``: RFC 7643 §4.3) or any attribute with its
schema URN in front (``urn:…:enterprise:2.0:User:costCenter``, an extension's
``urn:example:params:scim:schemas:extension:acme:2.0:User:badge``). Names are
case-insensitive (RFC 7643 §2.1). A multi-valued attribute yields every value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, list):
        out: list[Any] = []
        for item in obj:
            v = _get(item, name)
            out.extend(v if isinstance(v, list) else [v] if v is not None else [])
        return out or None
    if not isinstance(obj, Mapping):
        return None
    if name in obj:
        return obj[name]
    low = name.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == low:
            return v
    return None


def _walk(obj: Any, parts: list[str]) -> Any:
    for p in parts:
        obj = _get(obj, p)
        if obj is None:
            return None
    return obj


def resolve(doc: Mapping[str, Any], path: str) -> Any:
    """The value(s) at ``path`` in ``doc``, or ``None``."""
    if path.lower().startswith("urn:"):
        urn, _, rest = path.rpartition(":")
        ext = _get(doc, urn)
        return _walk(ext, rest.split(".")) if ext is not None else None
    parts = path.split(".")
    found = _walk(doc, parts)
    if found is None:
        found = _walk(_get(doc, ENTERPRISE), parts)
    return found
