"""The sequencer: committed outbox events get their global number (``events.gseq``).

The outbox writes each tenant's events with a gapless per-tenant ``seq`` in the change's own
transaction (``directory/events.py``); a tenant's events commit in ``seq`` order because the
sequence is taken under the tenant row's lock held until COMMIT. After the commit, one
sequencer at a time (PostgreSQL: ``pg_try_advisory_xact_lock``, PostgreSQL manual §9.27.10;
SQLite: its single writer) takes a batch of unnumbered events ordered by ``(tenant_id, seq)``
and numbers them from ``feed_state.last_gseq`` on, in its own transaction: so ``gseq`` is
gapless as given, and its order agrees with every tenant's ``seq``. The feed hooks
(:data:`propylon.feed.model.FeedHook`) run in that same transaction, so what they write
(webhook deliveries, logout tokens) commits exactly once with the numbering.

Every process runs one; it is woken after a local commit that wrote events
(``Database.events_committed``), and polls as a fallback (``PROPYLON_FEED_POLL_SECONDS``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.background import Backoff
from propylon.db.engine import Database
from propylon.db.tables import Event, core
from propylon.db.tables_feed import FEED_STATE_ID, FeedState
from propylon.feed.model import FeedHook, SequencedEvent

log = structlog.get_logger("propylon.feed")

ADVISORY_LOCK_KEY = 0x50524F50_46454544 & 0x7FFFFFFFFFFFFFFF
"""The PostgreSQL advisory lock the sequencer holds for its transaction ("PROPFEED")."""
BUSY_RETRY_SECONDS = 0.02
"""Another process holds the lock: look again this soon (its batch may predate our commit)."""

_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:k)")
_EVENTS = core(Event)
_STATE = core(FeedState)
_UNSEQUENCED = _EVENTS.c.gseq.is_(None)
COLUMNS = (
    _EVENTS.c.id,
    _EVENTS.c.tenant_id,
    _EVENTS.c.seq,
    _EVENTS.c.type,
    _EVENTS.c.subject_type,
    _EVENTS.c.subject_id,
    _EVENTS.c.data,
    _EVENTS.c.created_at,
)
_ASSIGN = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("eid"))
    .values(gseq=bindparam("g"))
    .execution_options(synchronize_session=False)
)
_ADVANCE = (
    update(_STATE)
    .where(_STATE.c.id == FEED_STATE_ID)
    .values(last_gseq=_STATE.c.last_gseq + bindparam("n"))
    .returning(_STATE.c.last_gseq)
)


def sequenced(row: Any, gseq: int) -> SequencedEvent:
    """A stored event row (``COLUMNS`` order) as the feed's event."""
    eid, tenant, seq, etype, stype, sid, data, created = row[:8]
    return SequencedEvent(gseq, eid, tenant, seq, etype, stype, sid, dict(data or {}), created)


async def number_batch(
    s: AsyncSession, hooks: Sequence[FeedHook], now: datetime, limit: int
) -> list[SequencedEvent] | None:
    """Number up to ``limit`` unnumbered events in ``s`` (a write transaction) and run the
    hooks with them; None when another process is numbering right now."""
    conn = await s.connection()
    if conn.dialect.name == "postgresql":
        got = await conn.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
        )
        if not got:
            return None
    query = select(*COLUMNS).where(_UNSEQUENCED).order_by(_EVENTS.c.tenant_id, _EVENTS.c.seq)
    rows = (await conn.execute(query.limit(limit))).all()
    if not rows:
        return []
    last = await conn.scalar(_ADVANCE, {"n": len(rows)})
    if last is None:  # a database older than the state row's migration: start it
        await conn.execute(insert(_STATE).values(id=FEED_STATE_ID, last_gseq=len(rows)))
        last = len(rows)
    first = last - len(rows) + 1
    batch = [sequenced(row, first + i) for i, row in enumerate(rows)]
    await conn.execute(_ASSIGN, [{"eid": e.id, "g": e.seq} for e in batch])
    for hook in hooks:
        await hook(s, batch, now)
    return batch


async def pending(db: Database) -> bool:
    """Whether any committed event waits for its number (the partial index on NULL gseq)."""
    async with db.read() as s:
        found = await s.scalar(select(_EVENTS.c.id).where(_UNSEQUENCED).limit(1))
    return found is not None


async def last_gseq(db: Database) -> int:
    """The last number given (0 before any)."""
    async with db.read() as s:
        value = await s.scalar(select(func.coalesce(func.max(_STATE.c.last_gseq), 0)))
    return int(value or 0)


class Sequencer:
    """This process's sequencer loop (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        hooks: list[FeedHook],
        clock: Callable[[], datetime],
        *,
        poll_seconds: float,
        batch_size: int,
        retry_max_seconds: float,
        numbered: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.hooks = hooks
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.retry_max_seconds = retry_max_seconds
        self.numbered = numbered
        """Called after each committed batch with its last gseq (wakes the followers)."""
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def drain(self) -> int:
        """Number everything committed so far (batch after batch); how many were numbered.
        A process that finds another one numbering waits a moment and looks again."""
        total = 0
        while await pending(self.db):
            async with self.db.write() as s:
                batch = await number_batch(s, self.hooks, self.clock(), self.batch_size)
            if batch is None:
                await asyncio.sleep(BUSY_RETRY_SECONDS)
                continue
            if not batch:
                break
            total += len(batch)
            if self.numbered is not None:
                await self.numbered(batch[-1].seq)
        return total

    async def run(self) -> None:
        """Drain whenever woken or every poll interval, until cancelled; a failed round
        (database unreachable, a hook's error: the batch rolled back) is retried after a
        capped backoff."""
        backoff = Backoff(self.retry_max_seconds)
        delay = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay or self.poll_seconds)
            self._wake.clear()
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "feed_sequencer_failed", error=type(exc).__name__, detail=str(exc)[:200]
                )
                delay = backoff.next_delay()
                continue
            backoff.reset()
            delay = 0.0
