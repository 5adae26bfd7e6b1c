"""A redis-server of the test's own, on a free loopback port and without persistence, that
the test may stop and start again (the shared Redis on 6379 is never touched)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import free_port


class OwnRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        """Start on the same port (nothing kept from a previous run) and wait until it
        answers."""
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited")
            if self.answers():
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not answer in 15 s")

    def stop(self) -> None:
        """Kill it (by its pid, as a crash would) and wait until it is gone."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def own_redis() -> Iterator[OwnRedis]:
    """A started :class:`OwnRedis`, killed at the end."""
    redis = OwnRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
