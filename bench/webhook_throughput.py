"""Benchmark: webhook deliveries per second to a local receiver, and their lag.

Prints ONE JSON document on stdout (progress on stderr). Run::

    python3 bench/webhook_throughput.py                      # sqlite and postgres+redis
    python3 bench/webhook_throughput.py --backend sqlite --events 200 --tenants 4

A ``propylon serve`` (default settings but loopback hosts allowed) with one webhook endpoint
for every tenant's events points at a loopback receiver (threads, answers 204 at once, in
this process). ``--tenants`` directories each get ``--events / --tenants`` users created over
SCIM, ``--concurrency`` requests at a time. Each user is one ``user.created`` event, so one
delivery; deliveries of one tenant go out one at a time in order (head of line), different
tenants in parallel (up to ``PROPYLON_DELIVERY_CONCURRENCY`` per process).

- ``deliveries_per_second``: deliveries received / (last receipt - first event's
  ``created_at``): the whole pipeline, SCIM write to receipt, under the burst.
- ``enqueue_lag_ms``: event commit → its delivery enqueued (the feed's sequencer and the
  webhook hook), to tell that part of the lag from the worker's.
- ``pickup_ms``: enqueued → the worker's first attempt starts (claim latency).
- ``lag_ms``: per delivery, receipt time - the event's ``created_at`` (commit → sequenced →
  enqueued by the feed hook → claimed → signed → POSTed), p50/p99/max. Same machine clock.
Loopback only; the database, keys and processes are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from propylon.db.tables_delivery import DeliveryAttempt, DeliveryItem  # noqa: E402
from tests.conftest import make_backend, new_directory, running_server  # noqa: E402
from tests.delivery.conftest import user_body  # noqa: E402
from tests.delivery.receiver import Receiver  # noqa: E402


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _ts(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(backend_name: str, events: int, tenants: int, concurrency: int) -> dict[str, Any]:
    arrivals: dict[str, tuple[float, str]] = {}

    def answer(_path: str, envelope: dict[str, Any]) -> int:
        arrivals.setdefault(envelope.get("id", ""), (time.time(), envelope.get("created_at", "")))
        return 204

    rx = Receiver(answer=answer).start()
    backend = make_backend(backend_name, Path(tempfile.mkdtemp(prefix="whbench-")))
    try:
        async with running_server(backend) as server, server.api() as api:
            r = await api.post(
                "/api/v1/webhooks", json={"url": rx.url + "/bench", "event_types": ["user.created"]}
            )
            r.raise_for_status()
            dirs = [await new_directory(server) for _ in range(tenants)]
            per = events // tenants
            gate = asyncio.Semaphore(concurrency)
            clients = [d.client() for d in dirs]

            async def create(i: int, t: int) -> None:
                async with gate:
                    name = f"b{i}@{dirs[t].tenant_slug}.test"
                    resp = await clients[t].post("/Users", json=user_body(name))
                    resp.raise_for_status()

            log(f"{backend_name}: {per * tenants} users over {tenants} tenants")
            started = time.time()
            await asyncio.gather(*(create(i, t) for i in range(per) for t in range(tenants)))
            written = time.time()
            total = per * tenants
            deadline = time.monotonic() + 120
            while len(arrivals) < total and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for c in clients:
                await c.aclose()
            async with server.rt.db.read() as s:
                rows = (
                    await s.execute(select(DeliveryItem.payload, DeliveryItem.created_at))
                ).all()
                attempts = (
                    await s.execute(
                        select(
                            DeliveryAttempt.at, DeliveryAttempt.duration_ms, DeliveryItem.created_at
                        )
                        .join(DeliveryItem, DeliveryItem.id == DeliveryAttempt.delivery_id)
                        .where(DeliveryAttempt.attempt == 1)
                    )
                ).all()
            pickups = [
                (at.timestamp() - ms / 1000 - enq.timestamp()) * 1000 for at, ms, enq in attempts
            ]
            enqueue_lags = [
                (at.timestamp() - _ts(payload["created_at"])) * 1000 for payload, at in rows
            ]
        got = list(arrivals.values())
        lags = [(at - _ts(created)) * 1000 for at, created in got]
        first_created = min(_ts(c) for _, c in got)
        last = max(at for at, _ in got)
        return {
            "backend": backend_name,
            "events": total,
            "delivered": len(got),
            "tenants": tenants,
            "scim_writes_per_second": round(total / (written - started), 1),
            "deliveries_per_second": round(len(got) / (last - first_created), 1),
            "lag_ms": {
                "p50": round(pct(lags, 50), 1),
                "p99": round(pct(lags, 99), 1),
                "max": round(max(lags), 1),
                "mean": round(statistics.fmean(lags), 1),
            },
            "pickup_ms": {  # enqueued → the worker's first attempt starts
                "p50": round(pct(pickups, 50), 1),
                "p99": round(pct(pickups, 99), 1),
            },
            "enqueue_lag_ms": {  # event commit → delivery enqueued by the feed hook
                "p50": round(pct(enqueue_lags, 50), 1),
                "p99": round(pct(enqueue_lags, 99), 1),
            },
        }
    finally:
        rx.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    names = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = [asyncio.run(run(n, args.events, args.tenants, args.concurrency)) for n in names]
    print(json.dumps({"benchmark": "webhook_throughput", "runs": results}, indent=2))


if __name__ == "__main__":
    main()
