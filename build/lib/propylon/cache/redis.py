"""Production accelerator on Redis, shared by every Propylon process.

Requests meet a dead Redis fast: connecting and each reply are bounded by ``timeout``, and a
command is tried again once only (on a fresh connection: a pooled one to a Redis that restarted
fails once). The fan-out listener (:meth:`RedisAccelerator._listen`) reconnects with capped
exponential backoff for as long as the process lives, and keeps :attr:`RedisAccelerator.health`
true: lost from the moment its connection fails, restored once it has subscribed again, with
every handler called first (messages may have been missed, so every copy is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import TimeoutError as RedisTimeout

from propylon.background import Backoff, watch
from propylon.cache.base import BackoffPolicy, Delay, RateDecision, WindowCount
from propylon.cache.fanout import FanoutHealth

log = structlog.get_logger("propylon.cache")

_MAX_BATCH = 50
_MAX_WINDOWS = 100_000
_POLL_SECONDS = 1.0
_PING_SECONDS = 5.0
"""An idle listener pings Redis after this long, so a connection lost without a word (a
network partition) is noticed within this plus ``timeout``."""


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

# One failure more on a key: the delay doubles past the free ones, up to the cap; the key
# is forgotten ``memory`` seconds after its last failure (ARGV: now, free, base, cap, memory).
_FAIL_SCRIPT = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local over = n - tonumber(ARGV[2])
local delay = 0
if over > 0 then
  delay = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ math.min(over - 1, 40))
end
redis.call('HSET', KEYS[1], 'until', tonumber(ARGV[1]) + delay)
redis.call('EXPIRE', KEYS[1], math.max(tonumber(ARGV[5]), math.ceil(delay)))
return {n, tostring(delay)}
"""


class RedisAccelerator:
    """Rate limits count locally and settle with Redis in batches: a process asks Redis once
    per ``batch`` hits (one hit at a time for small limits), so the limit holds across
    processes to within one batch per process while the hot path skips a round trip."""

    fanout = True

    def __init__(
        self, url: str, prefix: str, *, timeout: float = 2.0, retry_max_seconds: float = 5.0
    ) -> None:
        def client(retries: int) -> Redis:
            return Redis.from_url(
                url,
                decode_responses=True,
                socket_connect_timeout=timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), retries),
            )

        self._redis: Redis = client(1)
        # The listener's connection never reconnects by itself: a reconnect it did not see
        # would resubscribe after messages were missed, with the copies still trusted.
        self._listen_redis: Redis = client(0)
        self._prefix = prefix
        self._timeout = timeout
        self._rate = self._redis.register_script(_RATE_SCRIPT)
        self._count = self._redis.register_script(_COUNT_SCRIPT)
        self._fail = self._redis.register_script(_FAIL_SCRIPT)
        self._handlers: dict[str, list[Callable[[str], Awaitable[None]]]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._backoff = Backoff(retry_max_seconds)
        self._windows: dict[str, _Window] = {}
        self.health = FanoutHealth()
        """Whether this process hears every message now (``cache/fanout.py``)."""

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

    async def backoff(self, key: str) -> Delay:
        failures, until = await self._redis.hmget(self._k(f"bo:{key}"), ["n", "until"])
        if failures is None:
            return Delay(0, 0)
        wait = math.ceil(float(until or 0) - time.time())  # wall clock: processes agree
        return Delay(int(failures), max(0, wait))

    async def add_failure(self, key: str, policy: BackoffPolicy) -> Delay:
        args = [time.time(), policy.free, policy.base, policy.cap, policy.memory]
        failures, delay = await self._fail(keys=[self._k(f"bo:{key}")], args=args)
        return Delay(int(failures), math.ceil(float(delay)))

    async def clear_failures(self, key: str) -> None:
        await self._redis.delete(self._k(f"bo:{key}"))

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(self._k("ch:" + channel), message)

    def subscribe(self, channel: str, handler: Callable[[str], Awaitable[None]]) -> None:
        self._handlers.setdefault(self._k("ch:" + channel), []).append(handler)
        if self._listener is None:
            task = asyncio.get_running_loop().create_task(self._listen(), name="fanout-listener")
            self._listener = watch(task)

    async def _listen(self) -> None:
        """Listen until cancelled; after any failure, back off and listen again."""
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a lost connection, or anything else: never end
                self.health.lost()
                delay = self._backoff.next_delay()
                log.warning("fanout_disconnected", error=type(exc).__name__, retry_in=delay)
                await asyncio.sleep(delay)

    async def _listen_once(self) -> None:
        pubsub = self._listen_redis.pubsub()
        try:
            subscribed: set[str] = set()
            await self._subscribe(pubsub, subscribed)
            await self._deliver_all("resubscribed")  # messages may have been missed meanwhile
            self.health.restored()
            self._backoff.reset()
            log.info("fanout_subscribed", channels=len(subscribed))
            await self._receive(pubsub, subscribed)
        finally:
            self.health.lost()
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _subscribe(self, pubsub: PubSub, subscribed: set[str]) -> set[str]:
        """Subscribe to the channels not yet in ``subscribed`` and wait (bounded) until Redis
        confirmed each; returns them."""
        wanted = set(self._handlers) - subscribed
        if not wanted:
            return wanted
        await pubsub.subscribe(*wanted)
        pending, loop = set(wanted), asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        while pending:
            left = deadline - loop.time()
            if left <= 0:
                raise RedisTimeout("subscription not confirmed")
            message = await pubsub.get_message(timeout=left)
            kind = message.get("type") if message is not None else None
            if kind == "subscribe":
                pending.discard(message["channel"])
            elif kind == "message":  # on a channel subscribed before
                await self._deliver(message["channel"], message["data"])
        subscribed |= wanted
        return wanted

    async def _receive(self, pubsub: PubSub, subscribed: set[str]) -> None:
        loop = asyncio.get_running_loop()
        heard, pinged = loop.time(), False
        while True:
            added = await self._subscribe(pubsub, subscribed)  # a channel subscribed later
            for channel in added:
                await self._deliver(channel, "subscribed")
            message = await pubsub.get_message(timeout=_POLL_SECONDS)
            now = loop.time()
            if message is not None:
                heard, pinged = now, False
                if message.get("type") == "message":
                    await self._deliver(message["channel"], message["data"])
            elif now - heard > _PING_SECONDS + self._timeout and pinged:
                raise RedisTimeout("no answer to a ping")
            elif now - heard > _PING_SECONDS and not pinged:
                await pubsub.ping()
                pinged = True

    async def _deliver(self, channel: str, data: str) -> None:
        for handler in self._handlers.get(channel, []):
            await handler(data)

    async def _deliver_all(self, data: str) -> None:
        for channel in self._handlers:
            await self._deliver(channel, data)

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
        await self._listen_redis.aclose()
        await self._redis.aclose()
