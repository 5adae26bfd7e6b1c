"""The queue's statements: enqueue, claim the due heads, record an attempt, replay, purge.

Ordering: an item is attempted only while it is the oldest ``pending`` item of its key
(``NOT EXISTS`` an older one), so a key's items go out one at a time and in order; a dead or
dropped item no longer blocks its key. Claiming takes a lease (``claim``,
``claimed_until``) in a short transaction of its own; on PostgreSQL the candidate rows are
locked ``FOR UPDATE SKIP LOCKED`` so two processes never claim the same item, and a lease
that ran out (its process was killed mid-delivery) makes the item claimable again: at least
once. SQLite (the embedded mode, one process) has a single writer.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from propylon.db.tables_delivery import DeliveryAttempt, DeliveryItem
from propylon.delivery.model import QueuedDelivery, enqueue, order_key

PENDING, DELIVERED, DEAD, DROPPED = "pending", "delivered", "dead", "dropped"
RETRY = "retry"

__all__ = ["enqueue", "order_key"]


@dataclass(frozen=True)
class Claimed:
    item: QueuedDelivery
    claim: str
    retry_since: datetime


def queued(row: DeliveryItem) -> QueuedDelivery:
    return QueuedDelivery(
        id=str(row.id),
        kind=row.kind,
        destination=row.destination,
        tenant_id=row.tenant_id,
        payload=row.payload,
        event_id=row.event_id,
        attempts=row.attempts,
        created_at=row.created_at,
    )


async def claim_due(
    s: AsyncSession, now: datetime, limit: int, lease_seconds: float, busy: set[str]
) -> list[Claimed]:
    """Lease up to ``limit`` due heads (none of the keys in ``busy``, this process's own
    deliveries in flight)."""
    older = aliased(DeliveryItem)
    head = ~exists().where(
        older.order_key == DeliveryItem.order_key,
        older.state == PENDING,
        older.id < DeliveryItem.id,
    )
    query = (
        select(DeliveryItem)
        .where(
            DeliveryItem.state == PENDING,
            DeliveryItem.next_attempt_at <= now,
            or_(DeliveryItem.claimed_until.is_(None), DeliveryItem.claimed_until < now),
            head,
        )
        .order_by(DeliveryItem.next_attempt_at, DeliveryItem.id)
        .limit(limit + len(busy))
        .with_for_update(skip_locked=True, of=DeliveryItem)
    )
    rows = [r for r in (await s.scalars(query)).all() if r.order_key not in busy][:limit]
    until = now + timedelta(seconds=lease_seconds)
    out = []
    for row in rows:
        row.claim = secrets.token_hex(8)
        row.claimed_until = until
        out.append(Claimed(queued(row), row.claim, row.retry_since))
    await s.flush()
    return out


async def claim_next(
    s: AsyncSession, key: str, now: datetime, lease_seconds: float
) -> Claimed | None:
    """Lease the head of ``key`` if it is due (the worker that just finished the item before
    it goes on with the key without a round through the loop)."""
    row = (
        await s.scalars(
            select(DeliveryItem)
            .where(DeliveryItem.order_key == key, DeliveryItem.state == PENDING)
            .order_by(DeliveryItem.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if row is None or row.next_attempt_at > now:
        return None
    if row.claimed_until is not None and row.claimed_until >= now:
        return None
    row.claim = secrets.token_hex(8)
    row.claimed_until = now + timedelta(seconds=lease_seconds)
    await s.flush()
    return Claimed(queued(row), row.claim, row.retry_since)


async def record_attempt(
    s: AsyncSession,
    claimed: Claimed,
    now: datetime,
    *,
    outcome: str,
    status: int | None,
    error: str | None,
    duration_ms: int,
    next_attempt_at: datetime | None = None,
) -> bool:
    """Record one attempt and move the item on (``outcome``: delivered, retry at
    ``next_attempt_at``, dead, dropped) if the lease is still this worker's; False if it was
    lost (the attempt is logged all the same)."""
    item_id = int(claimed.item.id)
    values: dict[str, object] = {
        "attempts": DeliveryItem.attempts + 1,
        "last_status": status,
        "last_error": error,
        "claim": None,
        "claimed_until": None,
    }
    if outcome == RETRY:
        assert next_attempt_at is not None
        values["next_attempt_at"] = next_attempt_at
    else:
        values["state"] = outcome
        values["finished_at"] = now
    result = await s.execute(
        update(DeliveryItem)
        .where(DeliveryItem.id == item_id, DeliveryItem.claim == claimed.claim)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    s.add(
        DeliveryAttempt(
            delivery_id=item_id,
            attempt=claimed.item.attempts + 1,
            at=now,
            outcome=outcome,
            status=status,
            error=error,
            duration_ms=duration_ms,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def replay(
    s: AsyncSession, now: datetime, *, ids: Sequence[int] = (), destination: str | None = None
) -> list[int]:
    """Dead items (those ``ids``, or every dead one of ``destination``) pending again, with a
    fresh retry period; they go out before newer items of their key (they are older)."""
    where = [DeliveryItem.state == DEAD]
    if ids:
        where.append(DeliveryItem.id.in_(list(ids)))
    if destination is not None:
        where.append(DeliveryItem.destination == destination)
    rows = (await s.scalars(select(DeliveryItem.id).where(and_(*where)))).all()
    if rows:
        await s.execute(
            update(DeliveryItem)
            .where(DeliveryItem.id.in_(list(rows)), DeliveryItem.state == DEAD)
            .values(
                state=PENDING,
                attempts=0,
                next_attempt_at=now,
                retry_since=now,
                finished_at=None,
                claim=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )
    return list(rows)


async def purge(s: AsyncSession, before: datetime, limit: int = 1000) -> int:
    """Delete up to ``limit`` delivered or dropped items finished before ``before`` and
    their attempts."""
    ids = (
        await s.scalars(
            select(DeliveryItem.id)
            .where(DeliveryItem.state.in_((DELIVERED, DROPPED)), DeliveryItem.finished_at < before)
            .limit(limit)
        )
    ).all()
    if ids:
        await s.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(ids)))
        await s.execute(delete(DeliveryItem).where(DeliveryItem.id.in_(ids)))
    return len(ids)
