"""``py-spy record`` on a server pid (on-CPU samples, collapsed stacks) and a summary of the
collapsed stacks: self and inclusive time per function and inclusive time per package."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from benchkit.infra import STARTED


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file-relative path)`` without the line."""
    func, _, loc = frame.partition(" (")
    loc = loc.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "src/"):
        if marker in loc:
            loc = loc.split(marker, 1)[1]
            break
    return f"{func} ({loc})"


# ``func (path/to/file.py:123)`` -> ``func (file-relative path)``, for other profilers' stacks
frame_name = _frame_name


def parse_collapsed(path: Path, busy_possible: float, top: int = 30) -> dict[str, Any]:
    """Summarize py-spy ``--format raw`` (collapsed stacks, on-CPU samples only):
    self time per function, inclusive time per function and per module."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    mod_incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n_s = line.rpartition(" ")
        if not stack or not n_s.isdigit():
            continue
        n = int(n_s)
        frames = [_frame_name(f) for f in stack.split(";") if "(" in f]
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
        mods = {f.split(" (", 1)[1].rstrip(")").split("/")[0] for f in frames}
        for m in mods:
            mod_incl[m] += n
    t = max(1, total)
    return {
        "cpu_samples": total,
        "server_busy_share_of_wall": round(total / busy_possible, 3) if busy_possible else None,
        "top_self": [
            {"frame": f, "share_of_cpu": round(c / t, 4)} for f, c in self_c.most_common(top)
        ],
        "top_inclusive": [
            {"frame": f, "share_of_cpu": round(c / t, 4)} for f, c in incl.most_common(top * 2)
        ],
        "inclusive_by_package": {m: round(c / t, 4) for m, c in mod_incl.most_common(25)},
    }


def find_pyspy() -> str | None:
    """The ``py-spy`` executable, or None when it is not installed."""
    return shutil.which("py-spy")


def start_record(exe: str, pid: int, out: Path, rate: int) -> subprocess.Popen[bytes]:
    """Start ``py-spy record`` (raw collapsed stacks, non-blocking) on ``pid``; the process is
    registered in ``STARTED`` so a failing run still stops it."""
    spy = subprocess.Popen(
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--format",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    STARTED.append(spy)
    return spy


def stop_record(spy: subprocess.Popen[bytes]) -> None:
    """SIGINT makes py-spy write its output; kill it if it does not exit within 60 s."""
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()
    STARTED.remove(spy)
