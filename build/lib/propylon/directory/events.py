"""Domain events through one place: a transactional outbox with a gapless per-tenant sequence.

Events are collected during a unit of work and written by :meth:`Outbox.flush` as its last
statement, in the same transaction as the change. The sequence comes from
``tenants.event_seq``, incremented under the tenant row's write lock, so sequence numbers are
never skipped, duplicated or reordered, and a rolled-back request leaves no event.

Rows a unit of work only inserts (a new user, its audit entry) can ride along: given to
:meth:`Outbox.insert`, they are written by the same statement on PostgreSQL. A unit whose
whole write is that statement then needs no transaction around it (see
:func:`propylon.db.engine.tail_connection`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Executable,
    Insert,
    Select,
    Table,
    bindparam,
    insert,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from propylon.db.engine import tail_connection
from propylon.db.tables import Event, Tenant, core
from propylon.ids import Kind, new_id

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DEACTIVATED = "user.deactivated"
USER_REACTIVATED = "user.reactivated"
USER_DELETED = "user.deleted"
GROUP_CREATED = "group.created"
GROUP_UPDATED = "group.updated"
GROUP_DELETED = "group.deleted"
GROUP_MEMBERSHIP_CHANGED = "group.membership_changed"


@dataclass(frozen=True)
class DomainEvent:
    type: str
    subject_type: str
    subject_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredEvent:
    """An event as written to the outbox (what subscribers receive after commit)."""

    id: str
    tenant_id: str
    seq: int
    type: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]
    created_at: datetime


Subscriber = Callable[[str, list[StoredEvent]], Awaitable[None]]

# Built once: statement construction is a measurable share of a request.
_TENANTS = core(Tenant)
_NEXT_SEQ = (
    update(_TENANTS)
    .where(_TENANTS.c.id == bindparam("tenant"))
    .values(event_seq=_TENANTS.c.event_seq + bindparam("n"))
    .returning(_TENANTS.c.event_seq)
)
_EVENTS = core(Event)
_INSERT = insert(_EVENTS)


@dataclass(frozen=True)
class Row:
    """A row to insert with the unit of work's events. ``conflict`` turns a constraint
    violation of this row into the domain error to raise (None: not this row's)."""

    table: Table
    values: dict[str, Any]
    conflict: Callable[[IntegrityError], Exception | None] | None = None

    @property
    def shape(self) -> tuple[Table, tuple[str, ...]]:
        return self.table, tuple(self.values)


@dataclass
class Outbox:
    """Events of one unit of work for one tenant, and the rows written with them."""

    tenant_id: str
    pending: list[DomainEvent] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    written: list[StoredEvent] = field(default_factory=list)

    def emit(self, event: DomainEvent) -> None:
        self.pending.append(event)

    def insert(self, row: Row) -> None:
        self.rows.append(row)

    async def flush(self, session: AsyncSession, now: datetime) -> list[StoredEvent]:
        """Write the pending rows and events as the unit of work's last statement(s).

        The sequence is taken under the tenant row's lock, which every other write of the
        tenant then waits on until COMMIT; so the lock is taken as late and held as briefly
        as the backend allows. PostgreSQL: one statement, data-modifying CTEs (PostgreSQL
        manual §7.8.4) that insert the rows, bump ``event_seq`` and insert the events.
        SQLite: writers are already serialized by ``BEGIN IMMEDIATE``, and SQLite has no DML
        in CTEs, so one statement per row, then two for the events."""
        if not self.pending and not self.rows:
            return []
        conn = await tail_connection(session)  # Core: no ORM per-call work
        ids = [new_id(Kind.EVENT) for _ in self.pending]
        try:
            if conn.dialect.name == "postgresql":
                last = await self._write_pg(conn, ids, now)
            else:
                last = await self._write_sqlite(conn)
        except IntegrityError as exc:
            for row in self.rows:
                mapped = row.conflict(exc) if row.conflict else None
                if mapped is not None:
                    raise mapped from exc
            raise
        n = len(self.pending)
        stored = [
            StoredEvent(
                eid,
                self.tenant_id,
                last - n + i + 1,
                ev.type,
                ev.subject_type,
                ev.subject_id,
                ev.data,
                now,
            )
            for i, (eid, ev) in enumerate(zip(ids, self.pending, strict=True))
        ]
        if stored and conn.dialect.name != "postgresql":
            await conn.execute(_INSERT, [{**r.__dict__, "delivered_at": None} for r in stored])
        self.written.extend(stored)
        self.pending.clear()
        self.rows.clear()
        return stored

    async def _write_pg(self, conn: AsyncConnection, ids: list[str], now: datetime) -> int:
        params: dict[str, Any] = {"tenant": self.tenant_id, "now": now}
        for i, (eid, ev) in enumerate(zip(ids, self.pending, strict=True)):
            params |= {f"id_{i}": eid, f"type_{i}": ev.type, f"st_{i}": ev.subject_type}
            params |= {f"sid_{i}": ev.subject_id, f"data_{i}": ev.data}
        for i, row in enumerate(self.rows):
            params |= {f"r{i}_{k}": v for k, v in row.values.items()}
        statement = _tail(len(self.pending), tuple(row.shape for row in self.rows))
        seqs = (await conn.execute(statement, params)).scalars().all()
        return max(seqs) if self.pending else 0

    async def _write_sqlite(self, conn: AsyncConnection) -> int:
        for row in self.rows:
            await conn.execute(insert(row.table), row.values)
        if not self.pending:
            return 0
        n = len(self.pending)
        allocated = await conn.execute(_NEXT_SEQ, {"tenant": self.tenant_id, "n": n})
        last: int = allocated.scalar_one()
        return last


Shape = tuple[Table, tuple[str, ...]]


@functools.cache
def _tail(n: int, rows: tuple[Shape, ...]) -> Executable:
    """The PostgreSQL statement of :meth:`Outbox.flush`: one ``INSERT`` CTE per row (bind
    parameters ``r{i}_{column}``) in front of the events' statement; built once per shape."""
    ctes = [
        insert(table)
        .values({k: bindparam(f"r{i}_{k}", type_=table.c[k].type) for k in keys})
        .cte(f"row_{i}")
        for i, (table, keys) in enumerate(rows)
    ]
    main: Insert | Select[Any] = _allocate_and_insert(n) if n else select(literal_column("0"))
    return main.add_cte(*ctes) if ctes else main


@functools.cache
def _allocate_and_insert(n: int) -> Insert:
    """``WITH allocated AS (UPDATE tenants … RETURNING event_seq) INSERT INTO events … SELECT``
    for ``n`` events, numbered ``event_seq - n + 1 … event_seq``; built once per ``n``."""
    allocated = (
        update(_TENANTS)
        .where(_TENANTS.c.id == bindparam("tenant"))
        .values(event_seq=_TENANTS.c.event_seq + n)
        .returning(_TENANTS.c.event_seq)
        .cte("allocated")
    )
    c = _EVENTS.c
    rows = [
        select(
            bindparam(f"id_{i}", type_=c.id.type),
            bindparam("tenant", type_=c.tenant_id.type),
            allocated.c.event_seq - (n - 1 - i),
            bindparam(f"type_{i}", type_=c.type.type),
            bindparam(f"st_{i}", type_=c.subject_type.type),
            bindparam(f"sid_{i}", type_=c.subject_id.type),
            bindparam(f"data_{i}", type_=c.data.type),
            bindparam("now", type_=c.created_at.type),
        ).select_from(allocated)
        for i in range(n)
    ]
    source = rows[0] if n == 1 else union_all(*rows)
    columns = [c.id, c.tenant_id, c.seq, c.type, c.subject_type, c.subject_id, c.data, c.created_at]
    return insert(_EVENTS).from_select(columns, source).add_cte(allocated).returning(c.seq)


class EventBus:
    """After-commit fan-out to in-process subscribers (sessions, webhooks). Durable delivery
    reads the ``events`` table; this only shortens the path for live reactions."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def published(self, tenant_id: str, events: list[StoredEvent]) -> None:
        for subscriber in self._subscribers:
            await subscriber(tenant_id, events)
