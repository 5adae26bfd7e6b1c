"""The set-based statements of membership edits, built once per dialect.

A group edit can name tens of thousands of members (Entra ID and Okta push such groups), so
every statement here takes a whole chunk of ids and finds each through an index: the primary
key of ``users`` / ``groups`` for the lookup, the primary key ``(group_id, member_id)`` of
``group_members`` for the delete. PostgreSQL gets one array parameter per chunk
(``= ANY(:ids)``, ``unnest``): one statement text whatever the chunk's length, so it is
prepared once. SQLite gets an ``IN`` list per chunk (an expanding parameter).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Executable,
    String,
    any_,
    bindparam,
    column,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from propylon.cooperative import slices
from propylon.db.tables import Group, GroupMember, User, core
from propylon.db.types import UTCDateTime

CHUNK = 1000
"""Ids per statement: bounds each statement's parameters and the work between two awaits."""

_MEMBERS = core(GroupMember)
_USERS = core(User)
_GROUPS = core(Group)
_COLUMNS = ["group_id", "member_id", "member_type", "tenant_id", "created_at"]


def _one_of(col: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """``col = ANY(:name)`` (one array parameter) or ``col IN (:name_1, …)``."""
    if dialect == "postgresql":
        return col == any_(bindparam(name, type_=ARRAY(String)))
    return col.in_(bindparam(name, expanding=True))


@dataclass(frozen=True)
class Statements:
    lookup: Executable
    """``(id, type)`` of the live users and groups among ``:ids`` of directory ``:directory``
    of tenant ``:tenant`` (no directory: nothing)."""
    delete: Executable
    """Delete group ``:group``'s memberships of ``:ids``."""
    insert: Executable | None
    """PostgreSQL: insert ``:ids`` with ``:types`` into group ``:group`` in one statement."""


def _build(dialect: str) -> Statements:
    def live(table: Any, kind: str) -> Any:
        # The ids alone pick the rows, through the primary key: the subquery's OFFSET keeps
        # both planners from merging the directory's conditions into it, which would let
        # them walk the directory's listing index instead (and PostgreSQL does, for a table
        # it has no statistics of yet: right after an IdP's first push).
        by_id = (
            select(table.c.id, table.c.tenant_id, table.c.directory_id, table.c.deleted_at)
            .where(_one_of(table.c.id, "ids", dialect))
            .offset(0)
            .subquery()
        )
        return select(by_id.c.id, literal(kind, String).label("type")).where(
            by_id.c.tenant_id == bindparam("tenant"),
            by_id.c.directory_id == bindparam("directory"),
            by_id.c.deleted_at.is_(None),
        )

    lookup = union_all(live(_USERS, "User"), live(_GROUPS, "Group"))
    remove = delete(_MEMBERS).where(
        _MEMBERS.c.group_id == bindparam("group"), _one_of(_MEMBERS.c.member_id, "ids", dialect)
    )
    add = None
    if dialect == "postgresql":
        pairs = (
            func.unnest(
                bindparam("ids", type_=ARRAY(String)), bindparam("types", type_=ARRAY(String))
            )
            .table_valued("m", "t")
            .render_derived()
        )
        values: list[ColumnElement[Any]] = [
            bindparam("group", type_=String),
            column("m"),
            column("t"),
            bindparam("tenant", type_=String),
            bindparam("now", type_=UTCDateTime()),
        ]
        add = insert(_MEMBERS).from_select(_COLUMNS, select(*values).select_from(pairs))
    return Statements(lookup, remove, add)


STATEMENTS = {name: _build(name) for name in ("postgresql", "sqlite")}
"""The statements of each dialect, by ``dialect.name``."""


T = TypeVar("T")


def chunks(items: Sequence[T]) -> AsyncIterator[Sequence[T]]:
    """``items`` a chunk at a time, other requests served between two chunks: the embedded
    mode runs SQLite on the event loop's thread, so a 20,000-member edit would otherwise
    hold up every request of the process for the whole of it."""
    return slices(items, CHUNK)


async def live_members(
    conn: AsyncConnection, tenant_id: str, directory_id: str | None, ids: list[str]
) -> dict[str, str]:
    """``{id: "User" | "Group"}`` for the ids naming a live user or group of the directory."""
    stmt = STATEMENTS[conn.dialect.name].lookup
    scope = {"tenant": tenant_id, "directory": directory_id}
    found: dict[str, str] = {}
    async for chunk in chunks(ids):
        rows = await conn.execute(stmt, {**scope, "ids": list(chunk)})
        found.update((mid, kind) for mid, kind in rows)
    return found


async def delete_members(conn: AsyncConnection, group_id: str, ids: list[str]) -> None:
    """Delete the group's memberships of ``ids``. PostgreSQL: all of them in one statement,
    since its planner may read the group's rows by ``group_id`` and test each against the
    (hashed) array: one pass over the group, where a statement per chunk would make as many
    passes as chunks. SQLite finds each ``(group_id, member_id)`` in the primary key."""
    if not ids:
        return
    stmt = STATEMENTS[conn.dialect.name].delete
    if conn.dialect.name == "postgresql":
        await conn.execute(stmt, {"group": group_id, "ids": ids})
        return
    async for chunk in chunks(ids):
        await conn.execute(stmt, {"group": group_id, "ids": list(chunk)})


async def insert_members(
    conn: AsyncConnection,
    group_id: str,
    tenant_id: str,
    members: list[tuple[str, str]],
    now: datetime,
) -> None:
    """Insert ``(member id, type)`` pairs into the group."""
    stmt = STATEMENTS[conn.dialect.name].insert
    async for chunk in chunks(members):
        if stmt is not None:
            ids, types = [m for m, _ in chunk], [t for _, t in chunk]
            params = {"group": group_id, "tenant": tenant_id, "now": now}
            await conn.execute(stmt, {**params, "ids": ids, "types": types})
        else:
            rows = [
                {"group_id": group_id, "member_id": m, "member_type": t}
                | {"tenant_id": tenant_id, "created_at": now}
                for m, t in chunk
            ]
            await conn.execute(insert(_MEMBERS), rows)
