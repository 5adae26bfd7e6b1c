"""The feed in one process: its sequencer, its follower and the retention purge, started by
the server (``api/app.py``) and stopped with it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from propylon.background import every, watch
from propylon.db.engine import Database
from propylon.feed.follower import Follower
from propylon.feed.model import FEED_CHANNEL, FeedHook
from propylon.feed.query import purge_chunk
from propylon.feed.sequencer import Sequencer

log = structlog.get_logger("propylon.feed")

PURGE_INTERVAL_SECONDS = 3600.0
"""How often one process (per interval, through the accelerator) purges expired events."""
PURGE_TIMEOUT_SECONDS = 600.0

Publish = Callable[[str, str], Awaitable[None]]
Subscribe = Callable[[str, Callable[[str], Awaitable[None]]], None]
Once = Callable[[str, int], Awaitable[bool]]


class Feed:
    def __init__(
        self,
        db: Database,
        hooks: list[FeedHook],
        clock: Callable[[], datetime],
        publish: Publish,
        *,
        poll_seconds: float,
        batch_size: int,
        retention: timedelta,
        retry_max_seconds: float,
        heartbeat_seconds: float,
    ) -> None:
        self.db = db
        self.clock = clock
        self.retention = retention
        self.retry_max_seconds = retry_max_seconds
        self._publish = publish
        self.follower = Follower(
            db,
            # a stream's heartbeat needs a read since the last one: read at least that often
            poll_seconds=min(poll_seconds, heartbeat_seconds),
            batch_size=batch_size,
            retry_max_seconds=retry_max_seconds,
        )
        self.sequencer = Sequencer(
            db,
            hooks,
            clock,
            poll_seconds=poll_seconds,
            batch_size=batch_size,
            retry_max_seconds=retry_max_seconds,
            numbered=self._numbered,
        )

    async def _numbered(self, last: int) -> None:
        """After a batch committed: this process's follower at once, every other one through
        the accelerator (a lost message costs them a poll interval)."""
        self.follower.wake()
        try:
            await self._publish(FEED_CHANNEL, str(last))
        except Exception as exc:
            log.info("feed_publish_failed", error=type(exc).__name__)

    async def purge(self) -> int:
        """Remove the events older than the retention period (chunk by chunk)."""
        removed = 0
        while True:
            async with self.db.write() as s:
                n = await purge_chunk(s, self.clock(), self.retention)
            removed += n
            if n == 0:
                return removed

    def start(self, subscribe: Subscribe, once: Once) -> list[asyncio.Task[None]]:
        """Wake on local commits and on the ``feed`` channel, and run the loops."""
        self.db.events_committed.append(self.sequencer.wake)
        subscribe(FEED_CHANNEL, self.follower.on_message)
        purge = every(
            PURGE_INTERVAL_SECONDS,
            self.purge,
            once=once,
            key="feed-purge",
            retry_cap_seconds=self.retry_max_seconds,
            timeout_seconds=PURGE_TIMEOUT_SECONDS,
            event="feed_purge_failed",
        )
        return [
            watch(asyncio.create_task(self.sequencer.run(), name="feed-sequencer")),
            watch(asyncio.create_task(self.follower.run(), name="feed-follower")),
            watch(asyncio.create_task(purge, name="feed-purge")),
        ]

    def stop(self) -> None:
        if self.sequencer.wake in self.db.events_committed:
            self.db.events_committed.remove(self.sequencer.wake)
