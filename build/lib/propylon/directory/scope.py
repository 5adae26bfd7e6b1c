"""Unit-of-work helpers shared by users and groups: scoping, seats, locking."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ColumnCollection

from propylon.db.tables import Group, Tenant, User
from propylon.directory.compiled import Compiled
from propylon.directory.errors import NotFound, SeatLimitReached

__all__ = [
    "DirectoryScope",
    "ensure_seat_available",
    "for_change",
    "lock_tenant",
    "one",
    "page",
    "scope_params",
    "scoped",
]


@dataclass(frozen=True)
class DirectoryScope:
    """Where a directory change happens: one directory of one tenant (a SCIM token's scope),
    or ``directory_id=None`` for users created at sign-in (JIT), who belong to no directory."""

    tenant_id: str
    directory_id: str | None
    token_id: str | None
    seats: int | None = None
    """The tenant's seat limit as read at authentication (``None``: unlimited)."""


async def lock_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    """Take the tenant row's write lock (PostgreSQL ``FOR UPDATE``; SQLite write transactions
    are already serialized by ``BEGIN IMMEDIATE``)."""
    tenant = await session.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
    assert tenant is not None, "scope names a tenant that does not exist"
    return tenant


async def ensure_seat_available(session: AsyncSession, scope: DirectoryScope) -> None:
    """Refuse to activate one more user when every licence seat is taken.

    Unlimited tenants cost nothing here; limited ones lock the tenant row, so two concurrent
    activations cannot both take the last seat.
    """
    if scope.seats is None:
        return
    tenant = await lock_tenant(session, scope.tenant_id)
    if tenant.seats is None:
        return
    used = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.tenant_id == scope.tenant_id, User.active.is_(True), User.deleted_at.is_(None))
    )
    if int(used or 0) >= tenant.seats:
        raise SeatLimitReached(
            f"licence seat limit reached: all {tenant.seats} seats of this organization are "
            "in use; deactivate a user or raise the limit"
        )


Decorate = Callable[[ColumnCollection[str, Any]], list[ColumnElement[Any]]]


async def page(
    session: AsyncSession,
    base: Select[Any],
    *,
    where: Compiled | None,
    order_by: Compiled | None,
    descending: bool,
    offset: int,
    limit: int,
    tiebreak: list[Any],
    params: dict[str, Any],
    decorate: Decorate | None = None,
) -> tuple[int, list[Any]]:
    """Count and fetch one page: sort key first (absent values last), then a stable tiebreak
    so ``startIndex`` paging never skips or repeats a row. ``params`` bind the prebuilt
    ``base`` statement's parameters (see :func:`scoped`).

    The total costs a second statement only when the page does not already tell it: a first
    page shorter than ``limit`` (any lookup by ``userName``, say) is the whole result, so one
    round trip. A window ``count(*) over ()`` would save that statement on long listings but
    makes PostgreSQL read and sort every matching row for every page; a plain count is
    cheaper.

    The statements are built once per shape of filter and sort (see
    :class:`propylon.directory.search.Compiled`) and reused with new parameters, ``OFFSET`` and
    ``LIMIT`` included: building them, and SQLAlchemy keying a new statement for its compiled
    cache, cost more than the query itself on a lookup by userName.
    """
    first = offset == 0
    # ``base`` (a prebuilt statement, see :func:`scoped`) also stands for its ``tiebreak``.
    key = (base, where and where.shape, order_by and order_by.shape, descending, first, decorate)
    statements = _REUSED.get(key)
    if statements is None:
        statements = _statements(base, where, order_by, descending, first, tiebreak, decorate)
        _REUSED[key] = statements
        if len(_REUSED) > _REUSED_MAX:
            del _REUSED[next(iter(_REUSED))]
    query, counted = statements
    values = {**params, **(where.params if where else {}), **(order_by.params if order_by else {})}
    values |= {"page_offset": offset, "page_limit": limit}
    conn = await session.connection()
    rows: list[Any] = []
    if limit > 0:
        rows = list((await conn.execute(query, values)).all())
        if first and len(rows) < limit:
            return len(rows), rows
    return int((await conn.execute(counted, values)).scalar() or 0), rows


_REUSED: dict[Hashable, tuple[Select[Any], Select[Any]]] = {}
_REUSED_MAX = 512  # shapes come from IdP input: bounded, the oldest goes first


def _statements(
    base: Select[Any],
    where: Compiled | None,
    order_by: Compiled | None,
    descending: bool,
    first: bool,
    tiebreak: list[Any],
    decorate: Decorate | None,
) -> tuple[Select[Any], Select[Any]]:
    """The page query and the count of one shape. ``decorate`` adds columns computed from the
    page's rows (e.g. a user's groups), evaluated for those rows only. On a first page they
    sit in the select list itself: ``LIMIT`` stops their evaluation at the page (PostgreSQL
    postpones costly select-list expressions past the sort when there is a limit; SQLite's
    top-N sorter evaluates them for candidate rows only). ``OFFSET`` rows would be evaluated
    too, so a later page computes them in an outer query over the page's subquery."""
    if where is not None:
        base = base.where(where.expr)
    counted = select(func.count()).select_from(base.subquery())
    sort = None
    ordering: list[Any] = []
    if order_by is not None:
        sort = order_by.expr.label("_sort")
        base = base.add_columns(sort)
        expr = order_by.expr
        ordering.append((expr.desc() if descending else expr.asc()).nulls_last())
    selected = base
    if decorate is not None and first:
        selected = base.add_columns(*decorate(base.selected_columns))
    query = selected.order_by(*ordering, *tiebreak)
    query = query.offset(bindparam("page_offset")).limit(bindparam("page_limit"))
    if decorate is not None and not first:
        rows_of_page = query.subquery("page")
        outer: list[Any] = []
        if sort is not None:
            key = rows_of_page.c["_sort"]
            outer.append((key.desc() if descending else key.asc()).nulls_last())
        outer += [rows_of_page.c[column.key] for column in tiebreak]
        query = select(rows_of_page, *decorate(rows_of_page.c)).order_by(*outer)
    return query, counted


def scope_params(scope: DirectoryScope) -> dict[str, Any]:
    """Bind values of the statements built by :func:`scoped`."""
    return {"scope_tenant": scope.tenant_id, "scope_directory": scope.directory_id}


def scoped(table: Table) -> Select[Any]:
    """Core ``SELECT`` of one directory's live rows, built once per table with bind
    parameters. Reads return plain rows (attribute access by column name): the ORM's
    identity map and instance loading cost more than the query on the hot path."""
    return select(table).where(
        table.c.tenant_id == bindparam("scope_tenant"),
        table.c.directory_id == bindparam("scope_directory"),
        table.c.deleted_at.is_(None),
    )


def for_change(model: type[User] | type[Group]) -> Select[Any]:
    """ORM ``SELECT`` of one live row of a directory (bind ``rid`` and :func:`scope_params`)
    to change it, locked until the unit of work ends: two concurrent changes of one resource
    apply one after the other, and the second sees the first (PostgreSQL re-reads a row it
    waited for; SQLite serializes writers anyway), so neither is lost."""
    return (
        select(model)
        .where(
            model.tenant_id == bindparam("scope_tenant"),
            model.directory_id == bindparam("scope_directory"),
            model.deleted_at.is_(None),
            model.id == bindparam("rid"),
        )
        .with_for_update(of=model)
    )


async def one(
    session: AsyncSession,
    stmt: Select[Any],
    scope: DirectoryScope,
    rid: str,
    kind: str,
    *,
    rows: bool,
) -> Any:
    """The resource ``rid`` of the scope by a prebuilt statement: an ORM instance to change, or
    (``rows=True``) a read-only row. Another directory's id is simply not found."""
    params = {**scope_params(scope), "rid": rid}
    if rows:
        found = (await (await session.connection()).execute(stmt, params)).first()
    else:
        found = await session.scalar(stmt, params)
    if found is None:
        raise NotFound(f"no {kind} {rid!r}")
    return found
