"""What the machine gives before Propylon does anything: PostgreSQL, Redis and HTTP floors."""

from __future__ import annotations

import time
from typing import Any

from benchkit.http import RawClient
from benchkit.infra import REDIS_URL, Infra
from benchkit.measure import CpuMeter, lat_summary


async def http_floor(server_url: str, server_pid: int, n: int) -> dict[str, Any]:
    """Sequential GET /healthz: the HTTP stack's floor (uvicorn + FastAPI + middleware)."""
    c = RawClient(server_url, "x")
    await c.request("GET", "/healthz")
    ms = []
    t0 = time.perf_counter()
    with CpuMeter(server_pid) as meter:
        for _ in range(n):
            t = time.perf_counter()
            r = await c.request("GET", "/healthz")
            ms.append((time.perf_counter() - t) * 1000)
            assert r.status == 200
    secs = time.perf_counter() - t0
    await c.close()
    return {
        "requests": n,
        "seconds": round(secs, 3),
        "seconds_per_1030": round(secs / n * 1030, 3),
        **lat_summary(ms),
        **meter.report(n),
    }


async def infra_floor(infra: Infra, n: int) -> dict[str, Any]:
    """Round-trip floors on this machine: PostgreSQL ``SELECT 1``, one-row INSERT committed
    (WAL flush), Redis ``PING``; a SCIM request costs several of these."""
    import asyncpg
    import redis.asyncio as aredis

    out: dict[str, Any] = {}
    conn = await asyncpg.connect(infra.pg_dsn)
    try:
        await conn.execute("CREATE TEMP TABLE t (x int)")
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (x int)")
        for label, sql in (
            ("pg_select_1", "SELECT 1"),
            ("pg_insert_autocommit", "INSERT INTO bench_floor VALUES (1)"),
        ):
            ms = []
            for _ in range(n):
                t0 = time.perf_counter()
                await conn.execute(sql)
                ms.append((time.perf_counter() - t0) * 1000)
            out[label] = lat_summary(ms)
        await conn.execute("DROP TABLE bench_floor")
    finally:
        await conn.close()
    r = aredis.Redis.from_url(REDIS_URL)
    try:
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            await r.ping()
            ms.append((time.perf_counter() - t0) * 1000)
        out["redis_ping"] = lat_summary(ms)
    finally:
        await r.aclose()
    return out
