"""Per-run infrastructure: a fresh PostgreSQL database and Redis key prefix, removed at the
end, and the list of processes started (every one is stopped by its pid). Loopback only."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
RUN_ID = secrets.token_hex(4)

# every process a benchmark starts; main's ``finally`` stops what is still in it
STARTED: list[subprocess.Popen[bytes]] = []


def psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db, "-qAtc", sql],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


@dataclass
class Infra:
    db: str
    redis_prefix: str
    data_dir: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pg_dsn(self) -> str:
        return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.db}"


def make_infra() -> Infra:
    db = f"propylon_bench_{RUN_ID}"
    psql(f'CREATE DATABASE "{db}"')
    infra = Infra(db, f"propylon-bench-{RUN_ID}:", tempfile.mkdtemp(prefix="propylon-bench-"))
    infra.env = {
        "PROPYLON_DATABASE_URL": f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}",
        "PROPYLON_REDIS_URL": REDIS_URL,
        "PROPYLON_REDIS_PREFIX": infra.redis_prefix,
        "PROPYLON_DATA_DIR": infra.data_dir,
        "PROPYLON_LOG_LEVEL": "warning",
        # The per-token rate limit keeps its default: an IdP's bulk push must never hit it.
    }
    return infra


def drop_infra(infra: Infra) -> None:
    with contextlib.suppress(Exception):
        psql(f'DROP DATABASE IF EXISTS "{infra.db}" WITH (FORCE)')
    with contextlib.suppress(Exception):
        import redis

        r = redis.Redis.from_url(REDIS_URL)
        keys = list(r.scan_iter(match=f"{infra.redis_prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i : i + 500])
        r.close()
    shutil.rmtree(infra.data_dir, ignore_errors=True)


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"server exited: {err[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"server at {url} did not start in {seconds} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc in STARTED:
        STARTED.remove(proc)


def run_main(amain: Callable[[argparse.Namespace], Awaitable[dict[str, Any]]], args: Any) -> None:
    """Run a benchmark's ``amain``, stop every process it started whatever happens, and
    print its result as one JSON document with the wall time."""
    t0 = time.perf_counter()
    try:
        result = asyncio.run(amain(args))
    finally:
        for proc in list(STARTED):
            stop(proc)
    result["wall_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2))
