"""Production accelerator on Redis, shared by every Propylon process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from propylon.cache.base import RateDecision

# INCR then set the expiry on the first hit of a window, atomically.
_RATE_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
return {n, ttl}
"""


class RedisAccelerator:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix
        self._rate = self._redis.register_script(_RATE_SCRIPT)
        self._handlers: dict[str, list[Callable[[str], Awaitable[None]]]] = {}
        self._listener: asyncio.Task[None] | None = None

    def _k(self, key: str) -> str:
        return f"{self._prefix}{key}"

    async def rate_hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        count, ttl = await self._rate(keys=[self._k("rl:" + key)], args=[window_seconds])
        if int(count) > limit:
            return RateDecision(False, max(int(ttl), 1))
        return RateDecision(True, 0)

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
