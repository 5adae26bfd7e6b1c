"""``--profile``: py-spy (and ``perf``, if installed) on the server's processes during a
further measured run, the samples where a worker only waits for a core dropped, the rest
summarized per endpoint, package and frame."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from benchkit.pyspy import frame_name

from loginbench.flow import Bench, log


def worker_pids(parent: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return kids or [parent]


def _package(frame: str) -> str:
    loc = frame.split(" (", 1)[1]
    if loc.startswith("<sqlalchemy"):
        return "sqlalchemy"
    if loc.startswith("asyncio/runners.py"):
        # the loop's own frame as leaf: C code called from the loop, with no Python frame
        return "event loop in C (uvloop, httptools, asyncpg protocol, sockets)"
    return loc.split("/", 1)[0] if "/" in loc else "stdlib (single-file modules)"


# py-spy counts a worker as busy whenever its thread is runnable. On a machine with more
# runnable processes than cores a worker that has just written to a socket is often
# preempted by the process it woke (PostgreSQL, Redis, the client) and then waits for a core
# with its stack still at that write: such samples are not the server's CPU. These leaves
# are those hand-off points (`perf` puts asyncpg's own C code at ~2% of the workers' CPU).
HANDOFF_LEAVES = (
    " (asyncpg/",  # awaiting PostgreSQL right after sending the query
    "StreamWriter.writelines (asyncio/streams.py)",  # redis-py sending a command
    "RequestResponseCycle.send (uvicorn/",  # the response written to the client
    "Connection._recv (multiprocessing/",  # uvicorn's worker-to-supervisor pipe
)
ENDPOINT_CALLER = "run_endpoint_function (fastapi/routing.py)"


def _bucket(frames: list[str]) -> str:
    """Where one on-CPU sample went: the endpoint fastapi called, else what kind of work.

    SQLAlchemy's async layer runs ORM/Core code in a greenlet whose stack py-spy sees without
    the coroutine that awaits it, so that work is its own bucket (it belongs to endpoints)."""
    if ENDPOINT_CALLER in frames[:-1]:
        return frames[frames.index(ENDPOINT_CALLER) + 1]
    if _package(frames[-1]).startswith("event loop"):
        return "(event loop in C: uvloop, httptools, asyncpg protocol, sockets)"
    if _package(frames[0]) == "sqlalchemy":
        return "(SQLAlchemy in a greenlet: ORM/Core work of some endpoint)"
    if frames[0].startswith("<module> ("):
        return "(HTTP, routing, middleware, request body, response send)"
    return "(other: coroutines resumed without their caller, threads)"


def _perf_by_dso(path: Path) -> dict[str, float]:
    """``perf report --sort dso``: share of on-CPU samples per binary (kernel included)."""
    out = subprocess.run(
        ["perf", "report", "-i", str(path), "--sort", "dso", "--stdio", "-q"],
        capture_output=True,
        text=True,
    ).stdout
    shares: dict[str, float] = {}
    for line in out.splitlines():
        share, _, dso = line.strip().partition("%")
        with contextlib.suppress(ValueError):
            if float(share) >= 0.3:
                shares[dso.strip()] = float(share)
    return shares


def profile(pids: list[int], seconds: int, out_dir: Path) -> dict[str, Any]:
    """py-spy each server process (raw collapsed stacks) and, if available, ``perf`` them
    all (true on-CPU samples, per binary). Shares are percent of the py-spy samples left after
    dropping the hand-off samples (see HANDOFF_LEAVES): per endpoint (the frame fastapi calls;
    the rest is HTTP, routing, middleware and the loop), per package of the innermost frame,
    the hottest self frames and Propylon's hottest inclusive frames."""
    rate = 200
    spies = []
    for pid in pids:
        out = out_dir / f"pyspy-{pid}.txt"
        cmd = ["py-spy", "record", "--pid", str(pid), "--duration", str(seconds)]
        cmd += ["--rate", str(rate), "--format", "raw", "--output", str(out), "--nonblocking"]
        spies.append(
            (out, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        )
    perf_data = out_dir / "perf.data"
    perf = None
    if shutil.which("perf"):
        cmd = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "499", "-o", str(perf_data)]
        cmd += ["-p", ",".join(map(str, pids)), "--", "sleep", str(seconds)]
        perf = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    pkg: Counter[str] = Counter()
    endpoint: Counter[str] = Counter()
    handoff: Counter[str] = Counter()
    for out, p in spies:
        try:
            p.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if not out.exists():
            continue
        for line in out.read_text().splitlines():
            stack, _, n_s = line.rpartition(" ")
            if not n_s.isdigit():
                continue
            frames = [frame_name(f) for f in stack.split(";") if "(" in f]
            if not frames:
                continue
            n = int(n_s)
            if any(h in frames[-1] for h in HANDOFF_LEAVES):
                handoff[frames[-1]] += n
                continue
            self_c[frames[-1]] += n
            pkg[_package(frames[-1])] += n
            endpoint[_bucket(frames)] += n
            for f in set(frames):
                incl[f] += n
    on_cpu = sum(self_c.values())
    total = on_cpu + sum(handoff.values())

    def shares(c: Counter[str], top: int, of: int = on_cpu) -> dict[str, float]:
        return {k: round(100 * v / max(1, of), 1) for k, v in c.most_common(top)}

    result: dict[str, Any] = {
        "tool": f"py-spy record --rate {rate} --format raw --nonblocking, per server process",
        "samples_total": total,
        "samples_handoff_dropped": total - on_cpu,
        "on_cpu_cores_estimate": round(on_cpu / rate / seconds, 2),
        "handoff_leaves_pct_of_all_samples": shares(handoff, 6, total),
        "by_endpoint_pct": shares(endpoint, 12),
        "by_package_self_pct": shares(pkg, 15),
        "top_self_pct": shares(self_c, 25),
        "top_inclusive_propylon_pct": shares(
            Counter({k: v for k, v in incl.items() if "(propylon" in k}), 40
        ),
    }
    if perf is not None:
        try:
            perf.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            perf.kill()
            perf.wait()
        if perf_data.exists():
            result["perf_on_cpu_by_binary_pct"] = _perf_by_dso(perf_data)
    return result


async def profile_run(bench: Bench, args: argparse.Namespace) -> dict[str, Any]:
    """A further measured run with the server's processes profiled for its middle seconds."""
    assert bench.proc is not None
    pids = worker_pids(bench.proc.pid)
    log(f"profiling server processes {pids}")
    seconds = 5 if args.quick else 10
    task = asyncio.create_task(bench.measure(seconds + 2, args.clients))
    await asyncio.sleep(1)
    out_dir = Path(tempfile.mkdtemp(prefix="saml-logins-profile-"))
    prof = await asyncio.to_thread(profile, pids, seconds, out_dir)
    prof["raw_stacks_dir"] = str(out_dir)
    under = await task
    prof["logins_per_s_under_profiler"] = under["logins_per_s"]
    prof["errors_under_profiler"] = under["errors"]
    prof["server_cores_used_measured"] = under["cpu"]["server_cores_used"]
    ms = under["cpu"]["server_cpu_ms_per_login"]
    prof["server_cpu_ms_per_login_under_profiler"] = ms
    prof["by_endpoint_ms_per_login"] = {
        k: round(v / 100 * ms, 2) for k, v in prof["by_endpoint_pct"].items()
    }
    return prof
