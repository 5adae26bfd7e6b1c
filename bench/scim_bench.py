"""Benchmark: Propylon's SCIM 2.0 service provider on PostgreSQL + Redis, over HTTP on loopback.

Prints ONE JSON document on stdout (progress goes to stderr). Run::

    python3 bench/scim_bench.py            # full run (a few minutes)
    python3 bench/scim_bench.py --quick    # smoke run (smaller sizes, shorter durations)
    python3 bench/scim_bench.py --profile /tmp/prof   # also py-spy the server during okta_500

What it measures (see bench/README.md):

(a) ``okta_500``: a 500-user organisation provisioned the way Okta does it, sequentially from
    one keep-alive client: per user ``GET /Users?filter=userName eq "…"&startIndex=1&count=100``
    then ``POST /Users``; then per group (10) ``GET /Groups?filter=displayName eq "…"``,
    ``POST /Groups`` and one ``PATCH`` adding 50 members: 1,030 requests. The same sequence
    runs against ``scim2-server`` (PyPI, in-memory; served by its own ``scim2-server`` command,
    as its README shows) and the ratio propylon/peer is reported; and against the chosen
    stack's floor (``scimbench/stack_floor.py``: one SQL statement per request and nothing
    else, on SQLAlchemy and on asyncpg directly), interleaved round by round.
(b) ``filter_latency``: ``GET /Users?filter=userName eq "<random existing user>"`` latency with
    1k, 10k and 100k users in one directory (rows seeded with PostgreSQL COPY, built with the
    service's own ``canonicalize`` + ``user_draft`` so columns follow its conventions).
(c) ``mixed``: 16 concurrent keep-alive clients for 30 s of mixed SCIM traffic, then a check
    that no user that got a 201 is lost and no userName exists twice.

The HTTP client is a minimal asyncio HTTP/1.1 client (keep-alive, Content-Length/chunked/EOF
bodies) so the client costs little; its CPU time is reported, and (a) is also run once with
httpx to show what a heavier client adds.
Only loopback; every process started here is stopped by its pid; the PostgreSQL database and
the Redis keys created here are removed at the end.

The parts live next to this script: ``benchkit/`` (shared by every benchmark: measurement,
HTTP client, infrastructure, py-spy) and ``scimbench/`` (the SCIM bodies, servers and phases).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchkit.infra import drop_infra, make_infra, psql, run_main, stop
from benchkit.measure import code_version, log, python_speed
from scimbench.filter_latency import run_filter_latency
from scimbench.floors import http_floor, infra_floor
from scimbench.mixed import MIX, run_mixed
from scimbench.okta import run_okta_interleaved, run_okta_propylon, summarize_runs
from scimbench.profile import profile_okta
from scimbench.servers import CODE_AT_START, Propylon, start_propylon

TARGETS = {
    "okta_500_propylon_seconds_max": 2.5,
    "okta_500_ratio_propylon_over_peer_max": 0.5,
    "filter_p99_100k_ms_max": 10.0,
    "filter_p99_100k_over_1k_max": 1.5,
    "mixed_req_per_s_min": 500,
    "mixed_5xx_max": 0,
    "mixed_lost_or_duplicated_max": 0,
}


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    repeats = 1 if quick else 3
    sizes = [1000, 10000] if quick else [1000, 10000, 100000]
    filter_n = 100 if quick else 500
    mixed_seconds = 5.0 if quick else 30.0
    mixed_seed = 1000 if quick else 10000
    worker_counts = [1] if (quick or args.workers == 1) else [1, 2]

    result: dict[str, Any] = {
        "benchmark": "propylon scim_bench",
        "mode": "quick" if quick else "full",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgres": psql("SHOW server_version").strip(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "python_loop_3M_seconds_at_start": python_speed(),
            "note": "machine_busy_share_all_cores and other_cpu_seconds_* in each phase show "
            "whether other work shared the machine; server_cpu_ms_per_request is robust to it",
        },
        "config": {
            "server": "propylon serve (uvicorn) on PostgreSQL + Redis, loopback",
            "client": "minimal asyncio HTTP/1.1 keep-alive client in this process (see code)",
            "scim_rate_limit_per_minute": "default (60000)",
            "okta_repeats": repeats,
            "filter_sizes": sizes,
            "filter_requests_per_size": filter_n,
            "mixed_seconds": mixed_seconds,
            "mixed_clients": 16,
            "mixed_seeded_users": mixed_seed,
            "mixed_weights_percent": dict(MIX),
            "peer": "scim2-server "
            + subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import importlib.metadata as m;print(m.version('scim2-server'))",
                ],
                capture_output=True,
                text=True,
            ).stdout.strip()
            + " via its `scim2-server` command (wsgiref ThreadingWSGIServer, in-memory)",
        },
        "targets": TARGETS,
        "code": code_version(),
    }
    infra = make_infra()
    log(f"database {infra.db}, redis prefix {infra.redis_prefix}")
    p = Propylon(infra)
    try:
        await p.migrate()
        okta: dict[str, Any] = {}
        mixed: dict[str, Any] = {}
        gauge: dict[str, float] = {}  # the speed gauge before each phase (see README)
        result["machine"]["python_loop_3M_seconds_before_phase"] = gauge
        for w in worker_counts:
            url, proc = start_propylon(infra, w)
            log(f"propylon serving at {url} with {w} worker(s), pid {proc.pid}")
            try:
                if w == 1:
                    result["floors"] = {
                        **await infra_floor(infra, 300 if quick else 1000),
                        "http_get_healthz_sequential": await http_floor(url, proc.pid, 1030),
                    }
                gauge[f"okta_workers{w}"] = python_speed()
                if w == 1:
                    # interleaved, so the machine's drift falls on every row alike
                    rows = await run_okta_interleaved(p, url, proc.pid, infra.pg_dsn, repeats)
                    for key, runs in rows.items():
                        okta[key] = summarize_runs(runs)
                else:
                    runs = await run_okta_propylon(p, url, proc.pid, repeats)
                    okta[f"propylon_workers{w}"] = summarize_runs(runs)
                if w == 1:
                    hx = await run_okta_propylon(p, url, proc.pid, 1, client_kind="httpx")
                    okta["propylon_workers1_httpx_client"] = {
                        "seconds": hx[0]["seconds"],
                        "client_cpu_seconds": hx[0]["client_cpu_seconds"],
                        "client_cpu_share": hx[0]["client_cpu_share"],
                        "client_cpu_ms_per_request": hx[0]["client_cpu_ms_per_request"],
                        "server_cpu_ms_per_request": hx[0]["server_cpu_ms_per_request"],
                        "errors": len(hx[0]["errors"]),
                    }
                    gauge["filter_latency"] = python_speed()
                    result["filter_latency"] = await run_filter_latency(p, url, sizes, filter_n)
                    if args.profile:
                        try:
                            result["profile_okta_workers1"] = await profile_okta(
                                p, url, proc, Path(args.profile)
                            )
                        except Exception as exc:  # the profile is optional
                            result["profile_okta_workers1"] = {"error": repr(exc)}
                gauge[f"mixed_workers{w}"] = python_speed()
                mixed[f"workers{w}"] = await run_mixed(
                    p, url, proc.pid, mixed_seed, 16, mixed_seconds, f"w{w}"
                )
            finally:
                stop(proc)
        prop = okta["propylon_workers1"]["seconds_median"]
        peer = okta["peer_scim2_server"]["seconds_median"]
        okta["ratio_propylon_over_peer"] = round(prop / peer, 3)
        okta["ratio_stack_floor_over_peer"] = round(
            okta["stack_floor_sqlalchemy"]["seconds_median"] / peer, 3
        )
        okta["ratio_stack_floor_asyncpg_over_peer"] = round(
            okta["stack_floor_asyncpg"]["seconds_median"] / peer, 3
        )
        okta["raw_client_vs_httpx_note"] = (
            "client_cpu_share is the bench process's CPU time / wall time; the httpx row is the "
            "same sequence with httpx.AsyncClient, to show what a heavier client adds."
        )
        result["okta_500"] = okta
        result["mixed"] = mixed
    finally:
        await p.close()
        drop_infra(infra)

    flt = result["filter_latency"]
    big = flt.get("100k") or flt.get(f"{sizes[-1] // 1000}k")
    m1 = result["mixed"]["workers1"]
    best_mixed = max(result["mixed"].values(), key=lambda m: m["req_per_s"])
    ver_bad = sum(
        m["verification"]["lost"]
        + m["verification"]["mismatched_or_filter_not_exactly_one"]
        + m["verification"]["username_201_twice"]
        + m["verification"]["db_duplicate_usernames"]
        + abs(m["verification"]["db_live_users"] - m["verification"]["db_live_users_expected"])
        for m in result["mixed"].values()
    )
    result["targets_met"] = {
        "okta_500_propylon_under_2_5_s": prop < TARGETS["okta_500_propylon_seconds_max"],
        "okta_500_at_most_half_of_peer": okta["ratio_propylon_over_peer"]
        <= TARGETS["okta_500_ratio_propylon_over_peer_max"],
        "filter_p99_100k_under_10_ms": ("100k" in flt)
        and big["p99_ms"] < TARGETS["filter_p99_100k_ms_max"],
        "filter_p99_100k_at_most_1_5x_1k": ("100k" in flt)
        and big["p99_ms"] <= TARGETS["filter_p99_100k_over_1k_max"] * flt["1k"]["p99_ms"],
        "mixed_at_least_500_req_s_workers1": m1["req_per_s"] >= TARGETS["mixed_req_per_s_min"],
        "mixed_at_least_500_req_s_best_workers": best_mixed["req_per_s"]
        >= TARGETS["mixed_req_per_s_min"],
        "mixed_zero_5xx": all(
            m["status_5xx"] == 0 and m["transport_errors"] == 0 for m in result["mixed"].values()
        ),
        "mixed_zero_lost_or_duplicated": ver_bad == 0,
    }
    result["headline"] = {
        "okta_500_propylon_seconds_median": prop,
        "okta_500_peer_seconds_median": peer,
        "okta_500_ratio": okta["ratio_propylon_over_peer"],
        "okta_500_stack_floor_ratio": okta["ratio_stack_floor_over_peer"],
        "filter_p99_ms": {k: v["p99_ms"] for k, v in flt.items() if k.endswith("k")},
        "mixed_req_per_s": {k: v["req_per_s"] for k, v in result["mixed"].items()},
        "mixed_p99_ms": {k: v["latency_all"]["p99_ms"] for k, v in result["mixed"].items()},
        "mixed_5xx": {k: v["status_5xx"] for k, v in result["mixed"].items()},
    }
    result["code"]["at_each_server_start"] = CODE_AT_START
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["machine"]["python_loop_3M_seconds_at_end"] = python_speed()
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short durations")
    parser.add_argument(
        "--workers",
        type=int,
        choices=(1, 2),
        default=2,
        help="also run (a) and (c) with 2 server workers (default: yes)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy the server (1 worker) during two extra okta_500 runs",
    )
    run_main(amain, parser.parse_args())


if __name__ == "__main__":
    main()
