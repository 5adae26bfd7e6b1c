"""Compile the neutral filter AST into SQLAlchemy boolean expressions (SQLite and PostgreSQL).

Filters run in SQL. Mirrored hot attributes use their columns; everything else is read from
``users.doc`` / ``groups.doc`` with the JSON functions of the backend (SQLite ``json_extract`` /
``json_type`` / ``json_each``; PostgreSQL ``jsonb_extract_path`` / ``jsonb_typeof`` /
``jsonb_array_elements``). Multi-valued attributes match when any value matches (RFC 7644
§3.4.2.2), as ``EXISTS`` over the array elements, or over ``group_members`` for ``groups`` and
``members``.

Semantics shared by both backends:

- Every leaf is two-valued (never SQL NULL), so ``not (...)`` behaves as in RFC 7644 §3.4.2.2.
- ``ne`` is ``not eq``: true when the attribute is absent; for a multi-valued attribute, true
  when no value equals. ``eq null`` means "not present", ``ne null`` "present".
- ``pr`` is present, non-null and non-empty ("" / [] / {} are absent, RFC 7643 §2.5).
- ``caseExact: false`` compares ``lower()`` of both sides (RFC 7643 §2.2); LIKE is
  case-sensitive on both backends (``PRAGMA case_sensitive_like=ON`` on SQLite), with ``%``,
  ``_`` and the escape character escaped. Ordering of strings is bytewise (``COLLATE "C"`` on
  PostgreSQL, SQLite's BINARY), dateTime columns compare as timestamps.

Every value becomes a named bind parameter, so the SQL follows from the filter's shape alone
(see :mod:`propylon.directory.compiled`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any
from typing import cast as tcast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Numeric,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy import bindparam as sql_bindparam
from sqlalchemy.orm import aliased

from propylon.db.tables import Group, GroupMember, User
from propylon.directory.columns import GROUP_COLUMNS, USER_COLUMNS, Col, key
from propylon.directory.compiled import Compiled, shape
from propylon.directory.errors import InvalidQuery
from propylon.directory.json_sql import (
    TYPE_NAMES,
    Js,
    elements,
    json_text,
    json_type,
)
from propylon.directory.query import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
    parse_datetime,
)
from propylon.directory.schema import AttrDef, ResourceType, core_schema, lookup

Bool = ColumnElement[bool]


_Source = Col | Js
_Scope = Callable[[str | None], _Source]
_Make = Callable[[_Source, AttrDef], Bool]

_ORDERING: Mapping[str, Callable[[Any, Any], Any]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_STRINGS = frozenset({"string", "reference", "binary", "dateTime"})
_ESCAPE = "/"  # LIKE escape character
_GroupAlias = aliased(Group, name="member_group")
_UserAlias = aliased(User, name="member_user")


class _Compiler:
    def __init__(self, resource_type: ResourceType, dialect: str) -> None:
        if dialect not in TYPE_NAMES:
            raise ValueError(f"unsupported dialect {dialect!r}")
        self.rt: ResourceType = resource_type
        self.dialect = dialect
        self.types = TYPE_NAMES[dialect]
        self.doc: ColumnElement[Any] = (User if resource_type == "User" else Group).doc.expression
        self.columns = USER_COLUMNS if resource_type == "User" else GROUP_COLUMNS
        self.relationship = "groups" if resource_type == "User" else "members"
        self.params: dict[str, Any] = {}

    def _bind(self, value: Any, like: ColumnElement[Any]) -> BindParameter[Any]:
        """A filter value as the next named parameter, typed like the expression it meets
        (its bind processing applies, e.g. UTC datetimes on SQLite)."""
        name = f"filter_{len(self.params)}"
        self.params[name] = value
        return sql_bindparam(name, value, type_=None if like.type._isnull else like.type)

    # ---- the tree
    def compile(self, f: Filter, scope: _Scope | None = None) -> Bool:
        if isinstance(f, And):
            return and_(self.compile(f.left, scope), self.compile(f.right, scope))
        if isinstance(f, Or):
            return or_(self.compile(f.left, scope), self.compile(f.right, scope))
        if isinstance(f, Not):
            return not_(self.compile(f.inner, scope))
        if isinstance(f, Compare):
            if f.op == "ne":
                return not_(self.compile(Compare(f.path, "eq", f.value), scope))
            op, value = f.op, f.value
            return self._at(f.path, lambda s, a: self._compare(s, a, op, value), scope, False)
        if isinstance(f, Present):
            return self._at(f.path, self._present, scope, True)
        if isinstance(f, ValuePath):
            inner = f.filter
            return self._elements(f.path, lambda sc: self.compile(inner, sc))
        raise InvalidQuery(f"unsupported filter node {f!r}")

    def _defs(self, path: AttrPath) -> tuple[AttrDef, AttrDef]:
        top = lookup(self.rt, path.schema, path.name)
        leaf = top.sub(path.sub) if top is not None and path.sub else top
        if top is None or leaf is None:
            raise InvalidQuery(f"unknown attribute {path}")
        return top, leaf

    def _at(self, path: AttrPath, make: _Make, scope: _Scope | None, presence: bool) -> Bool:
        top, leaf = self._defs(path)
        if scope is not None:
            return make(scope(path.sub), leaf)
        if top.name == self.relationship and top.schema == core_schema(self.rt):
            sub = path.sub
            return self._elements(path, lambda sc: make(sc(sub), leaf) if sub else true())
        column = self.columns.get(key(path.schema, path.name, path.sub))
        if column is not None:
            return make(column, leaf)
        if top.name == "meta":
            if path.sub == "resourceType":
                return make(Col(literal_column(f"'{self.rt}'", Text)), leaf)
            raise InvalidQuery(f"{path} cannot be filtered on")
        if top.multi_valued and not (presence and path.sub is None):
            sub_ = path.sub
            return self._elements(path, lambda sc: make(sc(sub_), leaf))
        return make(self._doc_value(top, path.sub), leaf)

    def _doc_keys(self, top: AttrDef) -> tuple[str, ...]:
        return (top.name,) if top.schema == core_schema(self.rt) else (top.schema, top.name)

    def _doc_value(self, top: AttrDef, sub: str | None) -> Js:
        return Js(self.doc, self._doc_keys(top) + ((sub,) if sub else ()))

    # ---- multi-valued: EXISTS over JSON array elements or over group_members
    def _elements(self, path: AttrPath, body: Callable[[_Scope], Bool]) -> Bool:
        top, _ = self._defs(path)
        if top.name == self.relationship and top.schema == core_schema(self.rt):
            return self._membership(body)
        each = elements(self.doc, self._doc_keys(top), self.dialect)
        return exists(select(1).select_from(each.table).where(each.guard, body(each.scope)))

    def _membership(self, body: Callable[[_Scope], Bool]) -> Bool:
        """``groups`` of a user / ``members`` of a group, as EXISTS over ``group_members``."""
        gm = GroupMember
        if self.rt == "User":
            cols = {
                "value": Col(gm.group_id.expression),
                "display": Col(Group.display_name_ci.expression, prelowered=True),
            }
            stmt = (
                select(1)
                .select_from(gm)
                .join(Group, Group.id == gm.group_id)
                .where(gm.member_id == User.id, Group.deleted_at.is_(None))
            )
        else:
            display = func.coalesce(
                func.lower(_UserAlias.display_name), _GroupAlias.display_name_ci
            )
            cols = {
                "value": Col(gm.member_id.expression),
                "type": Col(gm.member_type.expression),
                "display": Col(display, prelowered=True),
            }
            stmt = (
                select(1)
                .select_from(gm)
                .outerjoin(_UserAlias, _UserAlias.id == gm.member_id)
                .outerjoin(_GroupAlias, _GroupAlias.id == gm.member_id)
                .where(gm.group_id == Group.id)
                .correlate(Group)
            )

        def scope(sub: str | None) -> _Source:
            if sub is None or sub.lower() not in cols:
                raise InvalidQuery(f"{self.relationship}.{sub} cannot be filtered on")
            return cols[sub.lower()]

        return exists(stmt.where(body(scope)))

    # ---- JSON access
    def _is(self, v: Js, kind: str) -> Bool:
        return json_type(v, self.dialect).in_(self.types[kind])

    def _typed(self, v: Js, attr: AttrDef) -> ColumnElement[Any]:
        """The SQL value of a JSON leaf when it has the attribute's JSON type, else NULL."""
        if attr.type == "boolean":
            text = (
                json_type(v, self.dialect)
                if self.dialect == "sqlite"
                else json_text(v, self.dialect)
            )
            return case((self._is(v, "boolean"), text))
        if attr.type in ("integer", "decimal"):
            return case((self._is(v, "number"), cast(json_text(v, self.dialect), Numeric)))
        return case((self._is(v, "string"), json_text(v, self.dialect)))

    # ---- leaves
    def _present(self, src: _Source, attr: AttrDef) -> Bool:
        if isinstance(src, Col):
            expr = src.expr
            if attr.type in _STRINGS - {"dateTime"}:
                return and_(expr.is_not(None), expr != "")
            return expr.is_not(None)
        t, text = json_type(src, self.dialect), json_text(src, self.dialect)
        nonempty = or_(
            self._is(src, "boolean"),
            self._is(src, "number"),
            and_(self._is(src, "string"), text != ""),
            and_(self._is(src, "array"), text != "[]"),
            and_(self._is(src, "object"), text != "{}"),
        )
        return and_(t.is_not(None), nonempty)

    def _compare(self, src: _Source, attr: AttrDef, op: str, value: Any) -> Bool:
        if value is None:  # eq null: unassigned (RFC 7643 §2.5); ne null was rewritten as not
            return not_(self._present(src, attr))
        if isinstance(src, Col):
            expr = src.expr
            if attr.type == "dateTime":
                value = parse_datetime(str(value))
            elif attr.type in _STRINGS and not attr.case_exact:
                value = str(value).lower()
                expr = expr if src.prelowered else func.lower(expr)
        else:
            expr = self._typed(src, attr)
            if attr.type == "boolean":
                value = "true" if value else "false"
            elif attr.type in _STRINGS and not attr.case_exact:
                value, expr = str(value).lower(), func.lower(expr)
        return and_(expr.is_not(None), self._op(expr, attr, op, value))

    def _op(self, expr: ColumnElement[Any], attr: AttrDef, op: str, value: Any) -> Bool:
        if op == "eq":
            return expr == self._bind(value, expr)
        if op in ("co", "sw", "ew"):
            if attr.type not in _STRINGS:
                raise InvalidQuery(f"{op} applies to strings only")
            text = str(value)
            for special in (_ESCAPE, "%", "_"):
                text = text.replace(special, _ESCAPE + special)
            pattern = f"%{text}%" if op == "co" else f"{text}%" if op == "sw" else f"%{text}"
            return expr.like(self._bind(pattern, expr), escape=_ESCAPE)
        if attr.type == "boolean":
            raise InvalidQuery(f"{op} cannot compare booleans (RFC 7644 §3.4.2.2)")
        if self.dialect == "postgresql" and attr.type in _STRINGS - {"dateTime"}:
            expr = expr.collate("C")
        if op not in _ORDERING:
            raise InvalidQuery(f"unknown operator {op!r}")
        return tcast(Bool, _ORDERING[op](expr, self._bind(value, expr)))

    # ---- sorting (RFC 7644 §3.4.2.3)
    def sort_key(self, path: AttrPath) -> ColumnElement[Any]:
        top, leaf = self._defs(path)
        if top.name == self.relationship or leaf.is_complex:
            raise InvalidQuery(f"cannot sort by {path}")
        column = self.columns.get(key(path.schema, path.name, path.sub))
        if column is not None:
            expr = column.expr
        elif top.multi_valued:
            expr = self._primary_value(top, path.sub)
        else:
            expr = self._typed(self._doc_value(top, path.sub), leaf)
        if leaf.type in _STRINGS - {"dateTime"}:
            if not leaf.case_exact and not (column is not None and column.prelowered):
                expr = func.lower(expr)
            if self.dialect == "postgresql":
                expr = expr.collate("C")
        return expr

    def _primary_value(self, top: AttrDef, sub: str | None) -> ColumnElement[Any]:
        """The value of the primary element, else of the first one (RFC 7644 §3.4.2.3)."""
        value_def = top.sub(sub) if sub else top
        assert value_def is not None
        each = elements(self.doc, self._doc_keys(top), self.dialect)
        order: list[Any] = [each.order]
        if top.sub("primary") is not None:
            flag = self._typed(Js(each.value, ("primary",)), top.sub_attributes["primary"])
            order.insert(0, case((flag == "true", 0), else_=1))
        stmt = select(self._typed(each.scope(sub), value_def)).select_from(each.table)
        return stmt.where(each.guard).order_by(*order).limit(1).scalar_subquery()


def user_filter(f: Filter, dialect: str) -> Compiled:
    """SQL for a filter over ``users`` (tenant and ``deleted_at`` predicates are the caller's)."""
    return _compiled(f, "User", dialect)


def group_filter(f: Filter, dialect: str) -> Compiled:
    """SQL for a filter over ``groups`` (tenant and ``deleted_at`` predicates are the caller's)."""
    return _compiled(f, "Group", dialect)


def _compiled(f: Filter, resource_type: ResourceType, dialect: str) -> Compiled:
    compiler = _Compiler(resource_type, dialect)
    expr = compiler.compile(f)
    return Compiled(expr, ("filter", resource_type, dialect, shape(f)), compiler.params)


def user_sort_key(path: AttrPath, dialect: str) -> Compiled:
    """An ORDER BY expression for ``sortBy`` on users; combine with ``nulls_last()`` and ``id``."""
    return Compiled(_Compiler("User", dialect).sort_key(path), ("sort", "User", dialect, path))


def group_sort_key(path: AttrPath, dialect: str) -> Compiled:
    """An ORDER BY expression for ``sortBy`` on groups; combine with ``nulls_last()`` and ``id``."""
    return Compiled(_Compiler("Group", dialect).sort_key(path), ("sort", "Group", dialect, path))
