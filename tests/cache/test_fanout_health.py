"""The fan-out listener against a real Redis of the test's own that dies and comes back: it
reconnects, and while it is disconnected the per-process copies it guards are not trusted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from propylon.cache.copies import LocalCopies
from propylon.cache.redis import RedisAccelerator
from propylon.db.migrate import upgrade
from propylon.oauth_store import signing_keys as keys
from propylon.runtime import build_runtime
from propylon.settings import Settings
from tests.own_redis import OwnRedis, own_redis


@pytest.fixture
def redis_server() -> Iterator[OwnRedis]:
    with own_redis() as server:
        yield server


async def until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def test_copies_are_bypassed_while_the_listener_is_disconnected_and_dropped_after(
    redis_server: OwnRedis,
) -> None:
    listener = RedisAccelerator(redis_server.url, "t:", timeout=1.0, retry_max_seconds=0.5)
    publisher = RedisAccelerator(redis_server.url, "t:", timeout=1.0)
    copies: LocalCopies[str, int] = LocalCopies(30, enabled=True, health=listener.health)
    listener.subscribe("ch", copies.on_message)
    try:
        await until(lambda: listener.health.trusted)
        copies.put("a", 1)
        assert copies.get("a") == 1

        redis_server.stop()
        await until(lambda: not listener.health.trusted)
        assert copies.get("a") is None  # not served while disconnected: read through
        copies.put("b", 2)
        assert copies.get("b") is None  # nor kept

        redis_server.start()  # a new Redis: whatever was published meanwhile is lost
        await until(lambda: listener.health.trusted)
        assert copies.get("a") is None and copies.get("b") is None  # dropped on resubscribe

        copies.put("c", 3)  # trusted again: kept, and dropped by a message as before
        assert copies.get("c") == 3
        await publisher.publish("ch", "changed")
        await until(lambda: copies.get("c") is None, seconds=5)
    finally:
        await listener.close()
        await publisher.close()


async def test_the_signing_key_is_read_anew_while_the_listener_is_disconnected(
    redis_server: OwnRedis, tmp_path: Path
) -> None:
    rt = build_runtime(Settings(data_dir=tmp_path, log_level="warning"))
    listener = RedisAccelerator(redis_server.url, "t:", timeout=1.0, retry_max_seconds=0.5)
    cache = keys.SigningKeyCache(rt.secret_box, ttl=3600, health=listener.health)
    listener.subscribe(keys.CHANNEL, cache.on_message)
    alg = rt.settings.signing_alg
    try:
        await upgrade(rt.db)
        await until(lambda: listener.health.trusted)
        async with rt.db.write() as s:
            await cache.active(s, alg, rt.clock())  # the first key, created on first use
        async with rt.db.read() as s:
            kept = await cache.active(s, alg, rt.clock())  # kept for the hour

        redis_server.stop()  # a rotation published now would be lost
        await until(lambda: not listener.health.trusted)
        async with rt.db.write() as s:
            rotated = await keys.rotate(s, alg, rt.clock(), timedelta(days=1), rt.secret_box)
        async with rt.db.read() as s:
            assert (await cache.active(s, alg, rt.clock())).kid == rotated["kid"] != kept.kid
    finally:
        await listener.close()
        await rt.close()
