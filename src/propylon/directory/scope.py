"""Unit-of-work helpers shared by users and groups: scoping, seats, locking."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Tenant, User
from propylon.directory.errors import SeatLimitReached
from propylon.tenants.directories import DirectoryScope

__all__ = ["DirectoryScope", "ensure_seat_available", "lock_tenant", "page"]

T = TypeVar("T")


async def lock_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    """Take the tenant row's write lock (PostgreSQL ``FOR UPDATE``; SQLite write transactions
    are already serialized by ``BEGIN IMMEDIATE``)."""
    tenant = await session.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())
    assert tenant is not None, "scope names a tenant that does not exist"
    return tenant


async def ensure_seat_available(session: AsyncSession, tenant_id: str) -> None:
    """Refuse to activate one more user when every licence seat is taken."""
    tenant = await lock_tenant(session, tenant_id)
    if tenant.seats is None:
        return
    used = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.tenant_id == tenant_id, User.active.is_(True), User.deleted_at.is_(None))
    )
    if int(used or 0) >= tenant.seats:
        raise SeatLimitReached(
            f"licence seat limit reached: all {tenant.seats} seats of this organization are "
            "in use; deactivate a user or raise the limit"
        )


async def page(
    session: AsyncSession,
    base: Select[T],
    *,
    where: ColumnElement[bool] | None,
    order_by: ColumnElement[Any] | None,
    descending: bool,
    offset: int,
    limit: int,
    tiebreak: list[Any],
) -> tuple[int, list[T]]:
    """Count and fetch one page: sort key first (absent values last), then a stable tiebreak
    so ``startIndex`` paging never skips or repeats a row."""
    if where is not None:
        base = base.where(where)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    if limit <= 0:
        return int(total or 0), []
    ordering: list[Any] = []
    if order_by is not None:
        ordering.append((order_by.desc() if descending else order_by.asc()).nulls_last())
    rows = await session.scalars(base.order_by(*ordering, *tiebreak).offset(offset).limit(limit))
    return int(total or 0), list(rows.all())
