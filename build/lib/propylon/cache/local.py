"""Embedded-mode accelerator: in-process counters, database-backed replay cache.

Correct for one process (the embedded default). Several processes need Redis.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from propylon.cache.base import BackoffPolicy, Delay, RateDecision, WindowCount
from propylon.db.engine import Database
from propylon.db.tables import ReplayEntry

_MAX_WINDOWS = 100_000


class LocalAccelerator:
    fanout = False

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._counts: dict[str, tuple[int, int, int]] = {}
        """key → (window, hits in it, hits in the window before)"""
        self._handlers: dict[str, list[Callable[[str], Awaitable[None]]]] = {}
        self._failures: dict[str, tuple[int, float, float]] = {}
        """key → (failures, refused until, forgotten at)"""

    async def rate_hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        now = self._clock()
        window = int(now // window_seconds)
        current_window, count = self._windows.get(key, (window, 0))
        if current_window != window:
            count = 0
        count += 1
        if len(self._windows) > _MAX_WINDOWS:
            self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
        self._windows[key] = (window, count)
        if count > limit:
            retry = math.ceil((window + 1) * window_seconds - now)
            return RateDecision(False, max(retry, 1))
        return RateDecision(True, 0)

    async def count(self, key: str, window_seconds: int) -> WindowCount:
        now = self._clock()
        window = int(now // window_seconds)
        last, current, previous = self._counts.get(key, (window, 0, 0))
        if last == window - 1:
            current, previous = 0, current
        elif last != window:
            current, previous = 0, 0
        current += 1
        if len(self._counts) > _MAX_WINDOWS:
            self._counts = {k: v for k, v in self._counts.items() if v[0] >= window - 1}
        self._counts[key] = (window, current, previous)
        return WindowCount(current, previous)

    async def remember_once(self, key: str, ttl_seconds: int) -> bool:
        now = datetime.now(UTC)
        try:
            async with self._db.write() as s:
                await s.execute(delete(ReplayEntry).where(ReplayEntry.expires_at < now))
                s.add(ReplayEntry(key=key, expires_at=now + timedelta(seconds=ttl_seconds)))
        except IntegrityError:
            return False
        return True

    async def backoff(self, key: str) -> Delay:
        now = self._clock()
        failures, until, forget = self._failures.get(key, (0, 0.0, 0.0))
        if forget <= now:
            return Delay(0, 0)
        return Delay(failures, max(0, math.ceil(until - now)))

    async def add_failure(self, key: str, policy: BackoffPolicy) -> Delay:
        now = self._clock()
        failures = (await self.backoff(key)).failures + 1
        delay = policy.delay(failures)
        if len(self._failures) > _MAX_WINDOWS:
            self._failures = {k: v for k, v in self._failures.items() if v[2] > now}
        self._failures[key] = (failures, now + delay, now + max(policy.memory, delay))
        return Delay(failures, delay)

    async def clear_failures(self, key: str) -> None:
        self._failures.pop(key, None)

    async def publish(self, channel: str, message: str) -> None:
        for handler in self._handlers.get(channel, []):
            await handler(message)

    def subscribe(self, channel: str, handler: Callable[[str], Awaitable[None]]) -> None:
        self._handlers.setdefault(channel, []).append(handler)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
