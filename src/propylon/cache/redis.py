"""Production accelerator on Redis, shared by every Propylon process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from propylon.cache.base import RateDecision, WindowCount

_MAX_BATCH = 50
_MAX_WINDOWS = 100_000


@dataclass
class _Window:
    window: int
    pending: int = 0
    known: int = 0
    ttl: int = 0


# Add this process's hits and give a new window its expiry, atomically.
_RATE_SCRIPT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
local ttl = redis.call('TTL', KEYS[1])
return {n, ttl}
"""

# One hit in this window's counter (kept two windows, to be read as the previous one); with
# the previous window's count.
_COUNT_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
local previous = redis.call('GET', KEYS[2])
return {n, tonumber(previous or '0')}
"""


class RedisAccelerator:
    """Rate limits count locally and settle with Redis in batches: a process asks Redis once
    per ``batch`` hits (one hit at a time for small limits), so the limit holds across
    processes to within one batch per process while the hot path skips a round trip."""

    fanout = True

    def __init__(self, url: str, prefix: str) -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._rate = self._redis.register_script(_RATE_SCRIPT)
        self._count = self._redis.register_script(_COUNT_SCRIPT)
        self._handlers: dict[str, list[Callable[[str], Awaitable[None]]]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._windows: dict[str, _Window] = {}

    @property
    def client(self) -> Redis:
        """The connection pool, shared with the Redis session store (same key prefix)."""
        return self._redis

    def _k(self, key: str) -> str:
        return f"{self._prefix}{key}"

    async def rate_hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        now = time.time()  # wall clock: every process must agree on the window
        window = int(now // window_seconds)
        state = self._windows.get(key)
        if state is None or state.window != window:
            state = _Window(window)
            self._windows[key] = state
            if len(self._windows) > _MAX_WINDOWS:
                self._windows = {k: v for k, v in self._windows.items() if v.window == window}
        state.pending += 1
        batch = max(1, min(_MAX_BATCH, limit // 200))
        if state.pending >= batch or state.known + state.pending > limit:
            sent, state.pending = state.pending, 0
            count, ttl = await self._rate(
                keys=[self._k(f"rl:{key}:{window}")], args=[window_seconds, sent]
            )
            state.known, state.ttl = int(count), max(int(ttl), 1)
        if state.known + state.pending > limit:
            return RateDecision(
                False, state.ttl or max(int((window + 1) * window_seconds - now), 1)
            )
        return RateDecision(True, 0)

    async def count(self, key: str, window_seconds: int) -> WindowCount:
        window = int(time.time() // window_seconds)  # wall clock: every process agrees
        keys = [self._k(f"n:{key}:{window}"), self._k(f"n:{key}:{window - 1}")]
        current, previous = await self._count(keys=keys, args=[2 * window_seconds])
        return WindowCount(int(current), int(previous))

    async def remember_once(self, key: str, ttl_seconds: int) -> bool:
        created = await self._redis.set(self._k("once:" + key), "1", ex=ttl_seconds, nx=True)
        return bool(created)

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(self._k("ch:" + channel), message)

    def subscribe(self, channel: str, handler: Callable[[str], Awaitable[None]]) -> None:
        self._handlers.setdefault(self._k("ch:" + channel), []).append(handler)
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(*self._handlers)
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            for handler in self._handlers.get(message["channel"], []):
                await handler(message["data"])

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:  # readiness reports, it never raises
            return False

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()
