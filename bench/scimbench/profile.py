"""Optional profile of the server during okta_500 (py-spy)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

from benchkit.pyspy import find_pyspy, parse_collapsed, start_record, stop_record

from scimbench.okta import run_okta_propylon
from scimbench.servers import Propylon


async def profile_okta(
    p: Propylon, server_url: str, proc: subprocess.Popen[bytes], out_dir: Path
) -> dict[str, Any]:
    exe = find_pyspy()
    if not exe:
        return {"skipped": "py-spy not installed (pip install py-spy)"}
    out_dir.mkdir(parents=True, exist_ok=True)
    rate = 250
    out = out_dir / "okta_collapsed.txt"
    spy = start_record(exe, proc.pid, out, rate)
    await asyncio.sleep(1.5)
    t0 = time.perf_counter()
    runs = await run_okta_propylon(p, server_url, proc.pid, 2)
    wall = time.perf_counter() - t0
    await asyncio.sleep(0.5)
    stop_record(spy)
    res: dict[str, Any] = {
        "tool": f"py-spy record --rate {rate} --format raw --nonblocking (on-CPU samples)",
        "okta_seconds_under_profiler": [r["seconds"] for r in runs],
        "file": str(out),
    }
    if out.exists():
        res["summary"] = parse_collapsed(out, busy_possible=rate * (wall + 2.0))
    else:
        res["error"] = (spy.stderr.read().decode() if spy.stderr else "")[-800:]
    return res
