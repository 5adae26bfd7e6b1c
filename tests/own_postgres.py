"""A PostgreSQL server of the test's own, on a free loopback port, in a temporary data
directory, that the test may stop (as a crash would) and start again; the shared server on
5432 is never touched. As root, the server runs as the ``postgres`` user (initdb refuses
root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port


def _as_owner(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class OwnPostgres:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        init = ["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"]
        subprocess.run(
            _as_owner([*init, "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        ctl = ["pg_ctl", "-D", str(self.data), "-o", options, "-w", "-t", "30"]
        subprocess.run(
            _as_owner([*ctl, "-l", str(self.root / "log"), "start"]),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        """Immediate shutdown: connections drop at once, as in a crash."""
        subprocess.run(
            _as_owner(["pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def answers(self) -> bool:
        done = subprocess.run(
            ["pg_isready", "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
        )
        return done.returncode == 0


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    root = Path(tempfile.mkdtemp(prefix="propylon-pg-"))
    pg = OwnPostgres(root)
    try:
        pg.init()
        pg.start()
        deadline = time.monotonic() + 15
        while not pg.answers() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
