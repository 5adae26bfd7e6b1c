"""CPU accounting from /proc over one measured interval (the machine may be shared: report
what each party burns): the server's process tree per process, this process, the PostgreSQL
backends of the benchmark's database and its ``pg_stat_database`` counters, the machine-wide
busy share; and the latency summaries."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

from benchkit.infra import psql
from benchkit.measure import pct, proc_stat, system_cpu

# pg_stat_database counters reported per login
PG_COUNTERS = (
    "sessions", "xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_inserted",
    "tup_updated", "tup_deleted",
)  # fmt: skip


def summary(xs: list[float], ndigits: int = 2) -> dict[str, float]:
    """p50, p99 (nearest rank, :func:`benchkit.measure.pct`) and mean; zeros when empty."""
    if not xs:
        return {"p50": 0.0, "p99": 0.0, "mean": 0.0}
    return {
        "p50": round(pct(xs, 0.50), ndigits),
        "p99": round(pct(xs, 0.99), ndigits),
        "mean": round(statistics.fmean(xs), ndigits),
    }


def tree_cpu(root: int) -> dict[int, tuple[float, float]]:
    """pid -> (user, system) CPU seconds of ``root`` and its live descendants (the uvicorn
    supervisor, its workers and their helpers)."""
    stats = {
        int(d.name): proc_stat(int(d.name)) for d in Path("/proc").iterdir() if d.name.isdigit()
    }
    parents = {pid: st[0] for pid, st in stats.items() if st}
    out: dict[int, tuple[float, float]] = {}
    for pid, st in stats.items():
        x = pid
        while x and x != root and x in parents:
            x = parents[x]
        if st and x == root:
            out[pid] = (st[1], st[2])
    return out


def pids_cpu(pids: list[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for pid in pids:
        st = proc_stat(pid)
        if st:
            out[pid] = st[1] + st[2]
    return out


class CpuMeter:
    """Server-tree CPU, this process's CPU, the PostgreSQL backends serving the benchmark's
    database (``db`` None: an embedded SQLite server, no backends), and the machine-wide busy
    share, summed over one or more intervals (each ``start`` .. ``stop``)."""

    def __init__(self, server_pid: int, db: str | None, admin_dsn: str) -> None:
        self.server_pid, self.db, self.admin_dsn = server_pid, db, admin_dsn
        self.wall = self.me = self.srv_user = self.srv_sys = self.pg = 0.0
        self.busy_s = self.total_s = 0.0
        self.per_proc: dict[int, float] = {}
        self.pgc: dict[str, int] = dict.fromkeys(PG_COUNTERS, 0)
        self.load0: float | None = None

    def _sql(self, sql: str) -> str:
        # psql's -d takes the connection URI, whose host, port and user override the defaults
        return psql(sql, db=self.admin_dsn)

    def _pg_pids(self) -> list[int]:
        if self.db is None:
            return []
        out = self._sql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.db}'")
        return [int(p) for p in out.split()]

    def _pg_counters(self) -> dict[str, int]:
        """The database's cumulative counters (flushed by each backend at most once a second,
        so a per-login figure over a 20 s run is close, not exact)."""
        if self.db is None:
            return dict.fromkeys(PG_COUNTERS, 0)
        cols = PG_COUNTERS
        out = self._sql(
            f"SELECT {', '.join(cols)} FROM pg_stat_database WHERE datname = '{self.db}'"
        )
        return dict(zip(cols, (int(v) for v in out.strip().split("|")), strict=True))

    def start(self) -> None:
        self.pgc0 = self._pg_counters()
        self.pg0 = pids_cpu(self._pg_pids())
        self.srv0 = tree_cpu(self.server_pid)
        self.sys0 = system_cpu()
        self.me0 = time.process_time()
        if self.load0 is None:
            self.load0 = os.getloadavg()[0]
        self.t0 = time.perf_counter()

    def stop(self) -> None:
        self.wall += time.perf_counter() - self.t0
        self.me += time.process_time() - self.me0
        b1, t1 = system_cpu()
        srv1 = tree_cpu(self.server_pid)
        delta = {
            pid: (u - self.srv0.get(pid, (0.0, 0.0))[0], s - self.srv0.get(pid, (0.0, 0.0))[1])
            for pid, (u, s) in srv1.items()
        }
        self.srv_user += sum(u for u, _ in delta.values())
        self.srv_sys += sum(s for _, s in delta.values())
        # how evenly the workers shared the load (keep-alive connections stay on one worker)
        for pid, (u, s) in delta.items():
            self.per_proc[pid] = self.per_proc.get(pid, 0.0) + u + s
        pg1 = pids_cpu(self._pg_pids())
        for k, v in self._pg_counters().items():
            self.pgc[k] += v - self.pgc0[k]
        # a backend first seen at the end was opened during the interval
        self.pg += sum(c - self.pg0.get(pid, 0.0) for pid, c in pg1.items())
        self.busy_s += b1 - self.sys0[0]
        self.total_s += t1 - self.sys0[1]
        self.load1 = os.getloadavg()[0]

    def report(self, logins: int, idp_cpu_s: float) -> dict[str, Any]:
        n = max(1, logins)
        ncpu = os.cpu_count() or 1
        server = self.srv_user + self.srv_sys
        self.busy = self.busy_s / self.total_s if self.total_s else 0.0
        self.per_process = sorted((round(v, 2) for v in self.per_proc.values()), reverse=True)
        machine = self.busy * ncpu * self.wall
        return {
            "server_cpu_ms_per_login": round(1000 * server / n, 2),
            "server_cpu_user_ms_per_login": round(1000 * self.srv_user / n, 2),
            "server_cpu_sys_ms_per_login": round(1000 * self.srv_sys / n, 2),
            "server_cpu_kernel_share": round(self.srv_sys / server, 3) if server else None,
            "server_cores_used": round(server / self.wall, 2),
            "server_cpu_s_per_process": self.per_process,
            "postgres_backends_cpu_ms_per_login": round(1000 * self.pg / n, 2),
            "postgres_backends_cores_used": round(self.pg / self.wall, 2),
            "postgres_per_login": {k: round(v / n, 2) for k, v in self.pgc.items()},
            "client_cpu_ms_per_login": round(1000 * self.me / n, 2),
            "client_idp_cpu_ms_per_login": round(1000 * idp_cpu_s / n, 3),
            "client_cores_used": round(self.me / self.wall, 2),
            "machine_busy_share_all_cores": round(self.busy, 3),
            "server_share_of_machine": round(server / (ncpu * self.wall), 3),
            "other_cpu_cores_redis_and_foreign": round(
                (machine - server - self.me - self.pg) / self.wall, 2
            ),
            "loadavg_1m_start_end": [round(self.load0 or 0.0, 2), round(self.load1, 2)],
        }
