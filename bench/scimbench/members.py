"""Large group membership edits, timed, with ``/healthz`` polled meanwhile: an edit must take
time in proportion to its members and must not stall other requests of the same process."""

from __future__ import annotations

import asyncio
import statistics
import time
import urllib.parse
from typing import Any

from benchkit.http import Connection, RawClient, Resp
from benchkit.measure import CpuMeter, log

from scimbench.bodies import PATCH_OP, okta_group

POLL_GAP_S = 0.002  # between two /healthz requests of the poller
MAX_POLLS = 100_000  # bound of the poller's loop (an edit would need minutes to reach it)


async def _poll_healthz(url: str, done: asyncio.Event, ms: list[float]) -> None:
    """``GET /healthz`` back to back on its own connection until ``done``."""
    u = urllib.parse.urlsplit(url)
    conn = Connection(u.hostname or "127.0.0.1", u.port or 80)
    try:
        for _ in range(MAX_POLLS):
            if done.is_set():
                return
            t = time.perf_counter()
            r = await conn.request("GET", "/healthz")
            ms.append((time.perf_counter() - t) * 1000)
            if r.status != 200:
                raise AssertionError(f"/healthz answered {r.status}")
            await asyncio.sleep(POLL_GAP_S)
    finally:
        await conn.close()


async def _timed(
    url: str, pid: int, client: RawClient, method: str, path: str, body: Any
) -> tuple[Resp, dict[str, Any]]:
    """One request, timed, while a poller measures ``/healthz`` latency."""
    done, ms = asyncio.Event(), []
    poller = asyncio.create_task(_poll_healthz(url, done, ms))
    await asyncio.sleep(0.05)  # the poller is connected and polling
    with CpuMeter(pid) as meter:
        t0 = time.perf_counter()
        r = await client.request(method, path, body)
        secs = time.perf_counter() - t0
    done.set()
    await poller
    return r, {
        "seconds": secs,
        "server_cpu_seconds": meter.server_cpu,
        "healthz_max_ms": max(ms),
        "healthz_polls": len(ms),
    }


def _members_op(op: str, ids: list[str]) -> dict[str, Any]:
    """``add`` or ``remove`` on ``members`` with the ids as values, as Entra ID sends them
    (RFC 7644 §3.5.2.1, §3.5.2.2; ``value`` only, so 20,000 fit the default 1 MiB body)."""
    value = [{"value": i} for i in ids]
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": "members", "value": value}]}


def _readd_op(ids: list[str]) -> dict[str, Any]:
    """Remove every member and add them all again in one PATCH (a full resync)."""
    ops = [{"op": "remove", "path": "members"}, *_members_op("add", ids)["Operations"]]
    return {"schemas": [PATCH_OP], "Operations": ops}


async def _member_count(client: RawClient, gid: str) -> int:
    r = await client.request("GET", f"/Groups/{gid}")
    assert r.status == 200, r.body[:300]
    return len(r.json().get("members", []))


async def one_round(
    url: str, pid: int, client: RawClient, members: list[tuple[str, str]], tag: str
) -> dict[str, dict[str, Any]]:
    """A new group; PATCH add ``members``; PATCH remove all and re-add them; PATCH remove
    them by value. Each checked against the stored membership."""
    n, ids = len(members), [m[0] for m in members]
    r = await client.request("POST", "/Groups", okta_group(tag))
    assert r.status == 201, r.body[:300]
    gid = r.json()["id"]
    out: dict[str, dict[str, Any]] = {}
    steps = [
        ("add", _members_op("add", ids), n),
        ("remove_all_and_readd", _readd_op(ids), n),
        ("remove", _members_op("remove", ids), 0),
    ]
    for name, body, expect in steps:
        r, out[name] = await _timed(url, pid, client, "PATCH", f"/Groups/{gid}", body)
        assert r.status == 200, f"{name}: {r.status} {r.body[:300]!r}"
        got = await _member_count(client, gid)
        assert got == expect, f"{name}: {got} members, expected {expect}"
    return out


async def run_sizes(
    url: str,
    pid: int,
    client: RawClient,
    users: list[tuple[str, str]],
    sizes: list[int],
    repeats: int,
) -> dict[str, Any]:
    """Every operation for every size, ``repeats`` rounds each; medians, worst ``/healthz``
    and the ratio of the largest size to the smallest."""
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for rnd in range(repeats):
        for n in sizes:
            log(f"round {rnd + 1}/{repeats}: {n} members")
            got = await one_round(url, pid, client, users[:n], f"bench-{n}-{rnd}")
            for op, m in got.items():
                rows.setdefault(op, {}).setdefault(str(n), []).append(m)
    out: dict[str, Any] = {}
    for op, per_size in rows.items():
        figures: dict[str, Any] = {}
        for n, runs in per_size.items():
            figures[n] = {
                "seconds_median": round(statistics.median(r["seconds"] for r in runs), 4),
                "seconds_all": [round(r["seconds"], 4) for r in runs],
                "server_cpu_seconds_median": round(
                    statistics.median(r["server_cpu_seconds"] for r in runs), 3
                ),
                "healthz_max_ms": round(max(r["healthz_max_ms"] for r in runs), 2),
                "healthz_polls": sum(r["healthz_polls"] for r in runs),
            }
        small, big = str(min(sizes)), str(max(sizes))
        figures["ratio_big_over_small"] = round(
            figures[big]["seconds_median"] / figures[small]["seconds_median"], 2
        )
        figures["healthz_max_ms"] = max(figures[str(n)]["healthz_max_ms"] for n in sizes)
        out[op] = figures
    return out
