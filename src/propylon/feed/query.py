"""Reading the feed: a page of sequenced events after a cursor, and the retention purge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from propylon.db.tables import Event, core
from propylon.feed.model import SequencedEvent
from propylon.feed.sequencer import COLUMNS, sequenced

_EVENTS = core(Event)
MAX_LIMIT = 1000
PURGE_CHUNK = 1000


async def page(
    s: AsyncSession,
    *,
    after: int,
    limit: int,
    types: Sequence[str] = (),
    tenant_id: str | None = None,
) -> tuple[list[SequencedEvent], int]:
    """Sequenced events with ``gseq > after`` in gseq order (at most ``limit``), of the given
    types and tenant if named; and the cursor to continue from (the last one returned, else
    ``after``). Unnumbered events are never returned: the cursor only moves forward."""
    query = select(*COLUMNS, _EVENTS.c.gseq).where(_EVENTS.c.gseq > after)
    if types:
        query = query.where(_EVENTS.c.type.in_(list(types)))
    if tenant_id is not None:
        query = query.where(_EVENTS.c.tenant_id == tenant_id)
    rows = (await s.execute(query.order_by(_EVENTS.c.gseq).limit(limit))).all()
    events = [sequenced(row, row[8]) for row in rows]
    return events, events[-1].seq if events else after


async def purge_chunk(s: AsyncSession, now: datetime, retention: timedelta) -> int:
    """Delete up to :data:`PURGE_CHUNK` sequenced events older than the retention, oldest
    first (call again, in a new transaction, until 0): only events numbered before the first
    one still within the period, so nothing younger than the period goes even where numbers
    and creation times disagree a little."""
    cutoff = now - retention
    numbered = _EVENTS.c.gseq.is_not(None)
    first_kept = await s.scalar(
        select(_EVENTS.c.gseq)
        .where(numbered, _EVENTS.c.created_at >= cutoff)
        .order_by(_EVENTS.c.gseq)
        .limit(1)
    )
    old = numbered & (_EVENTS.c.created_at < cutoff)
    if first_kept is not None:
        old = old & (_EVENTS.c.gseq < first_kept)
    chunk = select(_EVENTS.c.id).where(old).order_by(_EVENTS.c.gseq).limit(PURGE_CHUNK)
    ids = list((await s.execute(chunk)).scalars())
    if ids:
        await s.execute(delete(_EVENTS).where(_EVENTS.c.id.in_(ids)))
    return len(ids)
