"""Measurement helpers: progress log, free ports, percentiles, CPU accounting from /proc
(the machine may be shared: report what the server itself burns), a Python speed gauge and
the code version that was measured."""

from __future__ import annotations

import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def log(msg: str, *, name: str = "bench") -> None:
    """Progress on stderr as ``[name HH:MM:SS] msg``."""
    print(f"[{name} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    s = sorted(samples)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def lat_summary(ms: list[float]) -> dict[str, Any]:
    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 3) if ms else None,
        "p50_ms": round(pct(ms, 0.50), 3),
        "p90_ms": round(pct(ms, 0.90), 3),
        "p99_ms": round(pct(ms, 0.99), 3),
        "max_ms": round(max(ms), 3) if ms else None,
    }


# --------------------------------------------------------------------------------------------
# CPU accounting (the machine may be shared: report what the server itself burns)
# --------------------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


# (parent pid, user s, system s) of one process, or None if it is gone
proc_stat = _stat


def tree_cpu(root: int) -> tuple[float, float]:
    """(user, system) CPU seconds of ``root`` and its live descendants (uvicorn workers)."""
    parents: dict[int, int] = {}
    cpu: dict[int, tuple[float, float]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _stat(int(d.name))
            if st:
                parents[int(d.name)] = st[0]
                cpu[int(d.name)] = (st[1], st[2])
    user = system = 0.0
    for pid, (u, sy) in cpu.items():
        x = pid
        while x and x != root and x in parents:
            x = parents[x]
        if x == root:
            user += u
            system += sy
    return user, system


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies over all cores from /proc/stat."""
    try:
        vals = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return float(sum(vals) - idle), float(sum(vals))


class CpuMeter:
    """Server-tree CPU, this process's CPU and machine-wide busy share over an interval."""

    def __init__(self, server_pid: int | None) -> None:
        self.pid = server_pid

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.srv0 = tree_cpu(self.pid) if self.pid else (0.0, 0.0)
        self.me0 = time.process_time()
        self.sys0 = system_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        u, sy = tree_cpu(self.pid) if self.pid else (0.0, 0.0)
        self.server_user, self.server_sys = u - self.srv0[0], sy - self.srv0[1]
        self.server_cpu = self.server_user + self.server_sys
        self.client_cpu = time.process_time() - self.me0
        b1, t1 = system_cpu()
        db, dt = b1 - self.sys0[0], t1 - self.sys0[1]
        self.machine_busy = db / dt if dt else float("nan")

    def report(self, requests: int) -> dict[str, Any]:
        ncpu = os.cpu_count() or 1
        other = self.machine_busy * ncpu * self.wall - self.server_cpu - self.client_cpu
        return {
            "server_cpu_seconds": round(self.server_cpu, 3),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu / max(1, requests), 3),
            "server_cpu_share_of_one_core": round(self.server_cpu / self.wall, 3),
            "server_cpu_kernel_share": round(self.server_sys / self.server_cpu, 3)
            if self.server_cpu
            else None,
            "client_cpu_seconds": round(self.client_cpu, 3),
            "client_cpu_ms_per_request": round(1000 * self.client_cpu / max(1, requests), 3),
            "machine_busy_share_all_cores": round(self.machine_busy, 3),
            "other_cpu_seconds_postgres_redis_and_foreign": round(other, 3),
        }


def code_version() -> dict[str, Any]:
    """Which Propylon was measured: git HEAD and the uncommitted files under src/."""
    root = Path(__file__).resolve().parents[2]  # bench/benchkit/measure.py -> repo root

    def git(*a: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(root), *a], capture_output=True, text=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [ln[3:] for ln in git("status", "--porcelain", "--", "src").splitlines()]
    return {"git_head": git("rev-parse", "--short", "HEAD").strip(), "src_uncommitted": dirty}


def python_speed() -> float:
    """Seconds for a fixed pure-Python loop: a speed gauge of this (possibly shared) machine."""
    t0 = time.perf_counter()
    acc = 0
    for i in range(3_000_000):
        acc += i * i
    return round(time.perf_counter() - t0, 3)


def machine_at_start() -> dict[str, Any]:
    """What a result says of the machine: cores, Python, load and speed gauge at start."""
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "python_loop_3M_seconds_at_start": python_speed(),
    }
