"""(b) filter_latency: ``userName eq`` filter latency as the directory grows."""

from __future__ import annotations

import random
import time
from typing import Any

from benchkit.http import RawClient
from benchkit.measure import lat_summary, log

from scimbench.bodies import eq_filter
from scimbench.servers import Propylon, scim_base, seed_users


async def run_filter_latency(
    p: Propylon, server_url: str, sizes: list[int], n_requests: int
) -> dict[str, Any]:
    d = await p.new_directory("filter")
    base = scim_base(server_url, d["directory_id"])
    client = RawClient(base, d["token"])
    rng = random.Random(7)
    users: list[tuple[str, str]] = []
    out: dict[str, Any] = {"directory_users": {}, "requests_per_size": n_requests}
    for size in sizes:
        added, secs = await seed_users(
            p.infra, d["tenant_id"], d["directory_id"], len(users), size - len(users), "flt"
        )
        users += added
        log(f"filter_latency: seeded {len(added)} users in {secs:.1f} s (now {len(users)})")
        # warm-up
        for _uid, name in rng.sample(users, min(50, len(users))):
            await client.request("GET", f"/Users?filter={eq_filter('userName', name)}")
        ms, wrong = [], 0
        for _ in range(n_requests):
            uid, name = users[rng.randrange(len(users))]
            path = f"/Users?filter={eq_filter('userName', name)}"
            t0 = time.perf_counter()
            r = await client.request("GET", path)
            ms.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                wrong += 1
                continue
            body = r.json()
            if body.get("totalResults") != 1 or body["Resources"][0]["id"] != uid:
                wrong += 1
        label = f"{size // 1000}k"
        out[label] = {**lat_summary(ms), "wrong_results": wrong}
        log(f"filter_latency {label}: p50 {out[label]['p50_ms']} ms, p99 {out[label]['p99_ms']} ms")
    await client.close()
    return out
