"""The follower: one per process, it reads newly numbered events and fans them out to this
process's stream clients (``api/events_routes.py``).

It is woken through the accelerator's ``feed`` channel when any process numbered a batch
(and directly by this process's sequencer), and polls as a fallback, so a missed message
(Redis restarting) costs at most a poll interval. Each successful read records the position
it reached and when (``position``): a stream's heartbeat repeats that, so a heartbeat
certifies "every event up to ``seq`` was sent as of ``at``". While the database cannot be
read the position does not move and no heartbeat goes out: a client that stops hearing
them knows its view may be stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy import func, select

from propylon.background import Backoff
from propylon.db.engine import Database
from propylon.db.tables import Event, core
from propylon.feed.model import SequencedEvent
from propylon.feed.sequencer import COLUMNS, last_gseq, sequenced

log = structlog.get_logger("propylon.feed")

_EVENTS = core(Event)
_UNSEQUENCED = _EVENTS.c.gseq.is_(None)
SEQUENCING_LAG_LIMIT_SECONDS = 5.0
"""A committed event left unnumbered this long means sequencing is stuck: reads stop
certifying (no heartbeats), since events are missing from every stream."""
SUBSCRIBER_QUEUE = 10_000
"""Events a slow stream client may fall behind by; past it the stream ends (the client
reconnects with ``Last-Event-ID`` and replays from the database)."""


def _timestamp(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _age(created: datetime, now: float) -> float:
    return now - _timestamp(created)


@dataclass(frozen=True)
class Position:
    seq: int
    """The last gseq read: every event up to it was handed to the subscribers."""
    at: float
    """Unix time the read that found it started (nothing was missing as of then)."""


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[list[SequencedEvent]] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_QUEUE)
    )
    overflowed: bool = False
    owner: str = ""
    """Who opened the stream (its API key's id), for the per-key limit."""

    def offer(self, events: list[SequencedEvent]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(events)
        except asyncio.QueueFull:
            self.overflowed = True


_FOLLOWERS: weakref.WeakSet[Follower] = weakref.WeakSet()


def close_streams() -> None:
    """End every stream of this process (the server is shutting down: an open stream would
    hold its graceful shutdown forever); safe to call from a signal handler. Clients
    reconnect elsewhere with ``Last-Event-ID``."""
    for follower in list(_FOLLOWERS):
        follower.close()


class Follower:
    def __init__(
        self, db: Database, *, poll_seconds: float, batch_size: int, retry_max_seconds: float
    ) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.retry_max_seconds = retry_max_seconds
        self.position: Position | None = None
        """None until the first successful read (and never a heartbeat before it)."""
        self._subscribers: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._seq = 0
        self.closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        _FOLLOWERS.add(self)

    def close(self) -> None:
        self.closing = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._nudge)

    def _nudge(self) -> None:
        for sub in list(self._subscribers):
            sub.offer([])

    def wake(self) -> None:
        self._wake.set()

    async def on_message(self, _message: str) -> None:
        self.wake()

    def subscribe(self, owner: str = "") -> Subscription:
        self._loop = asyncio.get_running_loop()
        sub = Subscription(owner=owner)
        self._subscribers.add(sub)
        return sub

    def open_streams(self, owner: str | None = None) -> int:
        """Streams this process serves (``owner``'s only, if given)."""
        return sum(1 for sub in self._subscribers if owner is None or sub.owner == owner)

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    async def start(self) -> None:
        """Begin at the newest number: stream clients replay older events themselves."""
        started = time.time()
        self._seq = await last_gseq(self.db)
        self.position = Position(self._seq, started)

    async def read_once(self) -> int:
        """Read every event numbered since the last read, hand them to the subscribers, and
        record the new position; raises (position unchanged) if the database cannot be read."""
        started = time.time()
        async with self.db.read() as s:
            oldest = await s.scalar(select(func.min(_EVENTS.c.created_at)).where(_UNSEQUENCED))
        found = 0
        while True:
            query = (
                select(*COLUMNS, _EVENTS.c.gseq)
                .where(_EVENTS.c.gseq > self._seq)
                .order_by(_EVENTS.c.gseq)
                .limit(self.batch_size)
            )
            async with self.db.read() as s:
                rows = (await s.execute(query)).all()
            if rows:
                events = [sequenced(row, row[8]) for row in rows]
                self._seq = events[-1].seq
                found += len(events)
                for sub in list(self._subscribers):
                    sub.offer(events)
            if len(rows) < self.batch_size:
                break
        if oldest is not None and _age(oldest, started) > SEQUENCING_LAG_LIMIT_SECONDS:
            # a committed event is still unnumbered: sequencing is stuck (a failing hook, no
            # sequencer able to write), so this read certifies nothing
            log.warning("feed_sequencing_stalled", oldest=oldest.isoformat())
            return found
        # an event committed but not yet numbered is not in what was read: the position
        # vouches only for the time before it
        certified = started if oldest is None else min(started, _timestamp(oldest))
        self.position = Position(self._seq, certified)
        return found

    async def run(self) -> None:
        backoff = Backoff(self.retry_max_seconds)
        while self.position is None:
            try:
                await self.start()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feed_follower_failed", error=type(exc).__name__)
                await asyncio.sleep(backoff.next_delay())
        backoff.reset()
        delay = self.poll_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            try:
                await self.read_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("feed_follower_failed", error=type(exc).__name__)
                delay = min(backoff.next_delay(), self.poll_seconds)
                continue
            backoff.reset()
            delay = self.poll_seconds
