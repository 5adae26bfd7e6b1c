"""SCIM PATCH (RFC 7644 §3.5.2) on a stored resource document, and POST/PUT canonicalization.

Group ``members`` never live in the document (a group can have tens of thousands): every
operation on them becomes a :class:`MemberChanges` for the caller to apply to ``group_members``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from propylon.directory.query import And, Compare, Filter, Or
from propylon.directory.schema import AttrDef, ResourceType, canonical_schema, core_schema
from propylon.scim.errors import InvalidSyntax, InvalidValue, Mutability, NoTarget
from propylon.scim.filter import DEFAULT_LIMITS, FilterLimits
from propylon.scim.paths import (
    PatchPath,
    canonicalize,
    canonicalize_group,
    coerce_single,
    coerce_value,
    eq_template,
    find_key,
    matches,
    member_ids,
    parse_path,
    sync_schemas,
)

__all__ = [
    "MemberChanges",
    "PatchResult",
    "apply_patch",
    "canonicalize",
    "canonicalize_group",
]

_OPS = ("add", "remove", "replace")


class MemberChanges:
    """Membership edits, to apply in this order: if ``replace`` is not None the membership
    becomes exactly ``replace``; otherwise remove everything when ``remove_all``, then the
    ``remove`` ids, then add the ``add`` ids.

    Kept in insertion-ordered dicts, so each operation costs in proportion to the ids it
    names, whatever the edits before it: a PATCH of 20,000 members (or of 20,000 operations)
    stays linear."""

    def __init__(self) -> None:
        self._add: dict[str, None] = {}
        self._remove: dict[str, None] = {}
        self._replace: dict[str, None] | None = None
        self.remove_all = False

    @property
    def add(self) -> list[str]:
        return list(self._add)

    @property
    def remove(self) -> list[str]:
        return list(self._remove)

    @property
    def replace(self) -> list[str] | None:
        return None if self._replace is None else list(self._replace)

    def do_add(self, ids: list[str]) -> None:
        target = self._replace if self._replace is not None else self._add
        target.update(dict.fromkeys(ids))  # ids already there keep their place
        for i in ids:
            self._remove.pop(i, None)

    def do_remove(self, ids: list[str]) -> None:
        if self._replace is not None:
            for i in ids:
                self._replace.pop(i, None)
            return
        for i in ids:
            self._add.pop(i, None)
        self._remove.update(dict.fromkeys(ids))

    def do_remove_all(self) -> None:
        self._add, self._remove, self._replace, self.remove_all = {}, {}, None, True

    def do_replace(self, ids: list[str]) -> None:
        self._add, self._remove, self.remove_all = {}, {}, False
        self._replace = dict.fromkeys(ids)


@dataclass
class PatchResult:
    doc: dict[str, Any]
    members: MemberChanges | None = None


def apply_patch(
    doc: dict[str, Any],
    operations: list[dict[str, Any]],
    resource_type: ResourceType,
    limits: FilterLimits = DEFAULT_LIMITS,
) -> PatchResult:
    """Apply PatchOp ``Operations`` (RFC 7644 §3.5.2) to a copy of ``doc``; the value
    filters of paths are bounded by ``limits``."""
    out = copy.deepcopy(doc)
    members = MemberChanges() if resource_type == "Group" else None
    patcher = _Patcher(out, resource_type, members, limits)
    if not isinstance(operations, list):
        raise InvalidSyntax("Operations must be a list (RFC 7644 §3.5.2)")
    for operation in operations:
        if not isinstance(operation, dict):
            raise InvalidSyntax("each PATCH operation must be an object")
        patcher.operation(operation)
    sync_schemas(out, resource_type)
    return PatchResult(out, members)


class _Patcher:
    def __init__(
        self,
        doc: dict[str, Any],
        rt: ResourceType,
        members: MemberChanges | None,
        limits: FilterLimits,
    ):
        self.doc, self.rt, self.members, self.limits = doc, rt, members, limits

    def operation(self, operation: dict[str, Any]) -> None:
        op_key, path_key = find_key(operation, "op"), find_key(operation, "path")
        value_key = find_key(operation, "value")
        op = operation.get(op_key) if op_key else None
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise InvalidSyntax(f"PATCH op must be add, remove or replace, got {op!r}")
        op = op.lower()
        path = operation.get(path_key) if path_key else None
        value = operation.get(value_key) if value_key else None
        if path is not None and not isinstance(path, str):
            raise InvalidSyntax("PATCH path must be a string")
        if not path:
            if op == "remove":
                raise NoTarget('"path" is required for remove (RFC 7644 §3.5.2.2)')
            if not isinstance(value, dict):
                raise InvalidValue(f"{op} without a path needs an object value (RFC 7644 §3.5.2)")
            self.pathless(op, value)
            return
        if op != "remove" and value_key is None:
            raise InvalidValue(f'{op} needs a "value" (RFC 7644 §3.5.2.1)')
        self.apply(op, parse_path(path, self.rt, self.limits), value)

    def pathless(self, op: str, value: dict[str, Any]) -> None:
        """RFC 7644 §3.5.2.1/§3.5.2.3: each key of ``value`` is a target (dotted and
        URN-prefixed keys included, and the URN key of an extension with a nested object)."""
        for key, item in value.items():
            # Okta's group rename repeats "id" in the value; read-only values given with a
            # resource are ignored, as on PUT (RFC 7644 §3.5.1). An explicit path still fails.
            if key.lower() in ("schemas", "id", "meta"):
                continue
            urn = canonical_schema(self.rt, key)
            if urn == core_schema(self.rt) and isinstance(item, dict):
                self.pathless(op, item)
            elif urn is None and key.lower().startswith("urn:") and isinstance(item, dict):
                found = find_key(self.doc, key)
                target = self.doc.get(found) if found else None
                merged = {**target, **item} if isinstance(target, dict) else dict(item)
                self.doc[found or key] = merged
            else:
                self.apply(op, parse_path(key, self.rt, self.limits), item)

    def apply(self, op: str, path: PatchPath, value: Any) -> None:
        if path.name is None:  # a whole extension: its attributes one by one
            assert path.schema is not None
            if op == "remove":
                found = find_key(self.doc, path.schema)
                if found is not None:
                    del self.doc[found]
                return
            if not isinstance(value, dict):
                raise InvalidValue(f"{path.schema} takes an object value")
            for key, item in value.items():
                if key.lower() == "schemas":  # a serialized extension object names itself
                    continue
                self.apply(op, parse_path(f"{path.schema}:{key}", self.rt, self.limits), item)
            return
        attr = path.attr
        if self.members is not None and attr is not None and attr.name == "members":
            self.member_op(op, path, value)
            return
        for checked in (attr, path.sub_attr):
            if checked is not None and checked.mutability == "readOnly":
                raise Mutability(f"{checked.name} is readOnly (RFC 7643 §2.2)")
        container = self.container(path.schema, create=op != "remove")
        if container is None:
            return
        key = attr.name if attr is not None else path.name
        key = find_key(container, key) or key
        existing = container.get(key)
        if (
            attr is not None
            and attr.mutability == "immutable"
            and existing is not None
            and (op != "add" or existing != coerce_value(attr, value))
        ):
            raise Mutability(f"{attr.name} is immutable (RFC 7643 §2.2)")
        if path.filter is not None:
            assert attr is not None
            self.filtered(container, key, attr, path, op, value)
        elif path.sub is not None:
            self.sub_op(container, key, attr, path, op, value)
        else:
            self.whole(container, key, attr, op, value)

    def container(self, schema: str | None, *, create: bool) -> dict[str, Any] | None:
        if schema is None:
            return self.doc
        found = find_key(self.doc, schema)
        ext = self.doc.get(found) if found else None
        if not isinstance(ext, dict):
            if not create:
                return None
            ext = {}
            self.doc[found or schema] = ext
        return ext

    def whole(
        self, box: dict[str, Any], key: str, attr: AttrDef | None, op: str, value: Any
    ) -> None:
        multi = attr.multi_valued if attr is not None else isinstance(box.get(key), list)
        if op == "remove":
            if value is not None and multi and isinstance(box.get(key), list):
                drop = coerce_value(attr, value) if attr else value
                drop = drop if isinstance(drop, list) else [drop]
                box[key] = [e for e in box[key] if not any(_same(e, d) for d in drop)]
                if box[key]:
                    return
            box.pop(key, None)
            return
        if value is None:  # null is "unassigned" (RFC 7643 §2.5)
            box.pop(key, None)
            return
        new = coerce_value(attr, value) if attr is not None else value
        old = box.get(key)
        if multi and isinstance(new, list):
            if op == "add" and isinstance(old, list):
                added = [e for e in new if not any(_same(e, o) for o in old)]
                box[key] = old + added
                _one_primary(box[key], added)
            else:
                box[key] = new
                _one_primary(new, new[-1:] if sum(_is_primary(e) for e in new) > 1 else [])
        elif isinstance(new, dict) and isinstance(old, dict):
            old.update(new)  # complex: listed sub-attributes replaced, others kept (§3.5.2.3)
        else:
            box[key] = new

    def sub_op(
        self,
        box: dict[str, Any],
        key: str,
        attr: AttrDef | None,
        path: PatchPath,
        op: str,
        value: Any,
    ) -> None:
        assert path.sub is not None
        new = coerce_value(path.sub_attr, value) if path.sub_attr is not None else value
        current = box.get(key)
        if isinstance(current, list) or (attr is not None and attr.multi_valued):
            elements = current if isinstance(current, list) else []
            if not elements and op != "remove" and new is not None:
                box[key] = [{path.sub: new}]
                return
            targets = [e for e in elements if isinstance(e, dict)]
        else:
            if not isinstance(current, dict):
                if op == "remove" or new is None:
                    return
                current = box[key] = {}
            targets = [current]
        for element in targets:
            _set_sub(element, path.sub, None if op == "remove" else new)
        if isinstance(box.get(key), dict) and not box[key]:
            del box[key]

    def filtered(
        self, box: dict[str, Any], key: str, attr: AttrDef, path: PatchPath, op: str, value: Any
    ) -> None:
        assert path.filter is not None
        elements = box.get(key) if isinstance(box.get(key), list) else []
        assert isinstance(elements, list)
        hits = [e for e in elements if isinstance(e, dict) and matches(e, path.filter)]
        if op == "remove":
            if path.sub is not None:
                for element in hits:
                    _set_sub(element, path.sub, None)
            else:
                elements = [e for e in elements if not any(e is h for h in hits)]
            if elements:
                box[key] = elements
            else:
                box.pop(key, None)
            return
        if not hits:
            template = eq_template(path.filter)
            if template is None:
                raise NoTarget(f"no value of {attr.name} matches the filter (RFC 7644 §3.5.2)")
            hits = [dict(template)]
            elements = [*elements, hits[0]]
        for element in hits:
            if path.sub is not None:
                sub_attr = path.sub_attr
                _set_sub(element, path.sub, coerce_value(sub_attr, value) if sub_attr else value)
            elif isinstance(value, dict):
                element.update(coerce_single(attr, value))
            else:
                raise InvalidValue(f"a selected value of {attr.name} takes an object")
        box[key] = elements
        _one_primary(elements, hits)

    def member_op(self, op: str, path: PatchPath, value: Any) -> None:
        assert self.members is not None
        if path.sub is not None:
            raise NoTarget("members sub-attributes cannot be patched; use members[value eq ...]")
        if path.filter is not None:
            if op != "remove":
                raise NoTarget(f"{op} on members[...] is not supported; add the member value")
            self.members.do_remove(_member_filter_ids(path.filter))
        elif op == "remove":
            if value is None:
                self.members.do_remove_all()
            else:
                self.members.do_remove(member_ids(value))
        elif op == "add":
            self.members.do_add(member_ids(value))
        else:
            self.members.do_replace(member_ids(value) if value is not None else [])


def _set_sub(element: dict[str, Any], sub: str, value: Any) -> None:
    found = find_key(element, sub)
    if value is None:
        if found is not None:
            del element[found]
    else:
        element[found or sub] = value


def _is_primary(element: Any) -> bool:
    return isinstance(element, dict) and element.get("primary") is True


def _one_primary(elements: list[Any], touched: list[Any]) -> None:
    """RFC 7643 §2.4: "primary" true appears at most once; the value just set wins."""
    winners = [e for e in touched if _is_primary(e)]
    if winners:
        for element in elements:
            if _is_primary(element) and element is not winners[-1]:
                element["primary"] = False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict) and set(b) == {"value"}:
        return bool(a.get("value") == b["value"])
    return bool(a == b)


def _member_filter_ids(f: Filter) -> list[str]:
    """``members[value eq "a"]`` (or an ``or`` of them; RFC 7644 §3.5.2.2) → ids."""
    out: list[str] = []
    _collect_member_ids(f, out)
    return out


def _collect_member_ids(f: Filter, out: list[str]) -> None:
    """Append the ids of ``f`` to ``out`` (one pass, however long the ``or`` chain)."""
    if isinstance(f, Or):
        _collect_member_ids(f.left, out)
        _collect_member_ids(f.right, out)
        return
    if isinstance(f, And):  # e.g. value eq "x" and type eq "User": the value decides
        ids = [i for side in (f.left, f.right) for i in _member_filter_ids_opt(side)]
        if ids:
            out.extend(ids)
            return
    if isinstance(f, Compare) and f.op == "eq" and f.path.sub == "value":
        out.append(str(f.value))
        return
    raise NoTarget('only members[value eq "..."] filters can remove members')


def _member_filter_ids_opt(f: Filter) -> list[str]:
    try:
        return _member_filter_ids(f)
    except NoTarget:
        return []
