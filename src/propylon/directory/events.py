"""Domain events through one place: a transactional outbox with a gapless per-tenant sequence.

Events are collected during a unit of work and written by :func:`flush` as its last
statements, in the same transaction as the change. The sequence comes from
``tenants.event_seq``, incremented under the tenant row's write lock, so sequence numbers are
never skipped, duplicated or reordered, and a rolled-back request leaves no event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

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
_INSERT = insert(core(Event))


@dataclass
class Outbox:
    """Events of one unit of work for one tenant."""

    tenant_id: str
    pending: list[DomainEvent] = field(default_factory=list)
    written: list[StoredEvent] = field(default_factory=list)

    def emit(self, event: DomainEvent) -> None:
        self.pending.append(event)

    async def flush(self, session: AsyncSession, now: datetime) -> list[StoredEvent]:
        """Write pending events as the unit of work's last statements (two round trips)."""
        if not self.pending:
            return []
        n = len(self.pending)
        conn = await session.connection()  # Core statements skip the ORM's per-call work
        last = (await conn.execute(_NEXT_SEQ, {"tenant": self.tenant_id, "n": n})).scalar()
        assert last is not None
        rows = [
            StoredEvent(
                new_id(Kind.EVENT),
                self.tenant_id,
                last - n + i + 1,
                ev.type,
                ev.subject_type,
                ev.subject_id,
                ev.data,
                now,
            )
            for i, ev in enumerate(self.pending)
        ]
        await conn.execute(_INSERT, [{**r.__dict__, "delivered_at": None} for r in rows])
        self.written.extend(rows)
        self.pending.clear()
        return rows


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
