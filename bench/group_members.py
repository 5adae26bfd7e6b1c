"""Benchmark: adding and removing 2,000 and 20,000 members of one SCIM group over HTTP, on
PostgreSQL + Redis and on the embedded SQLite, with ``/healthz`` polled meanwhile.

Prints ONE JSON document on stdout (progress goes to stderr). Run::

    python3 bench/group_members.py                      # both backends, 3 rounds (minutes)
    python3 bench/group_members.py --quick              # 1 round
    python3 bench/group_members.py --backends postgres  # PostgreSQL + Redis only

Per backend: a fresh tenant and directory with 20,000 users written beforehand (not timed;
PostgreSQL COPY, SQLite batched INSERTs, rows built as the service builds them), then per round
and per size a new group and three timed ``PATCH /Groups/{id}`` requests, each checked against
the stored membership afterwards:

- ``add``: one ``add`` on ``members`` with every member (Okta's and Entra ID's push);
- ``remove_all_and_readd``: ``remove`` on ``members`` without a value, then ``add`` of all of
  them, in one request (membership unchanged: a full resync);
- ``remove``: one ``remove`` on ``members`` with every member as its value (Entra ID's).

Meanwhile a second connection polls ``GET /healthz`` (every 2 ms); its worst latency shows
whether the edit stalled the server's event loop. Targets: the 20k/2k time ratio at most 12
(linear) and the worst ``/healthz`` under 100 ms.

``propylon serve`` (1 worker) runs as a subprocess on a loopback port with its own PostgreSQL
database and Redis key prefix, or its own data directory for SQLite; all are removed at the
end and every process is stopped by its pid. Parts reused from ``benchkit/`` and
``scimbench/`` (servers, seeding, bodies).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from typing import Any

from benchkit.http import RawClient
from benchkit.infra import Infra, drop_infra, make_infra, run_main, stop
from benchkit.measure import code_version, log, python_speed
from scimbench.members import run_sizes
from scimbench.servers import Propylon, insert_users, scim_base, seed_users, start_propylon

SIZES = [2000, 20000]
TARGETS = {"ratio_20k_over_2k_max": 12.0, "healthz_max_ms": 100.0}


def sqlite_infra() -> Infra:
    """The embedded mode: a fresh data directory, no database URL, no Redis."""
    data_dir = tempfile.mkdtemp(prefix="propylon-bench-sqlite-")
    env = {"PROPYLON_DATA_DIR": data_dir, "PROPYLON_LOG_LEVEL": "warning"}
    return Infra("", "", data_dir, env)


async def run_backend(backend: str, repeats: int) -> dict[str, Any]:
    infra = make_infra() if backend == "postgres" else sqlite_infra()
    p = Propylon(infra)
    try:
        await p.migrate()
        d = await p.new_directory(f"members-{backend}")
        where = (d["tenant_id"], d["directory_id"], 0, max(SIZES), "gm")
        if backend == "postgres":
            users, secs = await seed_users(infra, *where)
        else:
            users, secs = await insert_users(p, *where)
        log(f"{backend}: {len(users)} users written in {secs:.1f} s")
        url, proc = start_propylon(infra, 1)
        client = RawClient(scim_base(url, d["directory_id"]), d["token"])
        try:
            return await run_sizes(url, proc.pid, client, users, SIZES, repeats)
        finally:
            await client.close()
            stop(proc)
    finally:
        await p.close()
        if backend == "postgres":
            drop_infra(infra)
        else:
            shutil.rmtree(infra.data_dir, ignore_errors=True)


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    repeats = 1 if args.quick else args.repeats
    result: dict[str, Any] = {
        "benchmark": "propylon group_members",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "python_loop_3M_seconds_at_start": python_speed(),
        },
        "config": {
            "server": "propylon serve, 1 worker, loopback",
            "sizes": SIZES,
            "rounds": repeats,
            "healthz_poll_gap_ms": 2,
        },
        "targets": TARGETS,
        "code": code_version(),
    }
    met: dict[str, bool] = {}
    for backend in args.backends.split(","):
        figures = await run_backend(backend, repeats)
        result[backend] = figures
        for op in ("add", "remove"):
            met[f"{backend}_{op}_ratio_at_most_12"] = (
                figures[op]["ratio_big_over_small"] <= TARGETS["ratio_20k_over_2k_max"]
            )
        met[f"{backend}_healthz_under_100_ms"] = all(
            f["healthz_max_ms"] < TARGETS["healthz_max_ms"] for f in figures.values()
        )
    result["targets_met"] = met
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round instead of --repeats")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per size (default 3)")
    parser.add_argument(
        "--backends",
        default="postgres,sqlite",
        help="comma-separated: postgres (with Redis), sqlite (default: both)",
    )
    run_main(amain, parser.parse_args())


if __name__ == "__main__":
    main()
