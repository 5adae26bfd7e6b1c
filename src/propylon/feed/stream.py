"""One stream client: replay from its cursor, then live events from this process's follower,
with heartbeats certified by the follower's reads (``feed/follower.py``).

Served as Server-Sent Events (HTML Living Standard §9.2) by ``api/events_routes.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from propylon.db.engine import Database
from propylon.feed.follower import Follower, Position, Subscription
from propylon.feed.model import SequencedEvent
from propylon.feed.query import page
from propylon.feed.sequencer import last_gseq

REPLAY_PAGE = 500


@dataclass(frozen=True)
class Heartbeat:
    seq: int
    """Every event up to this gseq (of the stream's filter) was sent ..."""
    at: float
    """... as of this Unix time, when this process last read the database successfully."""


@dataclass(frozen=True)
class StreamEnded:
    """The client fell too far behind (its queue overflowed) or the server is stopping: it
    reconnects and replays."""


Item = SequencedEvent | Heartbeat | StreamEnded


@dataclass(frozen=True)
class StreamFilter:
    types: frozenset[str] = frozenset()
    tenant_id: str | None = None

    def matches(self, event: SequencedEvent) -> bool:
        if self.types and event.type not in self.types:
            return False
        return self.tenant_id is None or event.tenant_id == self.tenant_id


async def start_cursor(db: Database, after: int | None) -> int:
    """The client's cursor, or without one the newest event (live events only)."""
    return after if after is not None else await last_gseq(db)


async def follow(
    db: Database,
    follower: Follower,
    *,
    after: int,
    which: StreamFilter,
    heartbeat_seconds: float,
    owner: str = "",
) -> AsyncIterator[Item]:
    """Events after ``after`` (replayed from the database, then live), and a heartbeat every
    ``heartbeat_seconds`` whenever the follower read the database since the last one.

    The subscription is taken before the replay, so nothing numbered meanwhile is missed;
    what both deliver is sent once (by gseq)."""
    sub = follower.subscribe(owner)
    try:
        cursor = after
        types: Sequence[str] = sorted(which.types)
        while True:
            async with db.read() as s:
                events, _ = await page(
                    s, after=cursor, limit=REPLAY_PAGE, types=types, tenant_id=which.tenant_id
                )
            for event in events:
                yield event
            if events:
                cursor = events[-1].seq
            if len(events) < REPLAY_PAGE:
                break
        async for item in _live(sub, follower, cursor, which, heartbeat_seconds):
            yield item
    finally:
        follower.unsubscribe(sub)


async def _live(
    sub: Subscription, follower: Follower, cursor: int, which: StreamFilter, interval: float
) -> AsyncIterator[Item]:
    certified = 0.0  # the `at` of the last heartbeat sent
    next_beat = time.monotonic()
    while True:
        if sub.overflowed or follower.closing:
            yield StreamEnded()
            return
        wait = next_beat - time.monotonic()
        batch: list[SequencedEvent] | None = None
        if wait > 0:
            try:
                batch = await asyncio.wait_for(sub.queue.get(), timeout=wait)
            except TimeoutError:
                batch = None
        if batch is not None:
            for event in batch:
                if event.seq > cursor:
                    if which.matches(event):
                        yield event
                    cursor = event.seq
            continue
        # heartbeat time: first whatever the follower handed over, then its position
        while not sub.queue.empty():
            for event in sub.queue.get_nowait():
                if event.seq > cursor:
                    if which.matches(event):
                        yield event
                    cursor = event.seq
        position: Position | None = follower.position
        if position is not None and position.at > certified:
            certified = position.at
            yield Heartbeat(max(position.seq, cursor), position.at)
        next_beat = time.monotonic() + interval
